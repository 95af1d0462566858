import { strict as assert } from "assert";
import { copySource, parseKeelConfig, RawConfig, receivesCopies } from "../../components/config";
import { ENCRYPTED_VALUE } from "../../components/config/context";
import { ConfigError } from "../../components/errors";

const URL = "postgres://app:pw@db.internal:5432/app";
const KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const STACKS = ["dev", "staging", "prod"];

function raw(stack: string, values: Record<string, string>, secret: string[] = ["keel:databaseUrl", "keel:maskingKey"]): RawConfig {
    return { stack, values: { "keel:databaseUrl": URL, ...values }, secretKeys: new Set(secret), env: {}, knownStacks: STACKS };
}

function problems(fn: () => unknown): string[] {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return err.problems.map((p) => `${p.key} | ${p.message} | ${p.fix}`);
    }
    assert.fail("expected a ConfigError");
}

const NEON = (branch: Record<string, unknown>) =>
    JSON.stringify({ kind: "neon", neon: { project: { name: "keel-app", ownedBy: "prod" }, branch } });

describe("config: keel:copyFrom and keel:maskingKey", () => {
    it("takes the stack copied from and the secret key", () => {
        const c = parseKeelConfig(raw("staging", { "keel:copyFrom": "prod", "keel:maskingKey": KEY }));
        assert.equal(c.copyFrom, "prod");
        assert.equal(c.maskingKey, KEY);
        assert.equal(receivesCopies(c), true);
        assert.equal(copySource(c), "the prod stack");
        const none = parseKeelConfig(raw("staging", {}));
        assert.deepEqual([none.copyFrom, none.maskingKey, receivesCopies(none)], [undefined, undefined, false]);
    });

    it("reports every problem at once: a plain-text key, a short key, the stack copying from itself; the key never shown", () => {
        const key = "zq-short-k3y";
        const found = problems(() =>
            parseKeelConfig(raw("staging", { "keel:copyFrom": "staging", "keel:maskingKey": key }, ["keel:databaseUrl"])),
        );
        assert.deepEqual(
            found.map((p) => p.split(" | ")[0]),
            ["keel:maskingKey", "keel:copyFrom", "keel:maskingKey"],
        );
        const [plain, self, short] = found;
        assert.match(plain, /stored in plain text/);
        assert.match(plain, /config set --secret keel:maskingKey \$\(openssl rand -hex 32\) --stack staging$/);
        assert.match(self, /names this stack itself \('staging'\)/);
        assert.match(short, /is 12 bytes long; the masking key must be at least 16 bytes/);
        assert.match(short, /config set --secret keel:maskingKey \$\(openssl rand -hex 32\) --stack staging$/);
        assert.ok(!found.join("\n").includes(key), "the key is never in a message");
    });

    it("16 bytes is enough, 15 is not (bytes, not characters)", () => {
        assert.equal(parseKeelConfig(raw("staging", { "keel:maskingKey": "x".repeat(16) })).maskingKey, "x".repeat(16));
        assert.match(problems(() => parseKeelConfig(raw("staging", { "keel:maskingKey": "x".repeat(15) })))[0], /is 15 bytes long/);
        // Eight two-byte characters are 16 bytes.
        assert.equal(parseKeelConfig(raw("staging", { "keel:maskingKey": "é".repeat(8) })).maskingKey, "é".repeat(8));
    });

    it("a key still encrypted (a stack file read without its passphrase) is present and unchecked", () => {
        const c = parseKeelConfig({
            ...raw("staging", { "keel:maskingKey": ENCRYPTED_VALUE }),
            encryptedKeys: new Set(["keel:maskingKey"]),
        });
        assert.equal(c.maskingKey, ENCRYPTED_VALUE);
    });

    it("refuses keel:copyFrom on a prod-stage stack, whatever its name, with the reason", () => {
        const [p] = problems(() => parseKeelConfig(raw("prod", { "keel:copyFrom": "staging" })));
        assert.match(p, /^keel:copyFrom \| is set on a prod-stage stack; a prod stack never receives copies: a copy replaces its database/);
        assert.match(p, /config rm keel:copyFrom --stack prod/);
        const live = problems(() =>
            parseKeelConfig({ ...raw("live", { "keel:copyFrom": "staging", "keel:stage": "prod" }), knownStacks: [...STACKS, "live"] }),
        );
        assert.deepEqual(
            live.map((l) => l.split(" | ")[0]),
            ["keel:copyFrom"],
        );
    });

    it("a stack that does not exist is refused, with the near name", () => {
        const [p] = problems(() => parseKeelConfig(raw("staging", { "keel:copyFrom": "prdo" })));
        assert.match(p, /names the stack 'prdo', which has no Pulumi\.prdo\.yaml \(stacks: dev, staging, prod\)/);
        assert.match(p, /config set keel:copyFrom prod --stack staging$/);
        // Without the list of stacks (config from the environment alone) any name is taken.
        assert.equal(parseKeelConfig({ ...raw("staging", { "keel:copyFrom": "prdo" }), knownStacks: undefined }).copyFrom, "prdo");
    });

    it("receivesCopies: keel:copyFrom, or a Neon branch with a parent (db reset's target); not the owner's branch, not a local dev", () => {
        const neon = (stack: string, branch: Record<string, unknown> = {}) =>
            parseKeelConfig({
                ...raw(stack, { "keel:database": NEON(branch) }),
                values: { "keel:database": NEON(branch) },
                env: { NEON_API_KEY: "k" },
            });
        const staging = neon("staging", { parent: "main" });
        assert.equal(receivesCopies(staging), true);
        assert.equal(copySource(staging), "the Neon branch main");
        assert.equal(receivesCopies(neon("prod")), false);
        const dev = parseKeelConfig({ stack: "dev", values: {}, secretKeys: new Set(), env: {}, knownStacks: STACKS });
        assert.equal(receivesCopies(dev), false);
        const devFromStaging = parseKeelConfig({
            stack: "dev",
            values: { "keel:copyFrom": "staging" },
            secretKeys: new Set(),
            env: {},
            knownStacks: STACKS,
        });
        assert.equal(receivesCopies(devFromStaging), true);
        assert.equal(copySource(devFromStaging), "the staging stack");
    });
});
