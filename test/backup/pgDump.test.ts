import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    BackupError,
    findPgTools,
    libpqEnv,
    listDumps,
    pruneDumps,
    sha256File,
    takeDump,
    verifyDump,
} from "../../components/backup/pgDump";
import { withClient } from "../support/migrationsDir";
import { fakePgBin, REAL_PG_BIN } from "../support/pgBin";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

const REAL_BIN = REAL_PG_BIN;

const mode = (p: string) => fs.statSync(p).mode & 0o777;

async function seed(url: string): Promise<void> {
    await withClient(url, (c) =>
        c.query(`
            CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, note text);
            INSERT INTO users (email, note) SELECT 'u' || g || '@example.com', repeat('x', g) FROM generate_series(1, 500) g;
            CREATE TABLE keel_schema_history (version bigint PRIMARY KEY, name text, checksum text, status text, applied_at timestamptz DEFAULT now(), execution_ms int DEFAULT 0, applied_by text);
            INSERT INTO keel_schema_history (version, name, checksum, status, applied_by) VALUES (1, 'users', 'x', 'applied', 't');
        `),
    );
}

describe("pg_dump backups", () => {
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    it("finds tools at least as new as the server, and names both versions when they are older", () => {
        const tools = findPgTools("15.4", 15, { PATH: "", KEEL_PG_BIN: REAL_BIN });
        assert.equal(tools.major, 15);
        assert.equal(tools.pgDump, path.join(REAL_BIN, "pg_dump"));
        assert.throws(
            () => findPgTools("16.4", 16, { PATH: "", KEEL_PG_BIN: REAL_BIN }),
            (err: Error) =>
                err.name === "BackupError" &&
                /pg_dump 15\.\d+ \(.*pg_dump\) is older than the server, PostgreSQL 16\.4/.test(err.message) &&
                /postgresql-client-16/.test(err.message) &&
                /KEEL_PG_BIN/.test(err.message),
        );
        assert.throws(() => findPgTools("15.4", 15, { PATH: "", KEEL_PG_BIN: tempDir() }), /pg_dump not found in KEEL_PG_BIN/);
    });

    it("passes the connection through PG* variables, never argv, and drops stray PG* settings", () => {
        const env = libpqEnv("postgres://app:p%40ss@db.example.com:6543/shop?sslmode=require&options=-c%20search_path%3Dapp", {
            PGSERVICE: "x",
            HOME: "/h",
        });
        assert.equal(env.PGHOST, "db.example.com");
        assert.equal(env.PGPORT, "6543");
        assert.equal(env.PGUSER, "app");
        assert.equal(env.PGPASSWORD, "p@ss");
        assert.equal(env.PGDATABASE, "shop");
        assert.equal(env.PGSSLMODE, "require");
        assert.equal(env.PGOPTIONS, "-c search_path=app");
        assert.equal(env.PGSERVICE, undefined);
        assert.equal(env.HOME, "/h");
    });

    it("dumps into <dir>/<stack>/<time>_before_<version>.dump, owner-only, verified, with a sidecar record and progress lines", async () => {
        const url = await freshDatabase();
        await seed(url);
        await withClient(url, (c) =>
            c.query(`CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat('y', 2000) AS payload FROM generate_series(1, 20000) g`),
        );
        const dir = path.join(tempDir(), "backups");
        const lines: string[] = [];
        const now = new Date("2026-11-21T06:22:48.123Z");
        const record = await takeDump(url, {
            dir,
            stack: "staging",
            beforeVersion: "2",
            schemaVersion: "1",
            progress: (m) => lines.push(m),
            progressIntervalMs: 5,
            now,
            env: { ...process.env, KEEL_PG_BIN: REAL_BIN },
        });
        assert.equal(record.id, "20261121T062248123Z_before_2.dump");
        assert.equal(record.kind, "pg_dump");
        assert.equal(record.stack, "staging");
        assert.equal(record.takenAt, now.toISOString());
        assert.equal(record.schemaVersion, "1");
        assert.equal(record.beforeVersion, "2");
        assert.equal(record.location, path.join(dir, "staging", record.id));
        assert.equal(record.sizeBytes, fs.statSync(record.location).size);
        assert.equal(record.sha256, await sha256File(record.location));
        assert.match(record.fingerprint!, /^[0-9a-f]{64}$/);
        assert.deepEqual(record.rowCounts, { "public.big": 20000, "public.keel_schema_history": 1, "public.users": 500 });
        assert.match(record.verified!, /^pg_restore --list: \d+ entries$/);
        assert.equal(mode(path.join(dir, "staging")), 0o700);
        assert.equal(mode(dir), 0o700);
        assert.equal(mode(record.location), 0o600);
        assert.equal(mode(`${record.location}.json`), 0o600);
        assert.deepEqual(fs.readdirSync(path.join(dir, "staging")).sort(), [record.id, `${record.id}.json`]);
        assert.deepEqual(JSON.parse(fs.readFileSync(`${record.location}.json`, "utf8")), record);
        assert.deepEqual(listDumps(dir, "staging"), [record]);

        assert.ok(
            lines.some((l) => /^pg_dump: [\d.]+ (B|KB|MB) written, [\d.]+s elapsed$/.test(l)),
            lines.join("\n"),
        );
        assert.ok(
            lines.some((l) => /^backup 20261121T062248123Z_before_2\.dump: .* sha256 [0-9a-f]{12}…, verified/.test(l)),
            lines.join("\n"),
        );
        const text = lines.join("\n") + JSON.stringify(record);
        assert.ok(!text.includes(password), "no password in progress lines or the record");
        assert.ok(!text.includes("keel:"), "no credentials in progress lines or the record");
    });

    it("fails with pg_dump's message and leaves no file when pg_dump fails", async () => {
        const url = await freshDatabase();
        await seed(url);
        const dir = tempDir();
        const bin = fakePgBin(
            `case "$1" in --version) echo "pg_dump (PostgreSQL) 17.2";; *) echo "pg_dump: error: disk on fire" >&2; exit 1;; esac`,
        );
        await assert.rejects(
            takeDump(url, { dir, stack: "prod", beforeVersion: "3", schemaVersion: "2", env: { ...process.env, KEEL_PG_BIN: bin } }),
            (err: Error) =>
                err instanceof BackupError &&
                /pg_dump 17\.2 .* failed with exit code 1 .*server PostgreSQL 15\.\d+\):\npg_dump: error: disk on fire/s.test(
                    err.message,
                ) &&
                !err.message.includes(password),
        );
        assert.deepEqual(fs.readdirSync(path.join(dir, "prod")), []);
    });

    it("refuses a pg_dump older than the server, naming both versions", async () => {
        const url = await freshDatabase();
        const dir = tempDir();
        const bin = fakePgBin(`echo "pg_dump (PostgreSQL) 12.9"`);
        await assert.rejects(
            takeDump(url, { dir, stack: "prod", beforeVersion: "1", schemaVersion: "", env: { ...process.env, KEEL_PG_BIN: bin } }),
            (err: Error) => /pg_dump 12\.9 \(.*\) is older than the server, PostgreSQL 15\.\d+/.test(err.message),
        );
    });

    it("retention removes only the oldest dumps of that stack, sidecars included", async () => {
        const url = await freshDatabase();
        await seed(url);
        const dir = tempDir();
        const env = { ...process.env, KEEL_PG_BIN: REAL_BIN };
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
            const r = await takeDump(url, {
                dir,
                stack: "prod",
                beforeVersion: String(i + 2),
                schemaVersion: String(i + 1),
                now: new Date(Date.UTC(2026, 0, 1 + i)),
                env,
            });
            ids.push(r.id);
        }
        const other = await takeDump(url, {
            dir,
            stack: "staging",
            beforeVersion: "2",
            schemaVersion: "1",
            now: new Date(Date.UTC(2025, 0, 1)),
            env,
        });
        fs.writeFileSync(path.join(dir, "prod", "notes.txt"), "mine");
        fs.writeFileSync(path.join(dir, "prod", "hand-made.dump"), "mine");

        assert.deepEqual(pruneDumps(dir, "prod", 2), [ids[1], ids[0]]);
        assert.deepEqual(
            listDumps(dir, "prod").map((r) => r.id),
            [ids[3], ids[2]],
        );
        assert.deepEqual(
            fs.readdirSync(path.join(dir, "prod")).sort(),
            [ids[2], `${ids[2]}.json`, ids[3], `${ids[3]}.json`, "hand-made.dump", "notes.txt"].sort(),
        );
        assert.deepEqual(
            listDumps(dir, "staging").map((r) => r.id),
            [other.id],
        );
        assert.deepEqual(pruneDumps(dir, "prod", 2), []);

        // What a killed run left: removed once it is a day old, never while it may be in progress.
        const partial = path.join(dir, "prod", ".20260105T000000000Z_before_9.dump.partial");
        fs.writeFileSync(partial, "half");
        assert.deepEqual(pruneDumps(dir, "prod", 2), []);
        assert.deepEqual(pruneDumps(dir, "prod", 2, Date.now() + 2 * 86_400_000), [path.basename(partial)]);
        assert.equal(fs.existsSync(partial), false);
    });

    it("lists a dump whose sidecar is gone from its name", async () => {
        const url = await freshDatabase();
        await seed(url);
        const dir = tempDir();
        const r = await takeDump(url, {
            dir,
            stack: "dev",
            beforeVersion: "",
            schemaVersion: "1",
            now: new Date("2026-03-04T05:06:07.089Z"),
            env: { ...process.env, KEEL_PG_BIN: REAL_BIN },
        });
        assert.equal(r.id, "20260304T050607089Z_before_manual.dump");
        fs.rmSync(`${r.location}.json`);
        const [listed] = listDumps(dir, "dev");
        assert.equal(listed.takenAt, "2026-03-04T05:06:07.089Z");
        assert.equal(listed.beforeVersion, "");
        assert.equal(listed.sizeBytes, r.sizeBytes);
    });

    it("verification rejects a file pg_restore cannot read", async () => {
        const file = path.join(tempDir(), "x.dump");
        fs.writeFileSync(file, "not a dump");
        await assert.rejects(verifyDump(file), /pg_restore --list cannot read .*x\.dump; the backup is unusable/);
    });
});
