import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    describeSql,
    pendingKey,
    schemaMigrationsProvider,
    SchemaMigrationsInputs,
    SchemaMigrationsOutputs,
} from "../../components/schema/provider";
import { freshDatabase, testCluster } from "../support/postgres";
import { schemaInputs } from "../support/schemaInputs";
import { captureConsole, serializedProvider } from "../support/serializedProvider";
import { migrationsDir, withClient } from "../support/migrationsDir";
import { tempDir } from "../support/tempDir";
import { listDumps } from "../../components/backup/pgDump";
import { unpackCatalog } from "../../components/postgres/fingerprint";
import { fakePgBin } from "../support/pgBin";

type Provider = typeof schemaMigrationsProvider;
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const inputsFor = (url: string, dir: string): Promise<SchemaMigrationsInputs> => schemaInputs(url, dir);

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

const quiet = <T>(fn: () => Promise<T>) => captureConsole(fn).then((r) => r.result);

describe("SchemaMigrations provider (serialized as the engine does)", () => {
    let provider: Provider;
    let password: string;

    before(async () => {
        password = (await testCluster()).password;
        const s = await serializedProvider(schemaMigrationsProvider);
        provider = s.provider;
        assert.ok(!s.text.includes(password), "the serialized provider must capture no credentials");
        const { port } = await testCluster();
        await freshDatabase(); // a URL exists in this process before serialization...
        assert.ok(!s.text.includes(`:${port}/`), "...and the serialized provider captured none");
    });

    it("lists pending migrations in check, applies them in create, and then reports nothing to do", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "1_users.sql": "CREATE TABLE users (id int PRIMARY KEY, email text);",
            "2_orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);",
        });
        const news = await inputsFor(url, dir);

        const checked = await provider.check!({} as any, news);
        assert.deepEqual(checked.failures ?? [], []);
        assert.deepEqual(checked.inputs!.pending!.map(pendingKey), ["1_users", "2_orders"]);
        // Each entry says what the file does, for the preview's diff.
        assert.match(checked.inputs!.pending![0], /^1_users: CREATE TABLE users \(id int PRIMARY KEY, email text\)$/);

        const created = await quiet(() => provider.create!(checked.inputs!));
        const outs = created.outs as SchemaMigrationsOutputs;
        assert.ok(!created.id.includes(password));
        assert.deepEqual(
            outs.applied.map((a) => [a.version, a.name, a.status]),
            [
                ["1", "users", "applied"],
                ["2", "orders", "applied"],
            ],
        );
        assert.equal(outs.version, "2");
        assert.match(outs.fingerprint, /^[0-9a-f]{64}$/);
        assert.deepEqual(outs.pending, []);
        assert.ok(unpackCatalog(outs.catalog)["table public.orders"]);
        assert.deepEqual((await query(url, "SELECT count(*)::int AS n FROM keel_schema_history"))[0].n, 2);

        const again = await provider.check!(outs, await inputsFor(url, dir));
        assert.deepEqual(again.inputs!.pending!.map(pendingKey), []);
        const diff = await provider.diff!(created.id, outs, again.inputs!);
        assert.equal(diff.changes, false);
    });

    it("treats a database URL unknown at preview as everything pending, saying why once the stack was deployed", async () => {
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int);" });
        const news = { ...(await inputsFor("postgres://x@h/db", dir)), databaseUrl: UNKNOWN };
        const first = await captureConsole(() => provider.check!({} as any, news));
        assert.deepEqual(first.result.inputs!.pending!.map(pendingKey), ["1_a"]);
        assert.deepEqual(first.lines, [], "a first deploy: everything is pending, nothing to explain");
        // A deployed stack whose database changes in this update: the list is said not to be the database's.
        const deployed = await inputsFor("postgres://x@127.0.0.1:54329/app", dir);
        const local = await captureConsole(() => provider.check!(deployed, { ...news, databaseKind: "local" }));
        assert.deepEqual(local.result.inputs!.pending!.map(pendingKey), ["1_a"]);
        assert.match(
            local.lines.join("\n"),
            /URL is known only once up has started or updated the local server.*npm run dev:start, then preview/,
        );
        const external = await captureConsole(() => provider.check!(deployed, { ...news, databaseKind: "neon" }));
        assert.match(external.lines.join("\n"), /known only once up has updated the database, so preview cannot read the schema/);
        assert.doesNotMatch(external.lines.join("\n"), /dev:start/);
    });

    it("diffs a new file as an update, never a replacement, and applies only it", async () => {
        const url = await freshDatabase();
        const files: Record<string, string> = { "1_a.sql": "CREATE TABLE a (id int);" };
        const dir = migrationsDir(files);
        const first = await provider.check!({} as any, await inputsFor(url, dir));
        const created = await quiet(() => provider.create!(first.inputs!));
        const outs = created.outs!;

        fs.writeFileSync(path.join(dir, "2_b.sql"), "CREATE TABLE b (id int);");
        const second = await provider.check!(outs, await inputsFor(url, dir));
        assert.deepEqual(second.inputs!.pending!.map(pendingKey), ["2_b"]);
        const diff = await provider.diff!(created.id, outs, second.inputs!);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);

        const updated = await quiet(() => provider.update!(created.id, outs, second.inputs!));
        assert.equal(updated.outs!.version, "2");
        assert.notEqual(updated.outs!.fingerprint, outs.fingerprint);
        const rows = await query(url, "SELECT version FROM keel_schema_history ORDER BY version");
        assert.deepEqual(
            rows.map((r) => r.version),
            ["1", "2"],
        );
    });

    it("warns about pending destructive statements at check", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int, note text);", "2_drop.sql": "ALTER TABLE a DROP COLUMN note;" });
        const inputs = await inputsFor(url, dir);
        assert.deepEqual(inputs.migrations[1].destructive, ["line 1: ALTER TABLE a DROP COLUMN note"]);
        const captured = await captureConsole(() => provider.check!({} as any, inputs));
        assert.ok(
            captured.lines.some((l) =>
                /warning: .*2_drop\.sql is destructive: line 1: ALTER TABLE a DROP COLUMN note.*keel:allow-destructive/.test(l),
            ),
            captured.lines.join("\n"),
        );
    });

    it("warns at check about a pending file that uses an enum value it adds in the same transaction", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "1_mood.sql": "CREATE TYPE mood AS ENUM ('happy');",
            "2_elated.sql": "ALTER TYPE mood ADD VALUE 'elated';\nCREATE TABLE m (v mood DEFAULT 'elated');",
        });
        const inputs = await inputsFor(url, dir);
        assert.equal(inputs.migrations[0].warnings, undefined);
        assert.equal(inputs.migrations[1].warnings!.length, 1);
        const captured = await captureConsole(() => provider.check!({} as any, inputs));
        assert.ok(
            captured.lines.some((l) =>
                /warning: .*2_elated\.sql: line 2: uses 'elated', added by ALTER TYPE mood ADD VALUE at line 1 in the same transaction/.test(
                    l,
                ),
            ),
            captured.lines.join("\n"),
        );
    });

    it("fails check on an edited applied file, naming it and both checksums, without the password", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int);" });
        const first = await provider.check!({} as any, await inputsFor(url, dir));
        const created = await quiet(() => provider.create!(first.inputs!));
        const outs = created.outs!;
        fs.writeFileSync(path.join(dir, "1_a.sql"), "CREATE TABLE a (id bigint);");
        const checked = await provider.check!(outs, await inputsFor(url, dir));
        assert.equal(checked.failures!.length, 1);
        assert.match(
            checked.failures![0].reason,
            /1_a\.sql was edited after it was applied: checksum in the database [0-9a-f]{64}, on disk [0-9a-f]{64}/,
        );
        assert.ok(!checked.failures![0].reason.includes(password));
    });

    it("re-verifies checksums before applying: files changed since the plan run nothing", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int);" });
        const checked = await provider.check!({} as any, await inputsFor(url, dir));
        fs.writeFileSync(path.join(dir, "1_a.sql"), "CREATE TABLE a (id int, sneaky text);");
        // Errors thrown by a serialized provider are plain objects to the engine, which reads .message.
        await assert.rejects(
            quiet(() => provider.create!(checked.inputs!)),
            (err: Error) => /changed between preview and update; nothing has been run: 1_a\.sql changed after the plan/.test(err.message),
        );
        assert.deepEqual(await query(url, "SELECT to_regclass('public.a') AS t"), [{ t: null }]);
    });

    it("reports manual DDL and hand-edited history as drift on read", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "1_a.sql": "CREATE TABLE a (id int PRIMARY KEY);",
            "2_b.sql": "CREATE TABLE b (id int);",
        });
        const checked = await provider.check!({} as any, await inputsFor(url, dir));
        const created = await quiet(() => provider.create!(checked.inputs!));
        const outs = created.outs!;

        const clean = await quiet(() => provider.read!(created.id, outs));
        assert.deepEqual(clean.props!.drift, []);
        assert.equal(clean.props!.fingerprint, outs.fingerprint);

        await query(url, "ALTER TABLE a ADD COLUMN note text; DROP TABLE b; DELETE FROM keel_schema_history WHERE version = 2");
        const { result: drifted, lines } = await captureConsole(() => provider.read!(created.id, outs));
        const drift: string[] = drifted.props!.drift;
        assert.notEqual(drifted.props!.fingerprint, outs.fingerprint);
        assert.ok(drift.includes("+ column public.a.note: text (added outside migrations)"), drift.join("\n"));
        assert.ok(drift.includes("- table public.b (removed outside migrations)"), drift.join("\n"));
        assert.ok(drift.includes("- history: version 2 (b) is no longer recorded as applied"), drift.join("\n"));
        assert.ok(
            lines.some((l) => l.includes("drift in 127.0.0.1")),
            lines.join("\n"),
        );
        assert.ok(!lines.join("\n").includes(password));
        assert.equal(drifted.props!.databaseUrl, url);
    });

    it("a refresh after the up that applied the plan diffs as no change; a migration the database lost since stays a change", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int PRIMARY KEY);", "2_b.sql": "CREATE TABLE b (id int);" });
        const checked = await provider.check!({} as any, await inputsFor(url, dir));
        assert.deepEqual(checked.inputs!.pending!.map(pendingKey), ["1_a", "2_b"]);
        assert.ok(checked.inputs!.plannedAt, "check records when it made the plan");
        const created = await quiet(() => provider.create!(checked.inputs!));

        // pulumi refresh: the refreshed outputs against the inputs stored by the up (whose plan listed both files).
        const refreshed = await quiet(() => provider.read!(created.id, created.outs!));
        assert.equal((await provider.diff!(created.id, refreshed.props!, checked.inputs!)).changes, false);
        // With nothing pending, a plan adds nothing to the inputs (no-op previews leave them as they are).
        const idle = await provider.check!(created.outs!, await inputsFor(url, dir));
        assert.deepEqual(idle.inputs!.pending!.map(pendingKey), []);
        assert.equal("plannedAt" in idle.inputs!, false);

        // The database lost version 2 (a restore, a reset): the refresh shows the change, and the next up applies it again.
        await query(url, "DROP TABLE b; DELETE FROM keel_schema_history WHERE version = 2");
        const lost = await quiet(() => provider.read!(created.id, created.outs!));
        assert.equal((await provider.diff!(created.id, lost.props!, checked.inputs!)).changes, true);
        const again = await provider.check!(created.outs!, await inputsFor(url, dir));
        assert.deepEqual(again.inputs!.pending!.map(pendingKey), ["2_b"]);
        assert.equal(
            (await provider.diff!(created.id, created.outs!, again.inputs!)).changes,
            true,
            "the state still says applied; the fresh plan wins",
        );
    });

    it("reads state written before the catalog was packed: drift from the plain map, which the refreshed state keeps as the baseline", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int PRIMARY KEY);" });
        const checked = await provider.check!({} as any, await inputsFor(url, dir));
        const created = await quiet(() => provider.create!(checked.inputs!));
        assert.equal((created.outs as any).stateVersion, 1, "outputs carry their shape's version");
        // As an older Keel wrote them: no version, the plain map.
        const { catalog, stateVersion: _v, ...rest } = created.outs as SchemaMigrationsOutputs & { stateVersion: number };
        const older = { ...rest, schemaObjects: unpackCatalog(catalog) };
        assert.equal(
            (await provider.diff!(created.id, older as any, checked.inputs!)).changes,
            false,
            "no spurious change after the upgrade",
        );
        await query(url, "ALTER TABLE a ADD COLUMN note text");
        const read = await quiet(() => provider.read!(created.id, older as any));
        assert.deepEqual(read.props!.drift, ["+ column public.a.note: text (added outside migrations)"]);
        assert.equal("schemaObjects" in read.props!, false, "the plain map is not kept beside the packed one");
        assert.equal((read.props as any).stateVersion, 1);
        // The baseline is what the migrations made: a refresh does not make the drift the norm.
        assert.equal(unpackCatalog(read.props!.catalog)["column public.a.note"], undefined);
        const again = await quiet(() => provider.read!(created.id, read.props as any));
        assert.deepEqual(again.props!.drift, ["+ column public.a.note: text (added outside migrations)"], "the next refresh agrees");
    });

    it("describes a migration in one short line: its first statement, comments out, and how many follow", () => {
        assert.equal(
            describeSql("-- add a note\nALTER TABLE accounts\n  ADD COLUMN note text;\n"),
            "ALTER TABLE accounts ADD COLUMN note text",
        );
        assert.equal(
            describeSql("/* x */ CREATE TABLE a (id int); CREATE INDEX a_i ON a (id); SELECT 1;"),
            "CREATE TABLE a (id int) (+2 more statements)",
        );
        assert.equal(describeSql(`INSERT INTO t VALUES ('${"x".repeat(200)}')`, 20), "INSERT INTO t VALUE…");
        assert.equal(describeSql("-- nothing\n"), "(no statement)");
        assert.equal(pendingKey("3_notes: ALTER TABLE a ADD COLUMN b int"), "3_notes");
        assert.equal(pendingKey("3_notes"), "3_notes");
    });

    it("leaves schema and data untouched on delete, and says so", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "1_a.sql": "CREATE TABLE a (id int); INSERT INTO a VALUES (1);" });
        const checked = await provider.check!({} as any, await inputsFor(url, dir));
        const created = await quiet(() => provider.create!(checked.inputs!));
        const outs = created.outs!;
        const { lines } = await captureConsole(() => provider.delete!(created.id, outs));
        assert.ok(
            lines.some((l) => /leaving the schema and data of 127\.0\.0\.1:\d+\/\S+ untouched/.test(l)),
            lines.join("\n"),
        );
        assert.deepEqual(await query(url, "SELECT id FROM a"), [{ id: 1 }]);
        assert.equal((await query(url, "SELECT count(*)::int AS n FROM keel_schema_history"))[0].n, 1);
    });

    describe("backup before migrating", () => {
        const withBackup = async (url: string, dir: string, backupDir: string, keepBackups = 3): Promise<SchemaMigrationsInputs> => {
            const i = await inputsFor(url, dir);
            return { ...i, stack: "staging", databaseKind: "external", settings: { ...i.settings, backup: true, backupDir, keepBackups } };
        };
        const withPgBin = async <T>(bin: string | undefined, fn: () => Promise<T>): Promise<T> => {
            const saved = process.env.KEEL_PG_BIN;
            if (bin === undefined) delete process.env.KEEL_PG_BIN;
            else process.env.KEEL_PG_BIN = bin;
            try {
                return await fn();
            } finally {
                if (saved === undefined) delete process.env.KEEL_PG_BIN;
                else process.env.KEEL_PG_BIN = saved;
            }
        };

        it("takes a backup under the lock before the first pending migration, names it in the outputs, keeps it when nothing is pending, and prunes", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "1_users.sql": "CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users VALUES (1), (2);" });
            const backupDir = tempDir();
            const first = await provider.check!({} as any, await withBackup(url, dir, backupDir, 1));
            const { result, lines } = await captureConsole(() => provider.create!(first.inputs!));
            const created = result as { id: string; outs: SchemaMigrationsOutputs };
            const b1: any = created.outs.latestBackup;
            assert.match(b1.id, /^\d{8}T\d{9}Z_before_1\.dump$/);
            assert.equal(b1.kind, "pg_dump");
            assert.equal(b1.stack, "staging");
            assert.equal(b1.schemaVersion, "");
            assert.equal(b1.beforeVersion, "1");
            assert.equal(b1.location, path.join(backupDir, "staging", b1.id));
            assert.match(b1.sha256, /^[0-9a-f]{64}$/);
            assert.equal(b1.rowCounts, undefined, "per-table counts stay in the sidecar, out of the state");
            const backupLine = lines.findIndex((l) => /keel schema: backup .*_before_1\.dump: .* verified/.test(l));
            const applyLine = lines.findIndex((l) => /keel schema: applying 1 migration/.test(l));
            assert.ok(backupLine >= 0 && applyLine > backupLine, lines.join("\n"));
            assert.ok(!lines.join("\n").includes(password));
            // The dump holds the database as it was before the migration.
            assert.deepEqual(listDumps(backupDir, "staging")[0].rowCounts, {});

            fs.writeFileSync(path.join(dir, "2_orders.sql"), "CREATE TABLE orders (id int);");
            const second = await provider.check!(created.outs, await withBackup(url, dir, backupDir, 1));
            const updated = (await quiet(() => provider.update!(created.id, created.outs, second.inputs!))) as {
                outs: SchemaMigrationsOutputs;
            };
            const b2: any = updated.outs.latestBackup;
            assert.match(b2.id, /_before_2\.dump$/);
            assert.equal(b2.schemaVersion, "1");
            assert.deepEqual(listDumps(backupDir, "staging")[0].rowCounts, { "public.keel_schema_history": 1, "public.users": 2 });
            // keepBackups 1: the older one is gone.
            assert.deepEqual(
                listDumps(backupDir, "staging").map((r) => r.id),
                [b2.id],
            );

            const third = await provider.check!(updated.outs, await withBackup(url, dir, backupDir, 1));
            assert.deepEqual(third.inputs!.pending!.map(pendingKey), []);
            const again = await quiet(() => provider.update!(created.id, updated.outs, third.inputs!));
            assert.deepEqual(again.outs!.latestBackup, b2, "nothing pending: no new backup, the previous one stays named");
            assert.equal(listDumps(backupDir, "staging").length, 1);
        });

        it("no backup, no migration: a pg_dump older than the server, or one that fails, stops the migration with the database untouched", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "1_users.sql": "CREATE TABLE users (id int);" });
            const backupDir = tempDir();
            const inputs = (await provider.check!({} as any, await withBackup(url, dir, backupDir))).inputs!;

            const old = fakePgBin(`echo "pg_dump (PostgreSQL) 12.9"`);
            await withPgBin(old, () =>
                assert.rejects(
                    quiet(() => provider.create!(inputs)),
                    (err: Error) => {
                        assert.match(
                            err.message,
                            /^No backup, no migration: the backup of 127\.0\.0\.1:\d+\/\S+ before 1_users failed, so nothing was applied\./,
                        );
                        assert.match(err.message, /pg_dump 12\.9 \(.*\) is older than the server, PostgreSQL 15\.\d+/);
                        assert.match(err.message, /npm run pulumi -- config set --path keel:migrations\.backup false --stack staging/);
                        assert.ok(!err.message.includes(password));
                        return true;
                    },
                ),
            );
            const failing = fakePgBin(
                `case "$1" in --version) echo "pg_dump (PostgreSQL) 15.99";; *) echo "pg_dump: error: query failed: permission denied" >&2; exit 1;; esac`,
            );
            await withPgBin(failing, () =>
                assert.rejects(
                    quiet(() => provider.create!(inputs)),
                    (err: Error) => /^No backup, no migration[\s\S]*exit code 1[\s\S]*permission denied/.test(err.message),
                ),
            );

            // Untouched: no history table, no migration's table, no dump left behind.
            assert.deepEqual(await query(url, "SELECT to_regclass('public.keel_schema_history') AS h, to_regclass('public.users') AS u"), [
                { h: null, u: null },
            ]);
            assert.deepEqual(listDumps(backupDir, "staging"), []);
            assert.deepEqual(fs.readdirSync(path.join(backupDir, "staging")), []);
        });

        it("takes no backup when backup is off or nothing is pending", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "1_users.sql": "CREATE TABLE users (id int);" });
            const backupDir = tempDir();
            const off = await withBackup(url, dir, backupDir);
            off.settings = { ...off.settings, backup: false };
            const offInputs = (await provider.check!({} as any, off)).inputs!;
            const created = (await quiet(() => provider.create!(offInputs))) as { id: string; outs: SchemaMigrationsOutputs };
            assert.equal(created.outs.latestBackup, undefined);
            assert.deepEqual(fs.readdirSync(backupDir), []);
            const on = (await provider.check!(created.outs, await withBackup(url, dir, backupDir))).inputs!;
            const updated = await quiet(() => provider.update!(created.id, created.outs, on));
            assert.equal(updated.outs!.latestBackup, undefined);
            assert.deepEqual(fs.readdirSync(backupDir), []);
        });
    });
});
