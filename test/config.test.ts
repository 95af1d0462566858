import { strict as assert } from "assert";
import { parseKeelConfig, RawConfig } from "../components/config";
import { ConfigError } from "../components/errors";

const URL = "postgres://app:pw@db.internal:5432/app";

function raw(stack: string, values: Record<string, string>, secret: string[] = ["keel:databaseUrl"], env: Record<string, string> = {}): RawConfig {
    return { stack, values, secretKeys: new Set(secret), env };
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

describe("parseKeelConfig", () => {
    it("applies stage defaults and takes the secret URL", () => {
        const c = parseKeelConfig(raw("prod", { "keel:databaseUrl": URL }));
        assert.equal(c.stage, "prod");
        assert.deepEqual(c.database, { url: URL, source: "config" });
        assert.deepEqual(c.migrations, {
            dir: "migrations",
            historySchema: "public",
            lockTimeout: "5s",
            statementTimeout: "5min",
            lockWaitSeconds: 120,
            allowMissing: false,
            outOfOrder: false,
            baseline: undefined,
        });
    });

    it("uses DATABASE_URL on dev only", () => {
        const dev = parseKeelConfig(raw("dev", {}, [], { DATABASE_URL: URL }));
        assert.deepEqual(dev.database, { url: URL, source: "env" });
        const [p] = problems(() => parseKeelConfig(raw("staging", {}, [], { DATABASE_URL: URL })));
        assert.match(p, /^keel:databaseUrl \| is not set.*\| pulumi config set --secret keel:databaseUrl '.*' --stack staging$/);
    });

    it("reads the migration settings object", () => {
        const c = parseKeelConfig(
            raw("staging", {
                "keel:databaseUrl": URL,
                "keel:migrations": JSON.stringify({ dir: "db/migrations", lockTimeout: "2s", baseline: 20240101000000, outOfOrder: true }),
            }),
        );
        assert.equal(c.migrations.dir, "db/migrations");
        assert.equal(c.migrations.lockTimeout, "2s");
        assert.equal(c.migrations.statementTimeout, "5min");
        assert.equal(c.migrations.baseline, "20240101000000");
        assert.equal(c.migrations.outOfOrder, true);
    });

    it("reports every problem at once with its key and fixing command", () => {
        const found = problems(() =>
            parseKeelConfig(
                raw(
                    "prod",
                    {
                        "keel:databaseUrl": "postgres://app:pw@ep-cool-1234-pooler.neon.tech/app",
                        "keel:migrations": JSON.stringify({ lockTimeout: "soon", lockWaitSeconds: -1, colour: "blue" }),
                        "keel:databaseURL": "typo",
                    },
                    [],
                ),
            ),
        );
        assert.equal(found.length, 6, found.join("\n"));
        const text = found.join("\n");
        assert.match(text, /keel:databaseURL \| unknown key .* \| pulumi config rm keel:databaseURL --stack prod/);
        assert.match(text, /keel:databaseUrl \| is stored in plain text.*\| pulumi config set --secret keel:databaseUrl/);
        assert.match(text, /keel:databaseUrl \| is a pooled connection \(host 'ep-cool-1234-pooler\.neon\.tech' is a pooler\).*remove '-pooler'/);
        assert.match(text, /keel:migrations\.lockTimeout \| expected a duration .*\(got "soon"\) \| pulumi config set --path keel:migrations\.lockTimeout 5s --stack prod/);
        assert.match(text, /keel:migrations\.lockWaitSeconds \| .*\(got -1\) \| pulumi config set --path keel:migrations\.lockWaitSeconds 120 --stack prod/);
        assert.match(text, /keel:migrations\.colour \| unknown setting .* \| pulumi config rm --path keel:migrations\.colour --stack prod/);
    });

    it("needs keel:stage for a stack not named after a stage", () => {
        const [p] = problems(() => parseKeelConfig(raw("pr-42", { "keel:databaseUrl": URL })));
        assert.match(p, /^keel:stage \| stack 'pr-42' is not named after a stage.*\| pulumi config set keel:stage dev --stack pr-42$/);
        const c = parseKeelConfig(raw("pr-42", { "keel:databaseUrl": URL, "keel:stage": "staging" }));
        assert.equal(c.stage, "staging");
    });

    it("puts the whole report in the error message", () => {
        assert.throws(
            () => parseKeelConfig(raw("staging", { "keel:migrations": "[1]" }, [])),
            (err: Error) => /Stack 'staging' has 2 configuration problems:\n {2}- keel:databaseUrl: is not set[\s\S]*fix: pulumi config set[\s\S]*keel:migrations/.test(err.message),
        );
    });
});
