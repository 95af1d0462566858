/**
 * End to end through the real engine (issue 22): what Keel records of a
 * stack's life and what `keel metrics` makes of it. The dev stack with its
 * local database, in a git checkout: a deploy, a deploy whose migration is
 * broken (it fails before any step: nothing deleted or replaced, the rows in
 * place, the cause recorded), a fixed deploy that applies one migration, a
 * drift run, a rollback by hand; then `keel metrics --json` counts each of
 * them once. Nothing here asserts how long anything took.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { localPaths, serverStatus } from "../../components/database/local/server";
import type { DeployRecord, KeelRecord } from "../../components/records/record";
import { recordLog } from "../../scripts/lib/records";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { lastUpdateLosses, requireEngine } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { RollbackWorkspace } from "../support/rollbackWorkspace";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

describe("end to end: every deploy, failure and rollback is recorded, and keel metrics counts them (issue 22)", function () {
    this.timeout(20 * 60_000);
    let cli: PulumiCli;
    let rw: RollbackWorkspace;
    let url: string;
    const keel = (...args: string[]) => {
        const r = rw.ws.runKeel(args, { PULUMI_CONFIG_PASSPHRASE: "" });
        return { status: r.status, out: r.stdout, text: `${r.stdout}${r.stderr}` };
    };
    const records = async (): Promise<KeelRecord[]> => recordLog(rw.ws.root, "dev", rw.ws.env).list();
    const commit = (name: string) => {
        rw.git("add", "-A");
        rw.git("commit", "-q", "-m", name);
        return rw.git("rev-parse", "HEAD");
    };

    before(async function () {
        cli = requireEngine(this);
        rw = await RollbackWorkspace.localDev(cli);
    });

    after(() => {
        const paths = localPaths(rw.ws.root, "dev");
        if (rw && fs.existsSync(paths.dataDir) && serverStatus(paths).state === "running") keel("dev", "stop");
    });

    it("records a successful up: its commit, its duration, the migrations it applied", async () => {
        const v1 = commit("v1");
        const r = keel("stack", "up", "dev", "--yes");
        assert.equal(r.status, 0, r.text);
        url = (await rw.stack.outputs()).databaseUrl.value;
        await query(url, "INSERT INTO accounts (email) VALUES ('kept@example.com')");
        const [deploy] = (await records()) as DeployRecord[];
        assert.equal(deploy.kind, "deploy");
        assert.equal(deploy.outcome, "succeeded");
        assert.equal(deploy.commit, v1);
        assert.ok(deploy.committedAt && !Number.isNaN(Date.parse(deploy.committedAt)));
        assert.ok(deploy.migrationsApplied! >= 1, JSON.stringify(deploy));
        assert.ok(deploy.durationMs > 0);
    });

    it("a broken migration fails the up before any step: recorded with its cause, 0 deletes or replaces, the rows in place", async () => {
        rw.ws.writeMigration("0003_broken.sql", "ALTER TABLE no_such_table ADD COLUMN x int;");
        commit("v2 broken");
        const r = keel("stack", "up", "dev", "--yes");
        assert.equal(r.status, 1, r.text);
        assert.deepEqual(await lastUpdateLosses(rw.stack), []);
        assert.deepEqual(
            (await query(url, "SELECT email FROM accounts")).map((x) => x.email),
            ["kept@example.com"],
        );
        const failed = (await records()).at(-1) as DeployRecord;
        assert.equal(failed.outcome, "failed");
        assert.equal(failed.step, "up");
        assert.match(failed.cause ?? "", /no_such_table|0003_broken/, JSON.stringify(failed));
        assert.ok(!JSON.stringify(failed).includes("postgres://"), "no database URL in a record");
    });

    it("the fixed deploy records the one migration it applied; a drift run and a rollback by hand are recorded too", async () => {
        fs.rmSync(`${rw.ws.root}/migrations/0003_broken.sql`);
        rw.ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        commit("v3");
        const up = keel("stack", "up", "dev", "--yes");
        assert.equal(up.status, 0, up.text);
        const fixed = (await records()).at(-1) as DeployRecord;
        assert.deepEqual([fixed.outcome, fixed.migrationsApplied, fixed.destructiveMigrations], ["succeeded", 1, 0]);

        const drift = keel("drift", "dev", "--json");
        assert.equal(drift.status, 0, drift.text);
        const back = keel("rollback", "--stack", "dev", "--to", "1", "--keep-schema", "--yes");
        assert.equal(back.status, 0, back.text);
        const all = await records();
        assert.deepEqual(
            all.map((x) => x.kind),
            ["deploy", "deploy", "deploy", "drift", "rollback"],
        );
        assert.deepEqual(all[3], { ...all[3], drifted: false });
        assert.deepEqual(
            (({ outcome, fromVersion, toVersion, trigger }) => ({ outcome, fromVersion, toVersion, trigger }))(all[4] as any),
            { outcome: "succeeded", fromVersion: 3, toVersion: 1, trigger: "hand" },
        );
        assert.deepEqual(
            (await query(url, "SELECT email FROM accounts")).map((x) => x.email),
            ["kept@example.com"],
        );
    });

    it("keel metrics --json counts each of them once: 3 deploys (1 failed), 1 rollback by hand, 2 change failures, one outage restored", () => {
        const r = keel("metrics", "--stack", "dev", "--since", "1d", "--json");
        assert.equal(r.status, 0, r.text);
        const report = JSON.parse(r.out);
        const [dev] = report.stacks;
        assert.equal(dev.stack, "dev");
        const t = dev.totals;
        assert.deepEqual(t.deploys.count, 3);
        assert.deepEqual([t.deploys.succeeded, t.deploys.failed], [2, 1]);
        assert.equal(t.deploys.successRate, 2 / 3);
        // The failed deploy, and the one the rollback undid.
        assert.equal(t.changeFailures.count, 2);
        assert.deepEqual([t.rollbacks.count, t.rollbacks.byTrigger.hand], [1, 1]);
        assert.equal(t.timeToRestore.count, 1, "the failed deploy, restored by the fixed one");
        assert.ok(t.timeToRestore.medianMs >= 0);
        assert.ok(t.migrations.applied >= 3, JSON.stringify(t.migrations));
        assert.deepEqual([t.drift.runs, t.drift.drifted], [1, 0]);
        assert.equal(t.leadTime.count, 2, "both successful deploys know their commit's time");
    });
});
