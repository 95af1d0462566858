import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import { Client } from "pg";
import {
    compareDatabases,
    drill,
    DumpStats,
    formatDrillReport,
    readTableStats,
    restoreDump,
    RestoreError,
    takeDump,
    urlForDatabase,
} from "../../components/backup/pgDump";
import { schemaFingerprint } from "../../components/postgres/fingerprint";
import { withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

const env = { ...process.env, KEEL_PG_BIN: process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin" };

/** A schema with what a round trip must keep: tables, sequences' values, functions, a trigger, a view, an enum, large rows. */
async function seed(url: string): Promise<void> {
    await withClient(url, (c) =>
        c.query(`
            CREATE TYPE mood AS ENUM ('happy', 'sad');
            CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, mood mood, created timestamptz DEFAULT '2026-01-01');
            INSERT INTO users (email, mood) SELECT 'u' || g || '@example.com', CASE WHEN g % 2 = 0 THEN 'happy'::mood END FROM generate_series(1, 1000) g;
            CREATE SEQUENCE invoice_no START 1000;
            SELECT setval('invoice_no', 4242);
            CREATE SEQUENCE untouched;
            CREATE TABLE docs (id int PRIMARY KEY, body text, blob bytea, meta jsonb);
            INSERT INTO docs VALUES (1, repeat('large row ', 1000000), decode(repeat('deadbeef', 500000), 'hex'), '{"a": [1, 2, {"b": null}]}');
            INSERT INTO docs VALUES (2, NULL, NULL, NULL);
            CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) || '!' $$;
            CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created := now(); RETURN NEW; END $$;
            CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE VIEW happy_users AS SELECT id, shout(email) AS loud FROM users WHERE mood = 'happy';
            CREATE SCHEMA audit;
            CREATE TABLE audit.log (at timestamptz, what text);
            INSERT INTO audit.log VALUES ('2026-01-01', 'created');
            CREATE TABLE keel_schema_history (version bigint PRIMARY KEY, name text, checksum text, status text, applied_at timestamptz DEFAULT now(), execution_ms int DEFAULT 0, applied_by text);
            INSERT INTO keel_schema_history (version, name, checksum, status, applied_by) VALUES (7, 'seed', 'x', 'applied', 't');
        `),
    );
}

async function snapshotOf(url: string): Promise<Omit<DumpStats, "consistent">> {
    return withClient(url, async (c) => {
        const fp = await schemaFingerprint(c as unknown as Client, "public", "keel_schema_history");
        const s = await readTableStats(c as unknown as Client, true);
        return { fingerprint: fp.hash, ...s };
    });
}

async function databaseExists(url: string, name: string): Promise<boolean> {
    return withClient(
        urlForDatabase(url, "postgres"),
        async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1,
    );
}

async function databasesLike(url: string, pattern: string): Promise<string[]> {
    return withClient(urlForDatabase(url, "postgres"), async (c) =>
        (await c.query("SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1", [pattern])).rows.map((r) => r.datname),
    );
}

const dbName = (url: string) => new URL(url).pathname.slice(1);

describe("restore and drill (pg_dump)", () => {
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    it("round trip: a restore gives back exactly the dumped database (tables, sequences' values, functions, large rows), keeping the previous one", async () => {
        const url = await freshDatabase();
        await seed(url);
        const before = await snapshotOf(url);
        const record = await takeDump(url, { dir: tempDir(), stack: "dev", beforeVersion: "8", schemaVersion: "7", env });
        // Life goes on after the backup: rows, sequences, schema.
        await withClient(url, (c) =>
            c.query(`INSERT INTO users (email) VALUES ('late@example.com'); SELECT nextval('invoice_no'); SELECT nextval('untouched');
                     DROP FUNCTION shout(text) CASCADE; CREATE TABLE extra (id int); UPDATE docs SET body = 'changed' WHERE id = 1`),
        );
        assert.notDeepEqual(await snapshotOf(url), before);

        const lines: string[] = [];
        let asked = 0;
        const result = await restoreDump(url, record, () => (asked++, true), { progress: (l) => lines.push(l), env });
        assert.equal(asked, 1);
        const after = await snapshotOf(url);
        assert.deepEqual(after, before);
        assert.equal(after.sequences["public.invoice_no"], "4242");
        assert.match(after.sequences["public.untouched"], /^unset/);
        assert.equal(after.tables["public.docs"].rows, 2);
        const body = await withClient(
            url,
            async (c) => (await c.query("SELECT length(body) AS n, length(blob) AS b, shout('x') AS f FROM docs WHERE id = 1")).rows[0],
        );
        assert.deepEqual(body, { n: 10000000, b: 2000000, f: "X!" });

        // The plan came first, then the work; the previous database is kept under its new name.
        const planAt = lines.findIndex((l) => /^restore of .* into 127\.0\.0\.1:\d+\/\S+ will:$/.test(l));
        const createdAt = lines.findIndex((l) => l.startsWith("creating '"));
        assert.ok(planAt >= 0 && createdAt > planAt, lines.join("\n"));
        assert.ok(
            lines.some((l) => /^ {2}3\. disconnect every session from/.test(l)),
            lines.join("\n"),
        );
        assert.ok(!lines.join("\n").includes(password));
        assert.ok(await databaseExists(url, result.previous));
        const previous = await withClient(
            urlForDatabase(url, result.previous),
            async (c) => (await c.query("SELECT count(*)::int AS n FROM extra")).rows[0].n,
        );
        assert.equal(previous, 0);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_restore_%`), []);
    });

    it("ends the sessions still connected to the target before the swap", async () => {
        const url = await freshDatabase();
        await seed(url);
        const record = await takeDump(url, { dir: tempDir(), stack: "dev", beforeVersion: "", schemaVersion: "7", env });
        await withClient(url, (c) => c.query("DELETE FROM users"));
        const app = new Client({ connectionString: url });
        const ended = new Promise<void>((resolve) => app.on("error", () => resolve()));
        await app.connect();
        await app.query("SELECT 1");
        const lines: string[] = [];
        await restoreDump(url, record, () => true, { env, progress: (l) => lines.push(l) });
        await ended;
        assert.ok(
            lines.some((l) => /^ended 1 session\(s\) on '/.test(l)),
            lines.join("\n"),
        );
        assert.equal((await snapshotOf(url)).tables["public.users"].rows, 1000);
        await app.end().catch(() => undefined);
    });

    it("refuses without confirmation and changes nothing", async () => {
        const url = await freshDatabase();
        await seed(url);
        const record = await takeDump(url, { dir: tempDir(), stack: "dev", beforeVersion: "", schemaVersion: "7", env });
        await withClient(url, (c) => c.query("CREATE TABLE after_backup (id int)"));
        const state = await snapshotOf(url);
        await assert.rejects(
            restoreDump(url, record, () => false, { env }),
            (err: Error) => err instanceof RestoreError && /not confirmed; nothing was changed/.test(err.message),
        );
        assert.deepEqual(await snapshotOf(url), state);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
    });

    it("never leaves the target half-restored: a restore failing midway drops the scratch database and leaves the target as it was", async () => {
        const url = await freshDatabase();
        await seed(url);
        const record = await takeDump(url, { dir: tempDir(), stack: "dev", beforeVersion: "", schemaVersion: "7", env });
        await withClient(url, (c) => c.query("CREATE TABLE after_backup (id int); INSERT INTO after_backup VALUES (1)"));
        const state = await snapshotOf(url);
        // Cut the file after its table of contents: pg_restore --list still reads it, the restore fails in the data.
        const full = fs.readFileSync(record.location);
        fs.writeFileSync(record.location, full.subarray(0, Math.floor(full.length * 0.6)));
        const truncated = { ...record, sha256: undefined };
        const lines: string[] = [];
        await assert.rejects(
            restoreDump(url, truncated, () => true, { env, progress: (l) => lines.push(l) }),
            (err: Error) => err.name === "RestoreError" && /pg_restore 15\.\d+ failed/.test(err.message),
        );
        assert.deepEqual(await snapshotOf(url), state);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
        assert.ok(
            lines.some((l) => /dropping '.*_keel_restore_.*'; '.*' was not changed/.test(l)),
            lines.join("\n"),
        );

        // A file that differs from its recorded sha256 never replaces the target either.
        await assert.rejects(
            restoreDump(url, record, () => true, { env }),
            /has sha256 [0-9a-f]{64}, but [0-9a-f]{64} was recorded .*the file changed or is damaged\. '.*' was not changed/,
        );
        assert.deepEqual(await snapshotOf(url), state);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
        // Also when the file itself restores fine.
        const intact = await takeDump(url, { dir: tempDir(), stack: "dev", beforeVersion: "", schemaVersion: "7", env });
        await withClient(url, (c) => c.query("INSERT INTO after_backup VALUES (2)"));
        const now = await snapshotOf(url);
        await assert.rejects(
            restoreDump(url, { ...intact, sha256: "0".repeat(64) }, () => true, { env }),
            /has sha256 [0-9a-f]{64}, but 0{64} was recorded/,
        );
        assert.deepEqual(await snapshotOf(url), now);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
    });

    it("refuses a copy that does not match the backup's record, before the swap", async () => {
        const url = await freshDatabase();
        await seed(url);
        const record = await takeDump(url, { dir: tempDir(), stack: "dev", beforeVersion: "", schemaVersion: "7", env });
        const state = await snapshotOf(url);
        const lying = { ...record, rowCounts: { ...record.rowCounts!, "public.users": 999 } };
        await assert.rejects(
            restoreDump(url, lying, () => true, { env }),
            /does not match the backup's record:\n {2}- table public\.users: 1000 rows, the backup recorded 999/,
        );
        assert.deepEqual(await snapshotOf(url), state);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
    });

    it("drill: passes on a faithful copy and cleans up", async () => {
        const url = await freshDatabase();
        await seed(url);
        const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("keel-drill-"));
        const report = await drill(url, { stack: "dev", env });
        assert.equal(report.passed, true, report.findings.join("\n"));
        assert.equal(report.fingerprint.source, report.fingerprint.copy);
        assert.equal(report.backup.schemaVersion, "7");
        const users = report.tables.find((t) => t.table === "public.users")!;
        assert.deepEqual([users.sourceRows, users.copyRows, users.matches], [1000, 1000, true]);
        assert.match(users.sourceChecksum, /^1000:\d+$/);
        assert.ok(report.tables.some((t) => t.table === "audit.log"));
        assert.match(formatDrillReport(report)[0], /^drill PASSED/);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
        assert.deepEqual(
            fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("keel-drill-")),
            before,
        );
    });

    it("drill: reports a failure when the copy differs (one corrupted row), and cleans up", async () => {
        const url = await freshDatabase();
        await seed(url);
        const report = await drill(url, {
            stack: "dev",
            env,
            afterRestore: (copyUrl) =>
                withClient(copyUrl, (c) => c.query("UPDATE users SET email = 'corrupt@example.com' WHERE id = 500")).then(() => undefined),
        });
        assert.equal(report.passed, false);
        const users = report.tables.find((t) => t.table === "public.users")!;
        assert.equal(users.matches, false);
        assert.equal(users.copyRows, 1000);
        assert.notEqual(users.sourceChecksum, users.copyChecksum);
        assert.deepEqual(report.findings, ["table public.users: same 1000 rows, but the data checksum differs"]);
        assert.ok(report.tables.filter((t) => t.table !== "public.users").every((t) => t.matches));
        assert.match(formatDrillReport(report).join("\n"), /^drill FAILED[\s\S]*FAIL public\.users: 1000 \/ 1000 rows, checksum/);
        assert.deepEqual(await databasesLike(url, `${dbName(url)}_keel_%`), []);
    });

    it("compareDatabases (the Neon drill's compare): equal databases pass, one changed row fails", async () => {
        const a = await freshDatabase();
        const b = await freshDatabase();
        for (const url of [a, b]) {
            await seed(url);
            await withClient(url, (c) => c.query("UPDATE keel_schema_history SET applied_at = '2026-01-01'"));
        }
        const same = await compareDatabases(a, b);
        assert.equal(same.passed, true, same.findings.join("\n"));
        await withClient(b, (c) => c.query("UPDATE audit.log SET what = 'tampered'"));
        const differs = await compareDatabases(a, b);
        assert.equal(differs.passed, false);
        assert.deepEqual(differs.findings, ["table audit.log: same 1 rows, but the data checksum differs"]);
    });
});
