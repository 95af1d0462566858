import { strict as assert } from "assert";
import { parseKeelConfig, RawConfig, stageDefaults, STAGES } from "../../components/config";
import { ENCRYPTED_VALUE, examplesFor } from "../../components/config/context";
import { ConfigError } from "../../components/errors";
import { previewValues } from "../support/previewStack";
import { previewStackName } from "../../components/previews/naming";

const URL = "postgres://app:pw@db.internal:5432/app";

function raw(
    stack: string,
    values: Record<string, string>,
    secret: string[] = ["keel:databaseUrl"],
    env: Record<string, string> = {},
): RawConfig {
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
    it("a databaseUrl still encrypted (a stack file read without its passphrase) is present and unchecked; the same text given as a value is refused", () => {
        const values = { "keel:databaseUrl": ENCRYPTED_VALUE };
        const c = parseKeelConfig({ ...raw("staging", values), encryptedKeys: new Set(["keel:databaseUrl"]) });
        assert.deepEqual(c.database, { kind: "external", url: ENCRYPTED_VALUE, source: "config" });
        assert.match(problems(() => parseKeelConfig(raw("staging", values))).join("\n"), /^keel:databaseUrl \|/m);
    });

    it("applies stage defaults and takes the secret URL", () => {
        const c = parseKeelConfig(raw("prod", { "keel:databaseUrl": URL }));
        assert.equal(c.stage, "prod");
        assert.deepEqual(c.database, { kind: "external", url: URL, source: "config" });
        assert.deepEqual(c.migrations, {
            dir: "migrations",
            historySchema: "public",
            lockTimeout: "5s",
            statementTimeout: "5min",
            lockWaitSeconds: 120,
            allowMissing: false,
            outOfOrder: false,
            baseline: undefined,
            backup: true,
            backupDir: "backups",
            keepBackups: 10,
            backupRetentionDays: 7,
        });
    });

    it("uses DATABASE_URL for an explicit external database on dev only; it never picks the kind", () => {
        const external = JSON.stringify({ kind: "external" });
        const dev = parseKeelConfig(raw("dev", { "keel:database": external }, [], { DATABASE_URL: URL }));
        assert.deepEqual(dev.database, { kind: "external", url: URL, source: "env" });
        assert.equal(parseKeelConfig(raw("dev", {}, [], { DATABASE_URL: URL })).database.kind, "local");
        const [p] = problems(() => parseKeelConfig(raw("staging", {}, [], { DATABASE_URL: URL })));
        assert.match(
            p,
            /^keel:database\.kind \| is not set and neither is keel:databaseUrl.*\| npm run pulumi -- config set --path keel:database\.kind neon --stack staging \(or: npm run pulumi -- config set --secret keel:databaseUrl/,
        );
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

    it("takes backups before migrating on staging and prod by default, not on dev, and keeps more in prod", () => {
        const pick = (stack: string, migrations?: object) => {
            const c = parseKeelConfig(
                raw(stack, { "keel:databaseUrl": URL, ...(migrations ? { "keel:migrations": JSON.stringify(migrations) } : {}) }),
            );
            return [c.migrations.backup, c.migrations.backupDir, c.migrations.keepBackups, c.migrations.backupRetentionDays];
        };
        assert.deepEqual(pick("dev"), [false, "backups", 3, 7]);
        assert.deepEqual(pick("staging"), [true, "backups", 5, 7]);
        assert.deepEqual(pick("prod"), [true, "backups", 10, 7]);
        assert.deepEqual(pick("dev", { backup: true, backupDir: "/var/backups/keel", keepBackups: 2, backupRetentionDays: 14 }), [
            true,
            "/var/backups/keel",
            2,
            14,
        ]);
        const found = problems(() =>
            parseKeelConfig(raw("prod", { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ keepBackups: 0, backup: "yes" }) })),
        );
        assert.ok(
            found.some((p) =>
                /^keel:migrations\.keepBackups \| .*\(got 0\) \| npm run pulumi -- config set --path keel:migrations\.keepBackups 10 --stack prod$/.test(
                    p,
                ),
            ),
            found.join("\n"),
        );
        assert.ok(
            found.some((p) => /^keel:migrations\.backup \| .*\(got "yes"\)/.test(p)),
            found.join("\n"),
        );
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
        assert.match(text, /keel:databaseURL \| unknown key .* \| npm run pulumi -- config rm keel:databaseURL --stack prod/);
        assert.match(
            text,
            /keel:databaseUrl \| is stored in plain text.*\| npm run pulumi -- config set --secret keel:databaseUrl '<value>' --stack prod/,
        );
        assert.match(
            text,
            /keel:databaseUrl \| is a pooled connection \(host 'ep-cool-1234-pooler\.neon\.tech' is a pooler\).*remove '-pooler'/,
        );
        assert.match(
            text,
            /keel:migrations\.lockTimeout \| expected a duration .*\(got "soon"\) \| npm run pulumi -- config set --path keel:migrations\.lockTimeout 5s --stack prod/,
        );
        assert.match(
            text,
            /keel:migrations\.lockWaitSeconds \| .*\(got -1\) \| npm run pulumi -- config set --path keel:migrations\.lockWaitSeconds 120 --stack prod/,
        );
        assert.match(
            text,
            /keel:migrations\.colour \| unknown setting .* \| npm run pulumi -- config rm --path keel:migrations\.colour --stack prod/,
        );
    });

    it("needs keel:stage for a stack not named after a stage, offering the stages one sets by hand", () => {
        const [p] = problems(() => parseKeelConfig(raw("feature-42", { "keel:databaseUrl": URL })));
        assert.match(
            p,
            /^keel:stage \| stack 'feature-42' is not named after a stage.*expected one of dev, staging, prod \(a pull request's preview is the stack pr-<n>, made by keel pr up --pr <n>\) \| npm run pulumi -- config set keel:stage <dev\|staging\|prod> --stack feature-42$/,
        );
        const c = parseKeelConfig(raw("feature-42", { "keel:databaseUrl": URL, "keel:stage": "staging" }));
        assert.equal(c.stage, "staging");
        const [wrong] = problems(() => parseKeelConfig(raw("feature-42", { "keel:databaseUrl": URL, "keel:stage": "qa" })));
        assert.match(
            wrong,
            /^keel:stage \| 'qa' is not a stage; expected one of dev, staging, prod \(.*keel pr up.*\| .*<dev\|staging\|prod>/,
        );
    });

    it("a stack named pr-<n> is a pull request's preview; keel:stage cannot make it another stage", () => {
        assert.equal(parseKeelConfig(raw("pr-42", { "keel:databaseUrl": URL, ...previewValues(42) })).stage, "preview");
        assert.equal(
            parseKeelConfig(raw("pr-42", { "keel:databaseUrl": URL, "keel:stage": "preview", ...previewValues(42) })).stage,
            "preview",
        );
        const p = problems(() => parseKeelConfig(raw("pr-42", { "keel:databaseUrl": URL, "keel:stage": "staging" })));
        assert.ok(
            p.some((x) =>
                /^keel:stage \| is 'staging', but the stack is named pr-42: a stack named pr-<n> is pull request 42's preview.* \| npm run pulumi -- config rm keel:stage --stack pr-42 /.test(
                    x,
                ),
            ),
            p.join("\n"),
        );
    });

    it("keel:stage preview is refused on a stack not named pr-<n>: previews are made by keel pr up", () => {
        for (const stack of ["qa", "preview", "pr-0", "pr-42-x"]) {
            const p = problems(() => parseKeelConfig(raw(stack, { "keel:databaseUrl": URL, "keel:stage": "preview" })));
            assert.ok(
                p.some((x) =>
                    new RegExp(
                        `^keel:stage \\| is 'preview', but the stack '${stack}' is not named pr-<n>: .*keel pr up --pr <n>.* \\| npm run pulumi -- config set keel:stage <dev\\|staging\\|prod> --stack ${stack}, or make the preview with keel pr up`,
                    ).test(x),
                ),
                `${stack}: ${p.join("\n")}`,
            );
        }
    });

    it("puts the whole report in the error message", () => {
        assert.throws(
            () => parseKeelConfig(raw("staging", { "keel:migrations": "[1]" }, [])),
            (err: Error) =>
                /Stack 'staging' has 2 configuration problems:\n {2}- keel:database\.kind: is not set[\s\S]*fix: npm run pulumi -- config set[\s\S]*keel:migrations/.test(
                    err.message,
                ),
        );
    });

    describe("database", () => {
        it("defaults dev to the local kind; docker, chosen, is a pinned PostgreSQL named after the project and stack", () => {
            assert.deepEqual(parseKeelConfig({ ...raw("dev", {}, []), project: "shop" }).database, {
                kind: "local",
                port: 54329,
                databaseName: "app",
                user: "app",
                dir: ".keel/dev/dev",
            });
            const c = parseKeelConfig({ ...raw("dev", { "keel:database": JSON.stringify({ kind: "docker" }) }, []), project: "shop" });
            assert.deepEqual(c.database, {
                kind: "docker",
                image: "postgres:16.4-bookworm",
                port: 5432,
                databaseName: "app",
                user: "app",
                volumeName: "shop-dev-pgdata",
                containerName: "shop-dev-postgres",
            });
        });

        it("refuses Docker in prod, unpinned images and a URL beside docker, all at once", () => {
            const found = problems(() =>
                parseKeelConfig(
                    raw("prod", {
                        "keel:databaseUrl": URL,
                        "keel:database": JSON.stringify({ kind: "docker", docker: { image: "postgres:latest", port: 80 } }),
                    }),
                ),
            );
            const text = found.join("\n");
            assert.equal(found.length, 4, text);
            assert.match(
                text,
                /keel:database\.docker\.image \| expected an image pinned to a version tag or digest.*\(got "postgres:latest"\)/,
            );
            assert.match(
                text,
                /keel:database\.docker\.port \| .*\(got 80\) \| npm run pulumi -- config set --path keel:database\.docker\.port 5432 --stack prod/,
            );
            assert.match(text, /keel:database\.kind \| is 'docker' on prod: a container on one machine is no production database/);
            assert.match(text, /keel:databaseUrl \| is set but the database kind is 'docker'/);
        });

        it("accepts images pinned by tag or digest", () => {
            for (const image of [
                "postgres:16.4",
                "postgres:16.4-bookworm",
                `postgres@sha256:${"a".repeat(64)}`,
                "registry.example.com:5000/pg:15.8",
            ]) {
                const c = parseKeelConfig(raw("dev", { "keel:database": JSON.stringify({ kind: "docker", docker: { image } }) }, []));
                assert.equal((c.database as any).image, image);
            }
            for (const image of ["postgres", "postgres:latest", "registry.example.com:5000/pg"]) {
                assert.throws(
                    () => parseKeelConfig(raw("dev", { "keel:database": JSON.stringify({ kind: "docker", docker: { image } }) }, [])),
                    /pinned/,
                    image,
                );
            }
        });

        it("gives prod the Neon project and its default branch, staging a child branch", () => {
            const neon = JSON.stringify({ kind: "neon", neon: { project: { name: "shop" } } });
            const prod = parseKeelConfig(raw("prod", { "keel:database": neon }, [], { NEON_API_KEY: "napi_x" }));
            assert.deepEqual(prod.database, {
                kind: "neon",
                project: { name: "shop", ownedBy: "prod", owned: true, regionId: "aws-us-east-2", pgVersion: 16, orgId: undefined },
                branch: { name: "main", parent: undefined, protected: true, schemaOnly: false },
                endpoint: { minCu: 0.25, maxCu: 2, suspendTimeoutSeconds: -1 },
                roleName: "app",
                databaseName: "app",
                sanitizeSql: undefined,
                allowDelete: false,
            });
            const staging = parseKeelConfig(
                raw(
                    "staging",
                    {
                        "keel:database": JSON.stringify({
                            kind: "neon",
                            neon: { project: { name: "shop" }, branch: { schemaOnly: true }, sanitizeSql: "db/sanitize.sql" },
                        }),
                    },
                    [],
                    { NEON_API_KEY: "napi_x" },
                ),
            );
            assert.deepEqual((staging.database as any).project.owned, false);
            assert.deepEqual((staging.database as any).branch, { name: "staging", parent: "main", protected: false, schemaOnly: true });
            assert.deepEqual((staging.database as any).endpoint, { minCu: 0.25, maxCu: 1, suspendTimeoutSeconds: 300 });
            assert.equal((staging.database as any).sanitizeSql, "db/sanitize.sql");
        });

        it("checks Neon settings against each other and refuses a plain-text API key", () => {
            const found = problems(() =>
                parseKeelConfig(
                    raw(
                        "prod",
                        {
                            "keel:neonApiKey": "napi_plaintext",
                            "keel:database": JSON.stringify({
                                kind: "neon",
                                neon: { branch: { parent: "main" }, endpoint: { minCu: 2, maxCu: 1 } },
                            }),
                        },
                        [],
                    ),
                ),
            );
            const text = found.join("\n");
            assert.equal(found.length, 3, text);
            assert.match(text, /keel:neonApiKey \| is stored in plain text/);
            assert.match(text, /keel:database\.neon\.branch\.parent \| is set, but this stack owns the Neon project/);
            assert.match(text, /keel:database\.neon\.endpoint\.maxCu \| 1 is below minCu 2/);
            assert.ok(!text.includes("napi_plaintext"), "the key's value is never echoed");
        });

        it("takes keel:database.neon.branch.expiresAt on a branch stack, refusing a malformed time or one on the owner stack, naming the key", () => {
            const neon = (branch: Record<string, unknown>) =>
                JSON.stringify({ kind: "neon", neon: { branch: { parent: "staging", ...branch } } });
            const parse = (stack: string, value: string) =>
                parseKeelConfig(raw(stack, { "keel:database": value, ...previewValues(7) }, [], { NEON_API_KEY: "napi_x" }));
            const ok = parse("pr-7", neon({ name: "preview/pr-7", expiresAt: "2026-12-14T18:02:16Z" }));
            assert.equal((ok.database as any).branch.expiresAt, "2026-12-14T18:02:16Z");
            assert.equal((parse("pr-7", neon({})).database as any).branch.expiresAt, undefined, "no expiry unless set");
            for (const bad of ["tomorrow", "2026-12-14", "2026-12-14T18:02:16.5Z", "2026-12-14T18:02:16", "2026-02-30T00:00:00Z"]) {
                const [p] = problems(() => parse("pr-7", neon({ expiresAt: bad })));
                assert.match(p, /^keel:database\.neon\.branch\.expiresAt \| expected an RFC 3339 time with whole seconds/, String(bad));
            }
            assert.match(problems(() => parse("pr-7", neon({ expiresAt: 1765735336 })))[0], /^keel:database\.neon\.branch\.expiresAt \|/);
            const owner = problems(() =>
                parseKeelConfig(
                    raw(
                        "prod",
                        { "keel:database": JSON.stringify({ kind: "neon", neon: { branch: { expiresAt: "2026-12-14T18:02:16Z" } } }) },
                        [],
                        { NEON_API_KEY: "napi_x" },
                    ),
                ),
            );
            assert.match(owner.join("\n"), /^keel:database\.neon\.branch\.expiresAt \| is set, but this stack owns the Neon project/m);
        });

        it("needs a Neon API key from secret config or NEON_API_KEY", () => {
            const neon = JSON.stringify({ kind: "neon" });
            const [p] = problems(() => parseKeelConfig(raw("staging", { "keel:database": neon }, [])));
            assert.match(
                p,
                /^keel:neonApiKey \| is not set and NEON_API_KEY is not in the environment.*\| npm run pulumi -- config set --secret keel:neonApiKey .* --stack staging \(or export NEON_API_KEY\)$/,
            );
            assert.equal(
                parseKeelConfig(raw("staging", { "keel:database": neon, "keel:neonApiKey": "napi_x" }, ["keel:neonApiKey"])).database.kind,
                "neon",
            );
            assert.equal(parseKeelConfig(raw("staging", { "keel:database": neon }, [], { NEON_API_KEY: "napi_x" })).database.kind, "neon");
        });
    });

    describe("fixes fit the stack's stage", () => {
        it("suggests the stage's own value: dev's lock wait is 30, prod's 120; dev's database kind is local, prod's neon", () => {
            const lockWait = (stack: string) =>
                problems(() =>
                    parseKeelConfig(raw(stack, { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ lockWaitSeconds: -1 }) })),
                ).find((p) => p.startsWith("keel:migrations.lockWaitSeconds"));
            assert.match(lockWait("dev")!, /npm run pulumi -- config set --path keel:migrations\.lockWaitSeconds 30 --stack dev$/);
            assert.match(lockWait("prod")!, /npm run pulumi -- config set --path keel:migrations\.lockWaitSeconds 120 --stack prod$/);
            const kind = (stack: string) =>
                problems(() => parseKeelConfig(raw(stack, { "keel:database": JSON.stringify({ kind: "dockr" }) }, []))).find((p) =>
                    p.startsWith("keel:database.kind"),
                );
            assert.match(kind("dev")!, /npm run pulumi -- config set --path keel:database\.kind local --stack dev$/);
            assert.match(kind("prod")!, /npm run pulumi -- config set --path keel:database\.kind neon --stack prod$/);
        });

        it("every suggested migrations setting, set as the fix says, is valid on its stage", () => {
            for (const stage of STAGES) {
                for (const [key, example] of Object.entries(examplesFor(stage, stageDefaults(stage)))) {
                    if (!key.startsWith("migrations.")) continue;
                    // npm run pulumi -- config set --path stores numbers and booleans as such.
                    const value = /^(\d+|true|false)$/.test(example) ? JSON.parse(example) : example;
                    const config = parseKeelConfig(
                        raw(stage === "preview" ? previewStackName(1) : stage, {
                            "keel:databaseUrl": URL,
                            "keel:migrations": JSON.stringify({ [key.split(".")[1]]: value }),
                            ...(stage === "preview" ? previewValues(1) : {}),
                        }),
                    );
                    assert.ok(config.migrations, `${stage} ${key}=${example}`);
                }
            }
        });

        it("pins images one way everywhere: a tag with a version, or a digest", () => {
            for (const image of ["postgres:stable", "postgres:latest", "postgres"]) {
                const docker = problems(() =>
                    parseKeelConfig(raw("dev", { "keel:database": JSON.stringify({ kind: "docker", docker: { image } }) }, [])),
                );
                assert.ok(
                    docker.some((p) => p.startsWith("keel:database.docker.image")),
                    image,
                );
            }
            assert.doesNotThrow(() =>
                parseKeelConfig(
                    raw("dev", { "keel:database": JSON.stringify({ kind: "docker", docker: { image: "postgres:16.4-bookworm" } }) }, []),
                ),
            );
        });
    });

    it("a stack named after a stage cannot claim another (the policy pack judges by it)", () => {
        const p = problems(() => parseKeelConfig(raw("prod", { "keel:databaseUrl": URL, "keel:stage": "dev" })));
        assert.ok(
            p.some((x) =>
                /^keel:stage \| is 'dev', but the stack is named prod.* \| npm run pulumi -- config rm keel:stage --stack prod$/.test(x),
            ),
            p.join("\n"),
        );
        assert.equal(parseKeelConfig(raw("benchdev", { "keel:databaseUrl": URL, "keel:stage": "dev" })).stage, "dev");
    });
});
