/**
 * db:backups, db:restore and db:drill against a real PostgreSQL, through the
 * script's main() with a temporary project root and stack files.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { listDumps, takeDump } from "../../components/backup/pgDump";
import { main } from "../../scripts/db";
import { withClient } from "../support/migrationsDir";
import { REAL_PG_BIN } from "../support/pgBin";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

function project(stackFiles: Record<string, string>): string {
    const root = tempDir("keel-db-cli-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
    for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
    return root;
}

const STAGING = `config:
  keel:databaseUrl:
    secure: v1:AAAA
  keel:migrations:
    backupDir: var/backups
    keepBackups: 2
`;

async function run(argv: string[], root: string, env: Record<string, string | undefined> = {}, answer = false) {
    const lines: string[] = [];
    const asked: string[] = [];
    const io = {
        root,
        env: { PATH: process.env.PATH, KEEL_PG_BIN: REAL_PG_BIN, ...env },
        out: (l: string) => void lines.push(l),
        confirm: async (q: string) => (asked.push(q), answer),
    };
    try {
        const code = await main(argv, io);
        return { code, lines, asked, error: undefined as Error | undefined };
    } catch (err) {
        return { code: 1, lines, asked, error: err as Error };
    }
}

async function seeded(): Promise<string> {
    const url = await freshDatabase();
    await withClient(url, (c) => c.query("CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 300) g"));
    return url;
}

const count = (url: string) => withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM t")).rows[0].n);

describe("db:backups, db:restore, db:drill", () => {
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    it("lists the stack's backups newest first with time, schema version and size", async () => {
        const root = project({ staging: STAGING });
        assert.match((await run(["backups", "--stack", "staging"], root)).lines[0], /^No backups of stack 'staging' in .*var\/backups\/staging\.$/);
        const url = await seeded();
        const dir = path.join(root, "var", "backups");
        await takeDump(url, { dir, stack: "staging", beforeVersion: "3", schemaVersion: "2", now: new Date("2026-01-01T00:00:00Z"), env: { KEEL_PG_BIN: REAL_PG_BIN } });
        await takeDump(url, { dir, stack: "staging", beforeVersion: "4", schemaVersion: "3", now: new Date("2026-01-02T00:00:00Z"), env: { KEEL_PG_BIN: REAL_PG_BIN } });
        const { code, lines } = await run(["backups", "--stack", "staging"], root);
        assert.equal(code, 0);
        assert.match(lines[0], /^Backups of stack 'staging' in .* \(newest first; keeping 2\):$/);
        assert.match(lines[1], /^ {2}20260102T000000000Z_before_4\.dump {2}2026-01-02T00:00:00\.000Z {2}schema 3 {2}before 4 {2}[\d.]+ KB {2}sha256 [0-9a-f]{12}…$/);
        assert.match(lines[2], /^ {2}20260101T000000000Z_before_3\.dump .* schema 2 /);
    });

    it("needs a URL for restore and drill, and says why the stack file's is unusable", async () => {
        const root = project({ staging: STAGING, dev: "config: {}\n" });
        const r = await run(["drill", "--stack", "staging"], root);
        assert.match(r.error!.message, /db:drill needs the database's direct URL: stack 'staging' keeps keel:databaseUrl as a secret, encrypted in Pulumi\.staging\.yaml.*--url or export DATABASE_URL[\s\S]*pulumi stack output databaseUrl --show-secrets --stack staging/);
        const d = await run(["restore", "--stack", "dev", "--backup", "x"], root);
        assert.match(d.error!.message, /runs its database in Docker with a generated password/);
        assert.equal((await run(["restore", "--stack", "dev"], root)).code, 2);
        assert.equal((await run(["wipe", "--stack", "dev"], root)).code, 2);
    });

    it("says that Neon stacks are the Neon module's business", async () => {
        const root = project({ prod: "config:\n  keel:database:\n    kind: neon\n" });
        const r = await run(["backups", "--stack", "prod"], root, { NEON_API_KEY: "napi_x" });
        assert.equal(r.code, 2);
        assert.match(r.lines.join("\n"), /on Neon: its backups are snapshot branches, handled by the Neon backup module/);
    });

    it("restore prints the plan, refuses without confirmation, and restores with --yes", async () => {
        const root = project({ staging: STAGING });
        const url = await seeded();
        const dir = path.join(root, "var", "backups");
        const record = await takeDump(url, { dir, stack: "staging", beforeVersion: "2", schemaVersion: "1", env: { KEEL_PG_BIN: REAL_PG_BIN } });
        await withClient(url, (c) => c.query("DELETE FROM t WHERE id > 100"));

        const refused = await run(["restore", "--stack", "staging", "--backup", record.id, "--url", url], root);
        assert.deepEqual(refused.asked, ["Go ahead? [y/N] "]);
        assert.match(refused.error!.message, /not confirmed; nothing was changed/);
        assert.match(refused.lines.join("\n"), /^restore of .*_before_2\.dump \(schema version 1, taken .*\) into 127\.0\.0\.1:\d+\/\S+ will:\n {2}1\. create the database/);
        assert.equal(await count(url), 100);

        // A unique prefix of the id is enough; DATABASE_URL works as well as --url.
        const done = await run(["restore", "--stack", "staging", "--backup", record.id.slice(0, 12), "--yes"], root, { DATABASE_URL: url });
        assert.equal(done.error, undefined, done.error?.message);
        assert.equal(done.code, 0);
        assert.deepEqual(done.asked, []);
        assert.match(done.lines[done.lines.length - 1], /^Restored .*_before_2\.dump into 127\.0\.0\.1:\d+\/\S+ \(schema fingerprint .* matches; 1 tables, 300 rows, counts match\)\. The previous database is kept as '.*_keel_before_restore_.*'\.$/);
        assert.equal(await count(url), 300);
        assert.ok(!done.lines.join("\n").includes(password));
        assert.equal(listDumps(dir, "staging").length, 1);
    });

    it("drill prints a pass/fail report and exits 0 on a pass", async () => {
        const root = project({ staging: STAGING });
        const url = await seeded();
        const { code, lines, error } = await run(["drill", "--stack", "staging", "--url", url], root);
        assert.equal(error, undefined, error?.message);
        assert.equal(code, 0);
        const text = lines.join("\n");
        assert.match(text, /^drill PASSED \(backup .*_before_manual\.dump/m);
        assert.match(text, /^ {2}ok {3}public\.t: 300 \/ 300 rows$/m);
        assert.ok(!text.includes(password));
        // The drill's dump is temporary: nothing lands in the stack's backups.
        assert.equal(fs.existsSync(path.join(root, "var", "backups", "staging")), false);
    });
});
