/**
 * keel db drill, complete (issue 22, section 3): each part timed, printed as its drill line and
 * recorded beside the state (a DrillRecord, passed or failed; a record that cannot be kept never
 * fails the drill); a prod-stage stack asked first unless --yes; on Neon, besides the fresh
 * backup, the newest snapshot branch restored into a scratch branch, checked and removed. Against
 * the local PostgreSQL test cluster and the Neon fake (its branches' URIs mapped onto databases of
 * the test cluster, so the check reads real tables).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CommanderError } from "@commander-js/extra-typings";
import { takeNeonBackup } from "../../components/backup/neon";
import { checkSnapshot, newestSnapshot } from "../../components/backup/neonSnapshotDrill";
import type { BackupRecord } from "../../components/backup/types";
import { parseDrillLines } from "../../components/operations/drillLine";
import type { DrillRecord } from "../../components/records/record";
import { DEFAULT_ENGINE_SETTINGS, historyTableDdl } from "../../components/schema/runner";
import { neonClient, waitForOperations } from "../../components/vendors/neon";
import { dbCommand, DbIo, inspectDatabase } from "../../scripts/db";
import { recordLog } from "../../scripts/lib/records";
import { UsageError } from "../../scripts/lib/usageError";
import { FakeNeon } from "../support/fakeNeon";
import { parseVerb } from "../support/keel";
import { withClient } from "../support/migrationsDir";
import { REAL_PG_BIN } from "../support/pgBin";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

function project(stackFiles: Record<string, string>): string {
    const root = tempDir("keel-db-drill-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
    for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
    return root;
}

const EXTERNAL = `config:
  keel:databaseUrl:
    secure: v1:AAAA
`;

/** `keel db drill <argv>` as the verb runs it (the command line parsed by keel's tree), with this io. */
async function drill(
    argv: string[],
    root: string,
    extra: Partial<DbIo> & { env?: Record<string, string | undefined> } = {},
    answer = false,
) {
    const lines: string[] = [];
    const asked: string[] = [];
    let t = 0;
    const io: DbIo = {
        root,
        out: (l) => void lines.push(l),
        confirm: async (q) => (asked.push(q), answer),
        now: () => (t += 250),
        ...extra,
        env: { PATH: process.env.PATH, KEEL_PG_BIN: REAL_PG_BIN, ...extra.env },
    };
    try {
        const { options } = await parseVerb(["db", "drill"], argv);
        const code = await dbCommand("drill", { stack: options.stack, url: options.url, yes: options.yes === true }, io);
        return { code, lines, asked, error: undefined as Error | undefined };
    } catch (err) {
        if (err instanceof CommanderError || err instanceof UsageError) return { code: 2, lines, asked, error: err as Error };
        return { code: 1, lines, asked, error: err as Error };
    }
}

const drillRecords = async (root: string, stack: string, env: Record<string, string | undefined> = {}) =>
    (await recordLog(root, stack, env).list()).filter((r): r is DrillRecord => r.kind === "drill");

async function seeded(rows: number, schemaVersion?: string): Promise<string> {
    const url = await freshDatabase();
    await withClient(url, async (c) => {
        await c.query(
            `CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, ${rows}) g`,
        );
        if (schemaVersion)
            await c.query(`${historyTableDdl(DEFAULT_ENGINE_SETTINGS)}; INSERT INTO keel_schema_history (version, name, checksum, status, applied_by)
                           VALUES (${Number(schemaVersion)}, 'v', 'x', 'applied', 'test')`);
    });
    return url;
}

describe("db:drill: timed, recorded, and on Neon the newest snapshot too", () => {
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    describe("pg_dump stacks (the local PostgreSQL test cluster)", () => {
        it("a passing drill prints its line and records a succeeded restore drill with its duration", async () => {
            const root = project({ staging: EXTERNAL });
            const url = await seeded(300);
            const r = await drill(["--stack", "staging", "--url", url], root);
            assert.equal(r.error, undefined, r.error?.message);
            assert.equal(r.code, 0);
            assert.deepEqual(r.asked, [], "a staging stack is not asked about");
            const text = r.lines.join("\n");
            assert.match(text, /^drill PASSED /m);
            assert.match(text, /^drill restore of staging: succeeded in 0\.3 s$/m);
            assert.ok(!text.includes(password));
            const [record, ...more] = await drillRecords(root, "staging");
            assert.deepEqual(more, []);
            assert.deepEqual(
                { ...record, at: undefined },
                { kind: "drill", stack: "staging", at: undefined, drill: "restore", outcome: "succeeded", durationMs: 250 },
            );
            assert.ok(!Number.isNaN(Date.parse(record.at)));
        });

        it("a drill that fails still records (outcome, duration, the cause without the password), then fails the command", async () => {
            const root = project({ staging: EXTERNAL });
            // Nothing listens on port 1.
            const url = `postgresql://keel:hunter2-secret@127.0.0.1:1/app`;
            const r = await drill(["--stack", "staging", "--url", url], root);
            assert.equal(r.code, 1);
            assert.ok(r.error, "the command fails");
            const [record] = await drillRecords(root, "staging");
            assert.equal(record.outcome, "failed");
            assert.equal(record.drill, "restore");
            assert.equal(typeof record.durationMs, "number");
            assert.ok(record.cause, "the cause is recorded");
            assert.ok(!record.cause.includes("hunter2-secret"), record.cause);
            assert.match(r.lines.join("\n"), /^drill restore of staging: failed in 0\.3 s: /m);
        });

        it("a record that cannot be kept is said and never fails the drill", async () => {
            const root = project({ staging: EXTERNAL });
            const url = await seeded(10);
            const r = await drill(["--stack", "staging", "--url", url], root, { env: { PULUMI_BACKEND_URL: "https://api.pulumi.com" } });
            assert.equal(r.error, undefined, r.error?.message);
            assert.equal(r.code, 0);
            assert.match(r.lines.join("\n"), /the drill record of staging was not kept: Pulumi Cloud holds no objects of Keel's/);
        });

        it("asks first on a prod-stage stack (nothing done, nothing recorded when refused); --yes goes ahead", async () => {
            const root = project({ prod: EXTERNAL });
            const url = await seeded(10);
            const refused = await drill(["--stack", "prod", "--url", url], root);
            assert.equal(refused.asked.length, 1);
            assert.match(refused.asked[0], /^Drill on the prod-stage stack 'prod'\? It reads the whole production database/);
            assert.match(refused.error!.message, /not confirmed; nothing was done\. \(Pass --yes/);
            assert.deepEqual(await drillRecords(root, "prod"), []);
            const done = await drill(["--stack", "prod", "--url", url, "--yes"], root);
            assert.equal(done.error, undefined, done.error?.message);
            assert.equal(done.code, 0);
            assert.deepEqual(done.asked, []);
            assert.equal((await drillRecords(root, "prod")).length, 1);
        });
    });

    describe("Neon stacks (fake Neon API, branches' tables on the test cluster)", () => {
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
            const env = { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url };
            return { root: project({ staging: STAGING_NEON }), target, env };
        }

        /** The stack's branch reads `source`; every other branch (the restored snapshot) reads `copy`. */
        function mapped(target: { branchId: string }, source: string, copy: string) {
            const read: string[] = [];
            const inspect = (uri: string, schema: string) => {
                const host = new URL(uri).hostname;
                const own = fake.state.endpoints.find((e) => e.branch_id === target.branchId)?.host;
                read.push(host === own ? "source" : "copy");
                return inspectDatabase(host === own ? source : copy, schema);
            };
            return { inspect, read };
        }

        const passingCompare = async () => ({
            passed: true,
            fingerprint: { source: "a", copy: "a" },
            tables: [{ table: "public.t", sourceRows: 300, copyRows: 300, sourceChecksum: "x", copyChecksum: "x", matches: true }],
            findings: ["the copy matches"],
        });

        it("restores the newest snapshot into a scratch branch, checks its tables and rows, removes it; both parts recorded", async () => {
            const { root, target, env } = await setup();
            const older = await takeNeonBackup(target, {
                beforeVersion: "6",
                schemaVersion: "5",
                retentionDays: 0,
                now: new Date("2026-11-01T00:00:00Z"),
            });
            const snapshot = await takeNeonBackup(target, {
                beforeVersion: "8",
                schemaVersion: "7",
                retentionDays: 0,
                now: new Date("2026-12-01T00:00:00Z"),
            });
            assert.notEqual(older.id, snapshot.id);
            const { inspect, read } = mapped(target, await seeded(300, "7"), await seeded(100, "7"));
            const r = await drill(["--stack", "staging"], root, { env, compare: passingCompare, inspect });
            assert.equal(r.error, undefined, r.error?.message);
            assert.equal(r.code, 0, r.lines.join("\n"));
            const text = r.lines.join("\n");
            assert.match(text, new RegExp(`restoring the newest snapshot 'backup-staging-20261201-000000-before-8' \\(${snapshot.id}, `));
            assert.match(text, /^snapshot drill PASSED \(snapshot 'backup-staging-20261201-000000-before-8', /m);
            assert.match(text, /^ {2}ok {3}public\.t: 100 rows restored \(300 in the branch now\)$/m);
            assert.match(text, /^ {2}- the snapshot restores: 2 tables, 101 rows, schema version 7$/m);
            assert.deepEqual(read, ["copy", "source"]);
            assert.ok(!text.includes(password));
            assert.deepEqual(
                parseDrillLines(text).map((l) => [l.drill, l.outcome]),
                [
                    ["restore", "succeeded"],
                    ["snapshot", "succeeded"],
                ],
            );
            // The scratch branches are gone; the snapshots a recovery needs are kept.
            const names = fake.state.branches.map((b) => b.name);
            assert.deepEqual(
                names.filter((n) => n.startsWith("drill-")),
                [],
            );
            assert.ok(names.includes("backup-staging-20261201-000000-before-8"));
            assert.ok(names.includes("backup-staging-20261101-000000-before-6"));
            const records = await drillRecords(root, "staging");
            assert.deepEqual(
                records.map((x) => [x.drill, x.outcome, x.durationMs]),
                [
                    ["restore", "succeeded", 250],
                    ["snapshot", "succeeded", 250],
                ],
            );
        });

        it("no snapshot to restore: the snapshot part fails and records why, the restore part still ran and recorded", async () => {
            const { root, target, env } = await setup();
            const { inspect } = mapped(target, await seeded(1), await seeded(1));
            const r = await drill(["--stack", "staging"], root, { env, compare: passingCompare, inspect });
            assert.equal(r.code, 1);
            assert.match(
                r.error!.message,
                /^Stack 'staging' has no snapshot branch to restore \(backup-staging-…\): a recovery today would have none\./,
            );
            const records = await drillRecords(root, "staging");
            assert.deepEqual(
                records.map((x) => [x.drill, x.outcome]),
                [
                    ["restore", "succeeded"],
                    ["snapshot", "failed"],
                ],
            );
            assert.match(records[1].cause!, /has no snapshot branch to restore/);
        });

        it("a snapshot that restores without a table it had at the same schema version fails, recorded with the cause", async () => {
            const { root, target, env } = await setup();
            await takeNeonBackup(target, { beforeVersion: "8", schemaVersion: "7", retentionDays: 7 });
            const copy = await seeded(5, "7");
            await withClient(copy, (c) => c.query("DROP TABLE t"));
            const { inspect } = mapped(target, await seeded(300, "7"), copy);
            const r = await drill(["--stack", "staging"], root, { env, compare: passingCompare, inspect });
            assert.equal(r.error, undefined, r.error?.message);
            assert.equal(r.code, 1);
            assert.match(r.lines.join("\n"), /^snapshot drill FAILED /m);
            assert.match(r.lines.join("\n"), /^ {2}MISS public\.t: - rows restored \(300 in the branch now\)$/m);
            const failed = (await drillRecords(root, "staging")).find((x) => x.drill === "snapshot")!;
            assert.equal(failed.outcome, "failed");
            assert.equal(failed.cause, "table public.t is in the stack's branch but not in the snapshot, at the same schema version 7");
            assert.deepEqual(
                fake.state.branches.filter((b) => b.name.startsWith("drill-")).map((b) => b.name),
                [],
                "the scratch branch is removed after a failed check too",
            );
        });

        it("the newest snapshot is never a drill's own backup", async () => {
            const { target } = await setup();
            const real = await takeNeonBackup(target, {
                beforeVersion: "3",
                schemaVersion: "2",
                retentionDays: 0,
                now: new Date("2026-11-01T00:00:00Z"),
            });
            await takeNeonBackup(target, {
                beforeVersion: "",
                schemaVersion: "",
                retentionDays: 0,
                now: new Date("2026-12-01T00:00:00Z"),
                label: "drill",
            });
            assert.equal((await newestSnapshot(target))?.id, real.id);
        });
    });

    describe("the snapshot check (pure)", () => {
        const backup: BackupRecord = {
            id: "br-1",
            kind: "neon-branch",
            stack: "s",
            takenAt: "2026-12-01T00:00:00Z",
            schemaVersion: "7",
            beforeVersion: "8",
            location: "p/backup-s-20261201-000000-before-8",
        };
        it("shows differing rows, notes tables of later migrations, fails on no tables and on another schema version", () => {
            const ok = checkSnapshot(
                backup,
                { schemaVersion: "7", tables: { "public.t": 1 } },
                { schemaVersion: "8", tables: { "public.t": 9, "public.u": 0 } },
            );
            assert.equal(ok.passed, true);
            assert.deepEqual(ok.tables, [
                { table: "public.t", copyRows: 1, sourceRows: 9 },
                { table: "public.u", copyRows: -1, sourceRows: 0 },
            ]);
            assert.match(
                ok.findings.join("\n"),
                /note: table public\.u is in the stack's branch but not in the snapshot \(it came with a later migration\)/,
            );
            const empty = checkSnapshot(backup, { schemaVersion: "7", tables: {} }, { schemaVersion: "7", tables: {} });
            assert.equal(empty.passed, false);
            assert.match(empty.findings[0], /holds no tables/);
            const other = checkSnapshot(
                backup,
                { schemaVersion: "6", tables: { "public.t": 1 } },
                { schemaVersion: "6", tables: { "public.t": 1 } },
            );
            assert.equal(other.passed, false);
            assert.match(other.findings[0], /at schema version 6, but it was taken at 7/);
        });
    });
});
