/**
 * keel db backups|backup|restore|drill against a real PostgreSQL: the command line parsed by
 * keel's tree, then the façade (scripts/db.ts) with a temporary project root and stack files.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { takeNeonBackup } from "../../components/backup/neon";
import { listDumps, takeDump } from "../../components/backup/pgDump";
import { neonClient, waitForOperations } from "../../components/vendors/neon";
import { FakeNeon } from "../support/fakeNeon";
import { DEFAULT_ENGINE_SETTINGS, historyTableDdl } from "../../components/schema/runner";
import { CommanderError } from "@commander-js/extra-typings";
import { dbCommand, DbIo, DbVerb } from "../../scripts/db";
import { UsageError } from "../../scripts/lib/usageError";
import { parseVerb } from "../support/keel";
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

async function run(
    argv: string[],
    root: string,
    env: Record<string, string | undefined> = {},
    answer = false,
    compare?: (source: string, copy: string) => Promise<any>,
) {
    const lines: string[] = [];
    const asked: string[] = [];
    const io = {
        root,
        env: { PATH: process.env.PATH, KEEL_PG_BIN: REAL_PG_BIN, ...env },
        out: (l: string) => void lines.push(l),
        confirm: async (q: string) => (asked.push(q), answer),
        ...(compare ? { compare } : {}),
    };
    try {
        const code = await main(argv, io);
        return { code, lines, asked, error: undefined as Error | undefined };
    } catch (err) {
        return { code: 1, lines, asked, error: err as Error };
    }
}

/** `keel db <verb> …` as its verb runs it, with this io: 2 for a usage error, as the command line answers it. */
async function main([verb, ...argv]: string[], io: DbIo): Promise<number> {
    if (!["backups", "backup", "restore", "drill"].includes(verb)) return 2;
    try {
        const { options } = await parseVerb(["db", verb], argv);
        return await dbCommand(
            verb as DbVerb,
            { stack: options.stack, url: options.url, backup: options.backup, yes: options.yes === true, json: options.json === true },
            io,
        );
    } catch (err) {
        if (err instanceof CommanderError || err instanceof UsageError) return 2;
        throw err;
    }
}

async function seeded(): Promise<string> {
    const url = await freshDatabase();
    await withClient(url, (c) =>
        c.query("CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 300) g"),
    );
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
        assert.match(
            (await run(["backups", "--stack", "staging"], root)).lines[0],
            /^No backups of stack 'staging' in .*var\/backups\/staging\.$/,
        );
        const url = await seeded();
        const dir = path.join(root, "var", "backups");
        await takeDump(url, {
            dir,
            stack: "staging",
            beforeVersion: "3",
            schemaVersion: "2",
            now: new Date("2026-01-01T00:00:00Z"),
            env: { KEEL_PG_BIN: REAL_PG_BIN },
        });
        await takeDump(url, {
            dir,
            stack: "staging",
            beforeVersion: "4",
            schemaVersion: "3",
            now: new Date("2026-01-02T00:00:00Z"),
            env: { KEEL_PG_BIN: REAL_PG_BIN },
        });
        const { code, lines } = await run(["backups", "--stack", "staging"], root);
        assert.equal(code, 0);
        assert.match(lines[0], /^Backups of stack 'staging' in .* \(newest first; keeping 2\):$/);
        assert.match(
            lines[1],
            /^ {2}20260102T000000000Z_before_4\.dump {2}2026-01-02T00:00:00\.000Z {2}schema 3 {2}before 4 {2}[\d.]+ KB {2}sha256 [0-9a-f]{12}…$/,
        );
        assert.match(lines[2], /^ {2}20260101T000000000Z_before_3\.dump .* schema 2 /);
    });

    it("restore and drill use the stack's own database (its output), else say what is missing and that --url works", async () => {
        const root = project({ staging: STAGING, dev: "config: {}\n" });
        const r = await run(["drill", "--stack", "staging"], root);
        assert.match(
            r.error!.message,
            /^The staging stack does not exist yet in file:\/\/\S+: run 'npm run up -- staging' first: .*; or pass --url <postgres-url> for another database\.$/,
        );
        // Without --stack: dev, which was never deployed in this project's backend.
        const d = await run(["restore", "--backup", "x"], root);
        assert.match(
            d.error!.message,
            /^The dev stack does not exist yet in file:\/\/\S+: run 'npm run up -- dev' first: .*; or pass --url/,
        );
        assert.equal(fs.existsSync(path.join(root, ".pulumi-state")), false, "reading creates no state directory");
        assert.equal((await run(["restore", "--stack", "dev"], root)).code, 2);
        assert.equal((await run(["wipe", "--stack", "dev"], root)).code, 2);
    });

    it("db:backup takes a pg_dump backup now with its record, applies the stack's retention, and db:backups lists it", async () => {
        const root = project({ staging: STAGING });
        const url = await seeded();
        await withClient(url, (c) =>
            c.query(`${historyTableDdl(DEFAULT_ENGINE_SETTINGS)}; INSERT INTO keel_schema_history (version, name, checksum, status, applied_by)
                     VALUES (7, 'seven', 'x', 'applied', 'test')`),
        );
        const dir = path.join(root, "var", "backups");
        const taken: string[] = [];
        for (let i = 0; i < 3; i++) {
            const r = await run(["backup", "--stack", "staging", "--url", url], root);
            assert.equal(r.error, undefined, r.error?.message);
            assert.equal(r.code, 0);
            const text = r.lines.join("\n");
            assert.match(r.lines[0], /^backup of stack 'staging' \(127\.0\.0\.1:\d+\/\S+, schema version 7\)$/);
            // The same progress lines and record as the backup pulumi up takes before migrating.
            assert.match(
                text,
                /^backup of 127\.0\.0\.1:\d+\/\S+ with pg_dump [\d.]+ \(server [\d.]+\) into .*var\/backups\/staging\/\d{8}T\d{9}Z_before_manual\.dump$/m,
            );
            assert.match(
                text,
                /^backup \d{8}T\d{9}Z_before_manual\.dump: [\d.]+ KB in [\d.]+s, sha256 [0-9a-f]{12}…, verified \(\d+ entries\)$/m,
            );
            assert.ok(!text.includes(password));
            const id = /^Backup (\S+) taken; npm run db:backups -- --stack staging lists it\.$/.exec(r.lines[r.lines.length - 1])?.[1];
            assert.ok(id, r.lines[r.lines.length - 1]);
            taken.push(id);
            if (i === 2) assert.match(text, new RegExp(`^retention \\(keep 2\\): removed ${taken[0].replace(/\./g, "\\.")}$`, "m"));
        }
        const records = listDumps(dir, "staging");
        assert.deepEqual(
            records.map((r) => r.id),
            [taken[2], taken[1]],
        );
        assert.equal(records[0].schemaVersion, "7");
        assert.equal(records[0].beforeVersion, "");
        assert.deepEqual(records[0].rowCounts, { "public.keel_schema_history": 1, "public.t": 300 });
        assert.equal((fs.statSync(records[0].location).mode & 0o777).toString(8), "600");
        const listed = await run(["backups", "--stack", "staging"], root);
        assert.match(listed.lines[1], new RegExp(`^ {2}${taken[2]} .* schema 7 {2}before - `));
        // --json: one document, the records as the list shows them, nothing else on stdout.
        const json = await run(["backups", "--stack", "staging", "--json"], root);
        assert.equal(json.code, 0);
        assert.equal(json.lines.length, 1);
        const doc = JSON.parse(json.lines[0]);
        assert.equal(doc.stack, "staging");
        assert.equal(doc.kind, "external");
        assert.deepEqual(
            doc.backups.map((r: { id: string; schemaVersion: string }) => [r.id, r.schemaVersion]),
            [
                [taken[2], "7"],
                [taken[1], "7"],
            ],
        );
    });

    describe("Neon stacks (fake Neon API): snapshot branches through the Neon backup module", () => {
        let fake: FakeNeon;
        before(async () => {
            fake = await FakeNeon.start({ operationPolls: 0 });
        });
        after(() => fake.stop());

        const STAGING_NEON = `config:
  keel:database:
    kind: neon
    neon:
      project:
        name: shop
      branch:
        name: staging
        parent: main
`;

        async function setup() {
            fake.reset();
            const p = fake.seedProject("shop", { branchName: "main", roleName: "app", databaseName: "app" });
            const api = neonClient({ apiKey: fake.apiKey, baseUrl: fake.url, policy: { baseDelayMs: 10 } });
            const main = fake.branch(p.id, "main")!;
            const { data } = await api.createProjectBranch(p.id, {
                branch: { parent_id: main.id, name: "staging" },
                endpoints: [{ type: "read_write" as never }],
            });
            await waitForOperations(api, p.id, data.operations);
            const target = {
                api,
                projectId: p.id,
                branchId: data.branch.id,
                branchName: "staging",
                stack: "staging",
                wait: { pollMs: 10 },
            };
            return { root: project({ staging: STAGING_NEON }), target, env: { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url } };
        }

        it("needs NEON_API_KEY, lists snapshot backups with their LSN, restores only when confirmed", async () => {
            const { root, target, env } = await setup();
            // The key kept in the stack file is encrypted: the script asks for NEON_API_KEY.
            const withSecretKey = project({
                staging: STAGING_NEON.replace("config:\n", "config:\n  keel:neonApiKey:\n    secure: v1:AAAA\n"),
            });
            const noKey = await run(["backups", "--stack", "staging"], withSecretKey, { NEON_API_URL: fake.url });
            assert.match(
                noKey.error!.message,
                /on Neon and this command needs a Neon API key: export NEON_API_KEY=\.\.\. \(a keel:neonApiKey in the stack file is encrypted/,
            );

            assert.match(
                (await run(["backups", "--stack", "staging"], root, env)).lines[0],
                /^No backups of stack 'staging' \(branch 'staging'/,
            );
            const backup = await takeNeonBackup(target, { beforeVersion: "3", schemaVersion: "2", retentionDays: 7 });
            const listed = await run(["backups", "--stack", "staging"], root, env);
            assert.equal(listed.error, undefined, listed.error?.message);
            assert.match(listed.lines[1], new RegExp(`^ {2}${backup.id} .* schema 2 {2}before 3 {2}LSN [0-9A-F]+/[0-9A-F]+ {2}expires `));

            const refused = await run(["restore", "--stack", "staging", "--backup", backup.id], root, env);
            assert.match(refused.error!.message, /not confirmed; nothing was changed/);
            assert.match(refused.lines.join("\n"), /^restore of branch 'staging' .* will:/);
            const done = await run(["restore", "--stack", "staging", "--backup", backup.id, "--yes"], root, env);
            assert.equal(done.error, undefined, done.error?.message);
            assert.match(done.lines[done.lines.length - 1], /^Restored\. The state before the restore is kept as '.*'\. To undo: /);
        });

        it("db:backup takes a snapshot branch now, with the branch's schema version and the stack's expiry; db:backups lists it", async () => {
            const { root, env } = await setup();
            const read: string[] = [];
            const lines: string[] = [];
            const code = await main(["backup", "--stack", "staging"], {
                root,
                env,
                out: (l) => void lines.push(l),
                confirm: async () => false,
                schemaVersionAt: async (uri, schema) => (read.push(`${new URL(uri).hostname} ${schema}`), "4"),
            });
            assert.equal(code, 0, lines.join("\n"));
            assert.equal(read.length, 1);
            assert.doesNotMatch(read[0], /-pooler/, "a direct connection");
            assert.match(lines[0], /^backup of stack 'staging' \(branch 'staging' .*, schema version 4\)$/);
            assert.match(
                lines.join("\n"),
                /creating backup branch 'backup-staging-\d{8}-\d{6}-manual' from 'staging' at its current LSN, expiring /,
            );
            const listed = await run(["backups", "--stack", "staging"], root, env);
            assert.match(listed.lines[1], /^ {2}br-\S+ .* schema 4 {2}before - {2}LSN [0-9A-F]+\/[0-9A-F]+ {2}expires /);
            const expires = Date.parse(/expires (\S+)/.exec(listed.lines[1])![1]);
            assert.ok(Math.abs(expires - Date.now() - 7 * 86_400_000) < 86_400_000, "keel:migrations.backupRetentionDays (7)");
        });

        it("drills through a scratch branch and prints the report", async () => {
            const { root, env } = await setup();
            const seen: string[][] = [];
            const r = await run(["drill", "--stack", "staging"], root, env, false, async (source, copy) => {
                seen.push([source, copy]);
                return {
                    passed: false,
                    fingerprint: { source: "a", copy: "a" },
                    tables: [{ table: "public.t", sourceRows: 2, copyRows: 1, sourceChecksum: "x", copyChecksum: "y", matches: false }],
                    findings: ["table public.t: 2 rows in the source, 1 in the copy"],
                };
            });
            // The fresh backup's part reports its failure; the newest-snapshot part (test/scripts/dbDrill.test.ts) finds none here.
            assert.match(r.error!.message, /has no snapshot branch to restore/);
            assert.equal(r.code, 1);
            assert.equal(seen.length, 1);
            assert.match(r.lines.join("\n"), /^drill FAILED[\s\S]*FAIL public\.t: 2 \/ 1 rows/m);
        });
    });

    it("restore prints the plan, refuses without confirmation, and restores with --yes", async () => {
        const root = project({ staging: STAGING });
        const url = await seeded();
        const dir = path.join(root, "var", "backups");
        const record = await takeDump(url, {
            dir,
            stack: "staging",
            beforeVersion: "2",
            schemaVersion: "1",
            env: { KEEL_PG_BIN: REAL_PG_BIN },
        });
        await withClient(url, (c) => c.query("DELETE FROM t WHERE id > 100"));

        const refused = await run(["restore", "--stack", "staging", "--backup", record.id, "--url", url], root);
        assert.deepEqual(refused.asked, ["Go ahead? [y/N] "]);
        assert.match(refused.error!.message, /not confirmed; nothing was changed/);
        assert.match(
            refused.lines.join("\n"),
            /^restore of .*_before_2\.dump \(schema version 1, taken .*\) into 127\.0\.0\.1:\d+\/\S+ will:\n {2}1\. create the database/,
        );
        assert.equal(await count(url), 100);

        // A unique prefix of the id is enough.
        const done = await run(["restore", "--stack", "staging", "--backup", record.id.slice(0, 12), "--yes", "--url", url], root);
        assert.equal(done.error, undefined, done.error?.message);
        assert.equal(done.code, 0);
        assert.deepEqual(done.asked, []);
        assert.match(
            done.lines[done.lines.length - 1],
            /^Restored .*_before_2\.dump into 127\.0\.0\.1:\d+\/\S+ \(schema fingerprint .* matches; 1 tables, 300 rows, counts match\)\. The previous database is kept as '.*_keel_before_restore_.*'\.$/,
        );
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
