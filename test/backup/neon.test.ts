/**
 * Neon backups against the fake Neon API: the snapshot is the right branch
 * (name, parent, expiry, LSN, no compute) with its operations awaited, a
 * locked create is retried and a lost one adopted; backups are listed per
 * stack; a restore is one preserving restore call of the stack's branch from
 * the backup, and can be undone; another stack's backup is refused; a drill
 * always removes what it made.
 */
import { strict as assert } from "assert";
import {
    backupStamp,
    executeNeonRestore,
    listNeonBackups,
    neonBackupName,
    NeonBackupError,
    neonBackupTarget,
    NeonBackupTarget,
    neonDrill,
    NeonDrillComparison,
    parseNeonBackupName,
    planNeonRestore,
    takeNeonBackup,
} from "../../components/backup/neon";
import { Api, waitForOperations } from "../../components/vendors/neon";
import { FakeNeon, FakeProject, LoggedRequest } from "../support/fakeNeon";
import { neonStaging } from "../support/neonStaging";

const DAY = 86_400_000;

/** A whole second, so the expected expiry is exact. */
function nowSeconds(offsetMs = 0): Date {
    return new Date(Math.floor((Date.now() + offsetMs) / 1000) * 1000);
}

function lsnValue(lsn: string): bigint {
    const [hi, lo] = lsn.split("/");
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

const PASS: NeonDrillComparison = {
    passed: true,
    fingerprint: { source: "f1", copy: "f1" },
    tables: [{ table: "public.accounts", sourceRows: 2, copyRows: 2, sourceChecksum: "c1", copyChecksum: "c1", matches: true }],
    findings: ["no differences"],
};

describe("Neon backups (fake Neon API)", function () {
    let fake: FakeNeon;

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0 });
    });
    after(() => fake.stop());

    interface Setup {
        api: Api;
        project: FakeProject;
        staging: NeonBackupTarget;
        prod: NeonBackupTarget;
    }

    async function setup(): Promise<Setup> {
        const { api, project, main, staging } = await neonStaging(fake, { policy: { baseDelayMs: 10 } });
        const wait = { pollMs: 10 };
        return {
            api,
            project,
            staging: { api, projectId: project.id, branchId: staging.id, branchName: "staging", stack: "staging", wait },
            prod: { api, projectId: project.id, branchId: main.id, branchName: "main", stack: "prod", wait },
        };
    }

    const path = (r: LoggedRequest, s: Setup) => `${r.method} ${r.path.replace(s.project.id, "P").replace(s.staging.branchId, "STAGING")}`;

    describe("names", () => {
        it("encode stack, time and the version the backup was taken before, and parse back", () => {
            const at = new Date("2026-11-21T10:00:05.123Z");
            assert.equal(backupStamp(at), "20261121-100005");
            assert.equal(neonBackupName("prod", at, "20261120093000"), "backup-prod-20261121-100005-before-20261120093000");
            assert.equal(neonBackupName("prod", at, ""), "backup-prod-20261121-100005-manual");
            assert.equal(neonBackupName("prod", at, "", "drill"), "backup-prod-20261121-100005-drill");
            assert.deepEqual(parseNeonBackupName("prod", "backup-prod-20261121-100005-before-0042"), {
                takenAt: "2026-11-21T10:00:05Z",
                beforeVersion: "0042",
            });
            assert.deepEqual(parseNeonBackupName("prod", "backup-prod-20261121-100005-drill"), {
                takenAt: "2026-11-21T10:00:05Z",
                beforeVersion: "",
                label: "drill",
            });
            // Another stack whose name starts like this one's is not this stack's.
            assert.equal(parseNeonBackupName("prod", "backup-prod-eu-20261121-100005-before-0042"), undefined);
            assert.equal(parseNeonBackupName("prod", "backup-staging-20261121-100005-before-0042"), undefined);
            assert.equal(parseNeonBackupName("prod", "main"), undefined);
        });
    });

    describe("takeNeonBackup", () => {
        it("branches the stack's branch at its head, without a compute, expiring after the retention, and records the LSN", async () => {
            const s = await setup();
            const now = nowSeconds();
            const lsnBefore = fake.currentLsn();
            const lines: string[] = [];
            const record = await takeNeonBackup(s.staging, {
                beforeVersion: "0042",
                schemaVersion: "0041",
                retentionDays: 7,
                now,
                progress: (l) => lines.push(l),
            });

            const name = `backup-staging-${backupStamp(now)}-before-0042`;
            assert.match(name, /^backup-staging-\d{8}-\d{6}-before-0042$/);
            const expiresAt = new Date(now.getTime() + 7 * DAY).toISOString().replace(".000Z", "Z");
            const branch = fake.branch(s.project.id, name)!;
            assert.ok(branch, "the backup branch exists");
            assert.equal(branch.parent_id, s.staging.branchId, "a child of the stack's branch");
            assert.equal(branch.expires_at, expiresAt);

            // The one create request: parent, name, expiry, annotations; no LSN (head), no endpoints.
            const creates = fake.mutations(/\/branches$/);
            assert.equal(creates.length, 1);
            assert.deepEqual(creates[0].body.branch, { parent_id: s.staging.branchId, name, expires_at: expiresAt });
            assert.equal(creates[0].body.endpoints, undefined);
            assert.equal(creates[0].body.annotation_value["keel-schema-version"], "0041");
            assert.equal(creates[0].body.annotation_value["keel-stack"], "staging");
            assert.deepEqual(
                fake.state.endpoints.filter((e) => e.branch_id === branch.id),
                [],
                "no compute for a backup",
            );

            // Operations awaited: nothing left running, and polls happened before the LSN was read.
            assert.deepEqual(fake.runningOperations(), []);
            const polls = fake.requests.filter((r) => r.method === "GET" && /\/operations\//.test(r.path));
            assert.ok(polls.length > 0, "operations were polled");
            const read = fake.requests.findIndex((r) => r.method === "GET" && r.path.endsWith(`/branches/${branch.id}`));
            assert.ok(read > fake.requests.indexOf(polls[polls.length - 1]), "the LSN is read after the operations finished");

            assert.deepEqual(record, {
                id: branch.id,
                kind: "neon-branch",
                stack: "staging",
                takenAt: now.toISOString(),
                schemaVersion: "0041",
                beforeVersion: "0042",
                location: `${s.project.id}/${name}`,
                branchId: branch.id,
                lsn: branch.parent_lsn,
                expiresAt,
            });
            assert.match(record.lsn!, /^[0-9A-F]+\/[0-9A-F]+$/);
            assert.ok(lsnValue(record.lsn!) >= lsnValue(lsnBefore), "the LSN is the head at the time of the backup");
            assert.ok(lines.some((l) => l.includes(`at LSN ${record.lsn}`)));

            // Neon deletes it once it expires (the fake's background job, run a week later).
            assert.deepEqual(fake.expireBranches(now.getTime() + 7 * DAY + 1000), [name]);
        });

        it("keeps a backup without expiry when the retention is 0", async () => {
            const s = await setup();
            const record = await takeNeonBackup(s.staging, { beforeVersion: "", schemaVersion: "", retentionDays: 0 });
            assert.equal(record.expiresAt, undefined);
            assert.match(record.location, /\/backup-staging-\d{8}-\d{6}-manual$/);
            assert.equal(fake.mutations(/\/branches$/)[0].body.branch.expires_at, undefined);
        });

        it("retries a create answered 423 Locked, and waits for the stack's branch when it is busy", async () => {
            const s = await setup();
            fake.inject({ method: "POST", path: /\/branches$/, status: 423, times: 2 });
            const record = await takeNeonBackup(s.staging, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            assert.equal(fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/branches")).length, 3);
            assert.equal(fake.state.branches.filter((b) => b.name.startsWith("backup-")).length, 1);
            assert.equal(record.id, fake.state.branches.find((b) => b.name.startsWith("backup-"))!.id);

            // An operation someone else started on the branch: Neon answers 423 until it is done.
            fake.startOperation(s.project.id, s.staging.branchId, "apply_config", 2);
            const second = await takeNeonBackup(s.staging, {
                beforeVersion: "0043",
                schemaVersion: "0042",
                retentionDays: 7,
                now: nowSeconds(5000),
            });
            assert.equal(
                fake.requests.filter((r) => r.status === 423 && !r.injected).length,
                2,
                "the real lock was met until the operation finished",
            );
            assert.ok(fake.branch(s.project.id, second.location.split("/")[1]));
            assert.deepEqual(fake.runningOperations(), []);
        });

        it("adopts the branch of a create whose response was lost, without creating a second one", async () => {
            const s = await setup();
            fake.dropResponses("POST", /\/branches$/);
            const lines: string[] = [];
            const record = await takeNeonBackup(s.staging, {
                beforeVersion: "0042",
                schemaVersion: "0041",
                retentionDays: 7,
                progress: (l) => lines.push(l),
            });
            const backups = fake.state.branches.filter((b) => b.name.startsWith("backup-staging-"));
            assert.equal(backups.length, 1, "no duplicate");
            assert.equal(fake.mutations(/\/branches$/).length, 1, "the create was not repeated");
            assert.ok(fake.mutations(/\/branches$/)[0].dropped);
            assert.equal(record.id, backups[0].id);
            assert.equal(record.lsn, backups[0].parent_lsn);
            assert.equal(record.schemaVersion, "0041");
            assert.deepEqual(fake.runningOperations(), [], "the adopted branch's operations were awaited");
            assert.ok(lines.some((l) => /response .* was lost/.test(l)));
        });

        it("creates again after a 500 when the first create made nothing, and never more than three times", async () => {
            const s = await setup();
            fake.inject({ method: "POST", path: /\/branches$/, status: 500 });
            const record = await takeNeonBackup(s.staging, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            assert.equal(fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/branches")).length, 2);
            assert.deepEqual(
                fake.state.branches.filter((b) => b.name.startsWith("backup-")).map((b) => b.id),
                [record.id],
            );

            fake.requests.splice(0);
            fake.inject({ method: "POST", path: /\/branches$/, status: 500, times: 5 });
            await assert.rejects(
                takeNeonBackup(s.staging, { beforeVersion: "0043", schemaVersion: "0042", retentionDays: 7, now: nowSeconds(2000) }),
                /500/,
            );
            assert.equal(fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/branches")).length, 3);
        });

        it("refuses a branch of that name that is not a child of the stack's branch", async () => {
            const s = await setup();
            const now = nowSeconds();
            const name = neonBackupName("staging", now, "0042");
            const { data } = await s.api.createProjectBranch(s.project.id, { branch: { parent_id: s.prod.branchId, name } });
            await waitForOperations(s.api, s.project.id, data.operations);
            await assert.rejects(
                takeNeonBackup(s.staging, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7, now }),
                (err: Error) => err instanceof NeonBackupError && /not a child of 'staging'/.test(err.message),
            );
        });
    });

    describe("listNeonBackups", () => {
        it("lists the stack's backups newest first, with versions from the annotations or the name", async () => {
            const s = await setup();
            const older = await takeNeonBackup(s.staging, {
                beforeVersion: "0042",
                schemaVersion: "0041",
                retentionDays: 7,
                now: nowSeconds(-60_000),
            });
            const newer = await takeNeonBackup(s.staging, {
                beforeVersion: "0043",
                schemaVersion: "0042",
                retentionDays: 7,
                now: nowSeconds(),
            });
            await takeNeonBackup(s.prod, { beforeVersion: "0043", schemaVersion: "0042", retentionDays: 7 });
            await takeNeonBackup({ ...s.staging, stack: "staging-eu" }, { beforeVersion: "0043", schemaVersion: "0042", retentionDays: 7 });
            // One made without annotations (by hand, or by an older Keel): read from its name.
            const { data } = await s.api.createProjectBranch(s.project.id, {
                branch: { parent_id: s.staging.branchId, name: "backup-staging-20261001-080000-before-0040" },
            });
            await waitForOperations(s.api, s.project.id, data.operations);

            const list = await listNeonBackups(s.staging);
            assert.deepEqual(
                list.map((b) => [b.id, b.beforeVersion, b.schemaVersion]),
                [
                    [newer.id, "0043", "0042"],
                    [older.id, "0042", "0041"],
                    [data.branch.id, "0040", ""],
                ],
            );
            assert.deepEqual(list[0], newer);
            assert.equal(list[2].takenAt, "2026-10-01T08:00:00Z");
            assert.ok(list.every((b) => b.kind === "neon-branch" && b.stack === "staging" && b.lsn));
            assert.deepEqual(fake.mutations(/\/branches$/).length, 5, "listing changes nothing");
            assert.equal((await listNeonBackups(s.prod)).length, 1);
        });
    });

    describe("restore", () => {
        it("restores the stack's branch from the backup, keeping the previous state, and can undo it", async () => {
            const s = await setup();
            const backup = await takeNeonBackup(s.staging, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            fake.requests.splice(0);
            const now = new Date("2026-11-21T10:00:00Z");
            const plan = await planNeonRestore(s.staging, backup.id, now);
            assert.deepEqual(fake.mutations(), [], "planning changes nothing");
            assert.equal(plan.preservedName, "staging-before-restore-20261121-100000");
            assert.deepEqual(plan.source, { id: backup.id, name: backup.location.split("/")[1], backup });
            const text = plan.lines.join("\n");
            assert.match(
                text,
                new RegExp(
                    `1\\. restore branch 'staging' \\(${s.staging.branchId}\\) .* from backup 'backup-staging-.*-before-0042' \\(${backup.id}\\), taken .* at schema version 0041, LSN ${backup.lsn!.replace("/", "\\/")}`,
                ),
            );
            assert.match(text, /2\. keep its current state as the new branch 'staging-before-restore-20261121-100000'/);
            assert.match(text, /undo: restore from 'staging-before-restore-20261121-100000'/);

            const lines: string[] = [];
            const result = await executeNeonRestore(s.staging, plan, (l) => lines.push(l));
            const calls = fake.mutations().map((r) => path(r, s));
            assert.deepEqual(calls, ["POST /projects/P/branches/STAGING/restore"]);
            assert.deepEqual(fake.mutations()[0].body, {
                source_branch_id: backup.id,
                preserve_under_name: "staging-before-restore-20261121-100000",
            });
            assert.deepEqual(fake.runningOperations(), [], "the restore's operations were awaited");
            assert.ok(
                fake.requests.some((r) => r.method === "GET" && /\/operations\//.test(r.path)),
                "operations were polled",
            );

            // Same branch (id, endpoint) now reset; the state before kept under its name.
            const staging = fake.branch(s.project.id, "staging")!;
            assert.equal(staging.id, s.staging.branchId);
            assert.ok(staging.last_reset_at);
            const preserved = fake.branch(s.project.id, plan.preservedName)!;
            assert.ok(preserved, "the previous state is kept");
            assert.equal(result.preservedBranchId, preserved.id);
            assert.equal(result.undo, `npm run db:restore -- --stack staging --backup ${preserved.id}`);
            assert.ok(lines.some((l) => l.includes("To undo")));
            // The backup survives the restore (Neon moves it under the preserved branch) and is still listed.
            assert.deepEqual(
                (await listNeonBackups(s.staging)).map((b) => b.id),
                [backup.id],
            );

            // Undo: the preserved branch is accepted as a source, the same way.
            const undo = await planNeonRestore(s.staging, preserved.id, new Date("2026-11-21T10:05:00Z"));
            assert.match(undo.lines[0], /the state an earlier restore preserved \(this undoes that restore\)/);
            await executeNeonRestore(s.staging, undo);
            assert.deepEqual(
                fake.mutations(/restore$/).map((r) => r.body.source_branch_id),
                [backup.id, preserved.id],
            );
            assert.ok(fake.branch(s.project.id, "staging-before-restore-20261121-100500"));
        });

        it("finds a backup by its name too, says when there is none, and warns about a protected branch", async () => {
            const s = await setup();
            const backup = await takeNeonBackup(s.staging, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            const plan = await planNeonRestore(s.staging, backup.location.split("/")[1]);
            assert.equal(plan.source.id, backup.id);
            await assert.rejects(
                planNeonRestore(s.staging, "br-gone-123456"),
                /No backup 'br-gone-123456' .* 'npm run db:backups -- --stack staging' lists/,
            );
            assert.ok(!plan.lines.some((l) => /protected/.test(l)));
            // A protected branch: Neon may refuse to reset it, and the plan says what to do then.
            fake.branch(s.project.id, "staging")!.protected = true;
            const protectedPlan = await planNeonRestore(s.staging, backup.id);
            assert.match(
                protectedPlan.lines.join("\n"),
                /note: 'staging' is a protected branch.*keel:database\.neon\.branch\.protected false --stack staging/,
            );
            await assert.rejects(
                planNeonRestore({ ...s.staging, branchId: "br-nothere-000000" }, backup.id),
                /is not in Neon project .*'npm run up -- staging' first/,
            );
        });

        it("does not restore twice when the restore's response was lost", async () => {
            const s = await setup();
            const backup = await takeNeonBackup(s.staging, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            const plan = await planNeonRestore(s.staging, backup.id);
            fake.dropResponses("POST", /\/restore$/);
            const result = await executeNeonRestore(s.staging, plan);
            assert.equal(fake.mutations(/restore$/).length, 1);
            assert.ok(result.preservedBranchId);
            assert.deepEqual(fake.runningOperations(), []);
        });

        it("refuses another stack's backup, and branches that are not backups", async () => {
            const s = await setup();
            const prodBackup = await takeNeonBackup(s.prod, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            const before = fake.mutations().length;
            await assert.rejects(
                planNeonRestore(s.staging, prodBackup.id),
                (err: Error) =>
                    err instanceof NeonBackupError && /is a backup of stack 'prod', not of 'staging': refusing/.test(err.message),
            );
            await assert.rejects(planNeonRestore(s.staging, s.prod.branchId), /'main' .* is not a backup of stack 'staging'/);
            await assert.rejects(planNeonRestore(s.staging, s.staging.branchId), /own branch/);
            // A plan made for another stack's branch is not carried out on this one.
            const prodPlan = await planNeonRestore(s.prod, prodBackup.id);
            await assert.rejects(executeNeonRestore(s.staging, prodPlan), /not for stack 'staging'/);
            assert.equal(fake.mutations().length, before, "nothing was changed");
        });
    });

    describe("as the Schema provider calls them (it loads this module by name in its own process)", () => {
        it("takes, lists and refuses with the key handed in per call, and keeps its error classes", async () => {
            const s = await setup();
            const fns = { takeNeonBackup, listNeonBackups, planNeonRestore, neonBackupTarget };
            // The provider makes its client in its own process, from the config it read then (or the environment).
            const lines: string[] = [];
            const target = fns.neonBackupTarget(
                { projectId: s.project.id, branchId: s.staging.branchId, branchName: "staging", stack: "staging" },
                { configApiKey: fake.apiKey, configApiUrl: fake.url, env: {} },
                (l) => lines.push(l),
            );
            const api = target.api;
            assert.throws(
                () =>
                    fns.neonBackupTarget(
                        { projectId: s.project.id, branchId: s.staging.branchId, branchName: "staging", stack: "staging" },
                        { env: {} },
                    ),
                (err: Error) => err.name === "NeonCredentialsError",
            );
            const record = await fns.takeNeonBackup(target, { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 });
            assert.equal(record.id, fake.state.branches.find((b) => b.name.startsWith("backup-staging-"))!.id);
            assert.ok(record.lsn);
            assert.deepEqual(
                (await fns.listNeonBackups(target)).map((b) => b.id),
                [record.id],
            );
            const prodBackup = await fns.takeNeonBackup(
                { ...s.prod, api },
                { beforeVersion: "0042", schemaVersion: "0041", retentionDays: 7 },
            );
            await assert.rejects(
                fns.planNeonRestore(target, prodBackup.id),
                (err: Error) => err.name === "NeonBackupError" && /backup of stack 'prod'/.test(err.message),
            );
            fake.inject({ method: "POST", path: /\/branches$/, status: 429, retryAfter: "0" });
            await fns.takeNeonBackup(target, { beforeVersion: "0043", schemaVersion: "0042", retentionDays: 7, now: nowSeconds(3000) });
            assert.ok(
                lines.some((l) => /429/.test(l)),
                "retries are reported through the provider's progress",
            );
            assert.ok(lines.every((l) => !l.includes(fake.apiKey)));
        });
    });

    describe("neonDrill", () => {
        async function drill(
            s: Setup,
            compare: (a: string, b: string) => Promise<NeonDrillComparison>,
            extra: { keepBackup?: boolean } = {},
        ) {
            const lines: string[] = [];
            const result = neonDrill(s.staging, {
                databaseName: "app",
                roleName: "app",
                schemaVersion: "0041",
                compare,
                progress: (l) => lines.push(l),
                ...extra,
            });
            return { result, lines };
        }

        it("restores a backup into a scratch branch with a compute, compares it with the source, and removes both", async () => {
            const s = await setup();
            const seen: string[][] = [];
            const { result, lines } = await drill(s, async (source, copy) => {
                seen.push([source, copy]);
                // At comparison time the scratch branch is up, with its own read-write endpoint.
                const scratch = fake.state.branches.find((b) => b.name.startsWith("drill-staging-"))!;
                const backup = fake.state.branches.find((b) => b.name.startsWith("backup-staging-"))!;
                assert.equal(scratch.parent_id, backup.id, "the scratch branch is made from the backup");
                const ep = fake.state.endpoints.find((e) => e.branch_id === scratch.id)!;
                assert.equal(ep.type, "read_write");
                assert.equal(new URL(copy).hostname, ep.host, "the copy is read through the scratch branch's direct endpoint");
                const sourceEp = fake.state.endpoints.find((e) => e.branch_id === s.staging.branchId)!;
                assert.equal(new URL(source).hostname, sourceEp.host, "the source is the stack's branch");
                assert.equal(new URL(source).pathname, "/app");
                assert.equal(decodeURIComponent(new URL(source).username), "app");
                assert.deepEqual(fake.runningOperations(), [], "compared only once the branches are ready");
                return { ...PASS, tables: [...PASS.tables], findings: [...PASS.findings] };
            });
            const report = await result;
            assert.equal(seen.length, 1);
            assert.equal(report.passed, true);
            assert.equal(report.backup.beforeVersion, "");
            assert.match(report.backup.location, /\/backup-staging-\d{8}-\d{6}-drill$/);
            assert.deepEqual(report.findings, ["no differences"]);

            const calls = fake.mutations().map((r) => path(r, s));
            assert.equal(calls.length, 4, calls.join("\n"));
            assert.equal(calls[0], "POST /projects/P/branches");
            assert.equal(calls[1], "POST /projects/P/branches");
            assert.deepEqual(fake.mutations()[1].body.endpoints, [{ type: "read_write" }]);
            assert.equal(fake.mutations()[1].body.branch.parent_id, report.backup.id);
            assert.ok(fake.mutations()[1].body.branch.expires_at, "the scratch branch expires even if its removal failed");
            assert.match(calls[2], /^DELETE \/projects\/P\/branches\/br-/);
            assert.equal(calls[3], `DELETE /projects/P/branches/${report.backup.id}`);
            assert.deepEqual(
                fake.state.branches.filter((b) => /^(drill|backup)-/.test(b.name)),
                [],
                "scratch and backup are gone",
            );
            assert.deepEqual(fake.runningOperations(), []);
            // Passwords go to compare() only, never into progress lines.
            const passwords = fake.state.roles.map((r) => r.password);
            assert.ok(lines.every((l) => passwords.every((p) => !l.includes(p))));
        });

        it("removes the scratch branch and the backup when the comparison throws", async () => {
            const s = await setup();
            const { result } = await drill(s, async () => Promise.reject(new Error("could not connect to the copy")));
            await assert.rejects(result, /could not connect to the copy/);
            assert.deepEqual(
                fake.state.branches.filter((b) => /^(drill|backup)-/.test(b.name)),
                [],
            );
            assert.equal(fake.mutations(/\/branches\/br-[^/]+$/).filter((r) => r.method === "DELETE").length, 2);
            assert.deepEqual(fake.runningOperations(), []);
        });

        it("passes a failing comparison through, and keeps the backup when asked", async () => {
            const s = await setup();
            const fail: NeonDrillComparison = {
                ...PASS,
                passed: false,
                findings: ["public.accounts: 2 rows in the source, 1 in the copy"],
            };
            const { result } = await drill(s, async () => fail, { keepBackup: true });
            const report = await result;
            assert.equal(report.passed, false);
            assert.deepEqual(report.findings, fail.findings);
            assert.equal(fake.state.branches.filter((b) => b.name.startsWith("drill-")).length, 0);
            assert.ok(
                fake.state.branches.find((b) => b.id === report.backup.id),
                "the backup is kept",
            );
        });

        it("removes the scratch branch when creating its compute fails", async () => {
            const s = await setup();
            fake.failNextOperations("compute provisioning failed", { action: "start_compute" });
            const { result } = await drill(s, async () => assert.fail("no comparison without a copy"));
            await assert.rejects(result, /compute provisioning failed/);
            assert.deepEqual(
                fake.state.branches.filter((b) => /^(drill|backup)-/.test(b.name)),
                [],
            );
        });
    });
});
