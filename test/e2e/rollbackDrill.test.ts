/**
 * End to end through the real engine: `keel rollback drill` of the dev stack with
 * its local database (issue 22, section 3), in the git-checkout workspace the
 * rollback tests use. Two versions deployed, the drill goes back to the first and
 * forward to the second: both rollbacks run, the stack ends on the version it
 * started on with its rows, and the drill's record (both times) is beside the
 * state. The refusals (a prod-stage stack, no previous version) change nothing.
 * A way forward that fails (a rollback stand-in that throws) says loudly where the
 * stack is and how to go forward, and still records. Nothing here asserts how
 * long anything took.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { DrillRecord } from "../../components/records/record";
import { localPaths, serverStatus } from "../../components/database/local/server";
import { recordLog } from "../../scripts/lib/records";
import { listDeploys } from "../../scripts/lib/stackHistory";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { runRollbackDrill } from "../../scripts/rollbackDrill";
import { requireEngine, ROOT } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { RollbackWorkspace } from "../support/rollbackWorkspace";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

describe("end to end: keel rollback drill of the dev stack (issue 22)", function () {
    this.timeout(15 * 60_000);
    let cli: PulumiCli;
    let rw: RollbackWorkspace;
    let url: string;

    /** keel rollback drill <args> as a process in the workspace, as npm runs it. */
    const drill = (...args: string[]) => {
        const r = spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "rollback", "drill", ...args], {
            cwd: rw.ws.root,
            encoding: "utf8",
            env: { ...rw.ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            timeout: 10 * 60_000,
        });
        return { status: r.status, text: `${r.stdout}${r.stderr}` };
    };
    const drills = async () => (await recordLog(rw.ws.root, "dev", rw.ws.env).list()).filter((r): r is DrillRecord => r.kind === "drill");
    const emails = async () => (await query(url, "SELECT email FROM accounts ORDER BY id")).map((r) => r.email);

    before(async function () {
        cli = requireEngine(this);
        rw = await RollbackWorkspace.localDev(cli);
    });

    after(() => {
        // A failing test may leave the server running.
        if (rw && fs.existsSync(localPaths(rw.ws.root, "dev").dataDir) && serverStatus(localPaths(rw.ws.root, "dev")).state === "running")
            spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "dev", "stop"], {
                cwd: rw.ws.root,
                env: { ...rw.ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            });
    });

    it("refuses a prod-stage stack without --allow-prod, saying it is an outage risk, before reading anything", () => {
        const r = drill("--stack", "prod", "--yes");
        assert.equal(r.status, 1, r.text);
        assert.match(r.text, /Refusing a rollback drill on the prod stack: it is a prod-stage stack/);
        assert.match(r.text, /an outage risk/);
        assert.match(r.text, /pass --allow-prod/);
        assert.doesNotMatch(r.text, /reading the prod stack's deploys/);
    });

    it("refuses a stack with one version: there is no previous one", async () => {
        await rw.deploy("v1");
        url = (await rw.stack.outputs()).databaseUrl.value;
        await query(url, "INSERT INTO accounts (email) VALUES ('one@example.com')");
        const r = drill("--stack", "dev", "--yes");
        assert.equal(r.status, 1, r.text);
        assert.match(r.text, /No rollback drill on the dev stack: .*no previous version/);
        assert.equal((await listDeploys(rw.ws.root, "dev", rw.ws.env)).length, 1, "nothing ran");
        assert.deepEqual(await drills(), []);
    });

    it("goes back to the previous version and forward again: both times recorded, the stack on its version, the rows in place", async () => {
        rw.ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        await rw.deploy("v2");
        await query(url, "INSERT INTO accounts (email, note) VALUES ('two@example.com', 'after v2')");

        const r = drill("--stack", "dev", "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /rollback drill of the dev stack: back to version 1 \(commit [0-9a-f]{12}\), then forward to version 2 /);
        assert.match(r.text, /^drill rollback of dev: succeeded in \d+\.\d s \(back \d+\.\d s, forward \d+\.\d s\)$/m);

        const deploys = await listDeploys(rw.ws.root, "dev", rw.ws.env);
        assert.deepEqual(
            deploys.map((d) => [d.version, d.result, d.commit, d.message]),
            [
                [1, "succeeded", rw.commits.v1, "v1"],
                [2, "succeeded", rw.commits.v2, "v2"],
                [3, "succeeded", rw.commits.v1, `rollback to version 1 (commit ${rw.commits.v1.slice(0, 12)})`],
                [4, "succeeded", rw.commits.v2, `rollback to version 2 (commit ${rw.commits.v2.slice(0, 12)})`],
            ],
        );
        assert.equal(deploys[3].outputs.schemaVersion, "3");
        assert.deepEqual(await emails(), ["one@example.com", "two@example.com"]);
        assert.equal(rw.git("worktree", "list").split("\n").length, 1, "no worktree left");

        // Both rollbacks are recorded as a drill's (scripts/rollback.ts records them with the trigger it is given).
        const rollbacks = (await recordLog(rw.ws.root, "dev", rw.ws.env).list()).filter((r) => r.kind === "rollback");
        assert.deepEqual(
            rollbacks.map((r) => r.kind === "rollback" && [r.fromVersion, r.toVersion, r.outcome, r.trigger]),
            [
                [2, 1, "succeeded", "drill"],
                [3, 2, "succeeded", "drill"],
            ],
        );
        const [record] = await drills();
        assert.equal(record.drill, "rollback");
        assert.equal(record.outcome, "succeeded");
        assert.equal(record.stack, "dev");
        assert.equal(record.cause, undefined);
        for (const ms of [record.backMs, record.forwardMs, record.durationMs]) assert.ok(Number.isInteger(ms) && ms! >= 0, String(ms));
        assert.ok(record.durationMs >= record.backMs!, "the whole drill holds its way back");
    });

    it("a way forward that fails says loudly which version the stack is on and how to go forward, and still records", async () => {
        const lines: string[] = [];
        const asked: string[] = [];
        let t = 0;
        const calls: { to?: string; trigger?: string; yes?: boolean }[] = [];
        await assert.rejects(
            runRollbackDrill(
                { stack: "dev", yes: true },
                {
                    root: rw.ws.root,
                    env: rw.ws.env,
                    out: (l) => void lines.push(l),
                    confirm: async (q) => (asked.push(q), false),
                    ask: async () => undefined,
                    now: () => (t += 1000),
                    rollback: async (o) => {
                        calls.push({ to: o.to, trigger: o.trigger, yes: o.yes });
                        if (calls.length === 2) throw new Error("the rollback's update failed: boom");
                        return 0;
                    },
                },
            ),
            (err: Error) => {
                assert.equal(err.name, "RollbackDrillError");
                assert.match(
                    err.message,
                    /^The dev stack is left on version 3's code \(commit [0-9a-f]{12}\), not on version 4 where the drill started: the way forward failed: the rollback's update failed: boom\. Go forward with: npm run rollback -- --stack dev --to 4 --yes$/,
                );
                return true;
            },
        );
        // From version 4 (v2's code, the last drill's way forward): back to 3 (v1's), forward to 4, both marked as a drill's.
        assert.deepEqual(calls, [
            { to: "3", trigger: "drill", yes: true },
            { to: "4", trigger: "drill", yes: true },
        ]);
        assert.deepEqual(asked, [], "--yes: no question");
        assert.match(lines.join("\n"), /^!!! THE DEV STACK IS ON VERSION 3'S CODE \(commit [0-9a-f]{12}\), NOT ON VERSION 4 /m);
        assert.match(lines.join("\n"), /^!!! Go forward with: npm run rollback -- --stack dev --to 4 --yes$/m);
        const failed = (await drills()).find((r) => r.outcome === "failed")!;
        assert.ok(failed, "the failed drill is recorded");
        assert.equal(failed.drill, "rollback");
        assert.match(failed.cause!, /^the way forward: the rollback's update failed: boom$/);
        assert.equal(typeof failed.backMs, "number");
        assert.equal(typeof failed.forwardMs, "number");
    });
});
