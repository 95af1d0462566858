/**
 * keel metrics through the real command line on a file backend whose history
 * is written as Pulumi's diy backend writes it (bench/metrics/history.ts) and
 * whose records are kept by scripts/lib/records.ts: no engine. The end-to-end
 * test through the real engine is the main session's.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { syntheticProject, writeHistory, writeRecords } from "../../bench/metrics/history";
import type { MetricsReport } from "../../components/metrics/report";
import type { KeelRecord } from "../../components/records/record";
import type { CommandResult, RunOptions } from "../../components/operations/io";
import { metrics } from "../../scripts/metrics";
import { FAKE_WEBHOOK, FakeOperationsIo } from "../support/fakeOperationsIo";
import { keel } from "../support/keel";
import { tempDir } from "../support/tempDir";

const HOUR = 3_600_000;
const now = Date.now();
const ago = (hours: number) => new Date(now - hours * HOUR);

/** prod: three deploys in the last days, the second rolled back by the watch; staging: one; dev: never deployed. */
async function project(): Promise<{ root: string; env: Record<string, string> }> {
    const root = tempDir("keel-metrics-");
    const env = syntheticProject(root, ["dev", "prod", "staging"]);
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    writeHistory(env, "prod", [
        { result: "succeeded", start: ago(72), end: ago(71.9), message: "first", commit: a },
        { result: "succeeded", start: ago(48), end: ago(47.9), message: "second", commit: b },
        { result: "succeeded", start: ago(47.5), end: ago(47.45), message: `rollback to version 1 (commit ${a.slice(0, 12)})`, commit: a },
        { result: "failed", start: ago(24), end: ago(23.9), message: "third", commit: "c".repeat(40) },
    ]);
    const records: KeelRecord[] = [
        {
            kind: "deploy",
            stack: "prod",
            at: ago(71.9).toISOString(),
            outcome: "succeeded",
            version: 1,
            commit: a,
            committedAt: ago(73).toISOString(),
            durationMs: 360_000,
            migrationsApplied: 1,
            trigger: "push",
        },
        {
            kind: "deploy",
            stack: "prod",
            at: ago(47.9).toISOString(),
            outcome: "succeeded",
            version: 2,
            commit: b,
            committedAt: ago(48.5).toISOString(),
            durationMs: 360_000,
            trigger: "push",
        },
        { kind: "watch-failed", stack: "prod", at: ago(47.7).toISOString(), commit: b },
        {
            kind: "rollback",
            stack: "prod",
            at: ago(47.45).toISOString(),
            outcome: "succeeded",
            fromVersion: 2,
            toVersion: 1,
            durationMs: 180_000,
            trigger: "watch",
        },
        { kind: "drift", stack: "prod", at: ago(10).toISOString(), drifted: true, findings: 1 },
    ];
    await writeRecords(root, env, "prod", records);
    writeHistory(env, "staging", [{ result: "succeeded", start: ago(30), end: ago(29.95), message: "s", commit: a }]);
    return { root, env };
}

describe("keel metrics (the command, on a file backend)", function () {
    this.timeout(60_000);

    it("--json: each stack's figures, every deploy and rollback once, stable keys", async () => {
        const { root, env } = await project();
        const run = await keel(["metrics", "--json", "--since", "7d"], root, env);
        assert.equal(run.code, 0, run.err);
        const report = JSON.parse(run.out) as MetricsReport;
        assert.equal(report.format, 1);
        assert.deepEqual(
            report.stacks.map((s) => s.stack),
            ["dev", "prod", "staging"],
            "without --stack: every Pulumi.<stack>.yaml",
        );
        const prod = report.stacks[1];
        assert.deepEqual(prod.read, { updates: 4, records: 5 });
        assert.deepEqual(prod.totals.deploys, { count: 3, succeeded: 2, failed: 1, perDay: 3 / 7, successRate: 2 / 3 });
        assert.deepEqual(prod.totals.changeFailures, { count: 2, rate: 2 / 3, versions: [2, 4] });
        assert.deepEqual(prod.totals.rollbacks, { count: 1, succeeded: 1, byTrigger: { watch: 1 } });
        assert.equal(prod.totals.timeToRestore.count, 1);
        assert.equal(prod.totals.timeToRestore.ongoing, 1, "the failed third deploy: nothing restored it yet");
        assert.equal(prod.ongoingOutage?.cause, "deploy failed");
        assert.equal(prod.totals.leadTime.count, 2);
        assert.deepEqual(prod.totals.drift, { runs: 1, drifted: 1, findings: 1 });
        assert.deepEqual(prod.totals.migrations, { applied: 1, destructive: 0 });
        assert.equal(prod.weeks.length >= 2, true);
        assert.deepEqual(report.stacks[2].totals.deploys.count, 1);
        assert.deepEqual(report.stacks[0].totals.deploys.count, 0, "dev was never deployed: nothing to count");
        assert.deepEqual(Object.keys(prod.totals), [
            "since",
            "until",
            "deploys",
            "timeDeployingMs",
            "changeFailures",
            "rollbacks",
            "timeToRestore",
            "leadTime",
            "incidents",
            "watchFailures",
            "migrations",
            "backups",
            "drift",
            "drills",
        ]);
        assert.match(run.err, /prod: 4 updates, 5 records/, "progress on stderr");
        // A shorter period leaves the first deploy out.
        const short = JSON.parse((await keel(["metrics", "--json", "--stack", "prod", "--since", "60h"], root, env)).out) as MetricsReport;
        assert.equal(short.stacks.length, 1);
        assert.equal(short.stacks[0].totals.deploys.count, 2);
    });

    it("text by default; --markdown writes a table per stack with weekly sparklines", async () => {
        const { root, env } = await project();
        const file = path.join(root, "metrics.md");
        const run = await keel(["metrics", "--stack", "prod", "--markdown", file], root, env);
        assert.equal(run.code, 0, run.err);
        assert.match(run.out, /^prod: 4 updates, 5 records read$/m);
        assert.match(run.out, /Change failure rate\s+66\.7% \(2 of 3\)/);
        const md = fs.readFileSync(file, "utf8");
        assert.match(md, /^### prod$/m);
        assert.match(md, /^\| Deploys \| 3 \(0\.1 a day\) \| [▁▂▃▄▅▆▇█·]+ \|$/m);
    });

    it("a bad --since is a usage error naming the flag and the forms it takes; --json and --markdown exclude each other", async () => {
        const { root, env } = await project();
        const bad = await keel(["metrics", "--since", "yesterday"], root, env);
        assert.equal(bad.code, 2);
        assert.match(bad.err, /--since takes Nd, Nh or Nw .* or an ISO date .*got 'yesterday'/);
        assert.match(bad.err, /Usage: keel metrics/);
        const both = await keel(["metrics", "--json", "--markdown", "x.md"], root, env);
        assert.equal(both.code, 2);
        assert.match(both.err, /cannot be used with option '--markdown/);
        const help = await keel(["metrics", "--help"], root, env);
        assert.equal(help.code, 0);
        assert.match(help.out, /--since <when>/);
        // A mistyped stack would report an empty history as a quiet stack: refused, naming the stacks there are.
        const typo = await keel(["metrics", "--stack", "prdo"], root, env);
        assert.equal(typo.code, 2, typo.out);
        assert.match(typo.err, /--stack prdo: no Pulumi\.<stack>\.yaml in .* for it; the stacks are /);
        assert.equal(typo.out, "");
    });

    it("a stack that cannot be read is reported with why, the others still are, and the exit code is 1", async () => {
        const { root, env } = await project();
        const run = await keel(["metrics", "--json"], root, { ...env, PULUMI_BACKEND_URL: "postgres://keel:hunter2@db/state" });
        assert.equal(run.code, 1, run.err);
        const report = JSON.parse(run.out) as MetricsReport;
        assert.equal(report.stacks.length, 3);
        for (const s of report.stacks) assert.match(s.problem ?? "", /is not a state backend Keel can read/);
        assert.doesNotMatch(run.out + run.err, /hunter2/);
    });

    it("incidents come from the repository's issues (gh); without gh the records alone are counted, and it says so", async () => {
        const { root, env } = await project();
        /** gh answering `issue list --state all` as GitHub does: the incident issues, open and closed. */
        class WithIssues extends FakeOperationsIo {
            override async run(command: string, args: string[], options?: RunOptions): Promise<CommandResult> {
                if (command !== "gh" || args.slice(0, 2).join(" ") !== "issue list") return super.run(command, args, options);
                this.calls.push([command, ...args]);
                const issues = [
                    {
                        number: 9,
                        title: "Incident: prod is unhealthy",
                        createdAt: ago(12).toISOString(),
                        closedAt: ago(11.5).toISOString(),
                        url: "https://github.example/o/r/issues/9",
                    },
                    { number: 8, title: "Incident: staging is unhealthy", createdAt: ago(20).toISOString(), closedAt: null },
                ];
                return { status: 0, stdout: JSON.stringify(issues), stderr: "", output: "" };
            }
        }
        const ops = new WithIssues({});
        const out = { out: "", err: "" };
        const io = { root, env, out: (t: string) => void (out.out += t), err: (t: string) => void (out.err += t), operations: ops };
        assert.equal(await metrics({ stacks: ["prod", "staging"], since: "7d", json: true }, io), 0, out.err);
        assert.deepEqual(
            ops.ghCalls(),
            ["issue list --state all --label incident --limit 1000 --json number,title,createdAt,closedAt,url"],
            "listed once",
        );
        const [prod, staging] = (JSON.parse(out.out) as MetricsReport).stacks;
        assert.deepEqual(prod.totals.incidents, { opened: 1, closed: 1 });
        assert.deepEqual(staging.totals.incidents, { opened: 1, closed: 0 });
        assert.equal(staging.ongoingOutage?.cause, "incident");
        assert.match(out.err, /prod: 4 updates, 5 records, 2 incident events from the issues/);

        const noGh = new FakeOperationsIo({});
        noGh.ghFailing.add("issue list");
        const quiet = { out: "", err: "" };
        const code = await metrics(
            { stacks: ["prod"], since: "7d", json: true },
            { root, env, out: (t) => void (quiet.out += t), err: (t) => void (quiet.err += t), operations: noGh },
        );
        assert.equal(code, 0);
        assert.match(
            quiet.err,
            /incidents not read from the repository's issues \(on a laptop: install gh .*\), so the figures count Keel's records alone: Could not list the 'incident' issues/,
        );
        assert.equal((JSON.parse(quiet.out) as MetricsReport).stacks[0].totals.deploys.count, 3);
    });

    it("--slack posts the digest; a post that fails is logged and the command still succeeds", async () => {
        const { root, env } = await project();
        const io = (ops: FakeOperationsIo) => {
            const out = { out: "", err: "" };
            return {
                out,
                io: { root, env, out: (t: string) => void (out.out += t), err: (t: string) => void (out.err += t), operations: ops },
            };
        };
        const ok = new FakeOperationsIo({ SLACK_WEBHOOK_URL: FAKE_WEBHOOK });
        const a = io(ok);
        assert.equal(await metrics({ stacks: ["prod"], since: "7d", json: true, slack: true }, a.io), 0);
        assert.equal(ok.slack.length, 1);
        assert.match(ok.slack[0], /^Keel metrics, .*\n• prod: 3 deploys [▁▂▃▄▅▆▇█·]+, 66\.7% succeeded, change failure rate 66\.7%/);
        assert.match(a.out.err, /posted the digest to Slack/);
        JSON.parse(a.out.out);

        const refusing = new FakeOperationsIo({ SLACK_WEBHOOK_URL: FAKE_WEBHOOK });
        refusing.slackStatus = 500;
        const b = io(refusing);
        assert.equal(await metrics({ stacks: ["prod"], since: "7d", slack: true }, b.io), 0);
        assert.match(b.out.err, /the digest was not posted to Slack \(the report above stands\): Slack did not take the post \(HTTP 500/);
        assert.doesNotMatch(b.out.err + b.out.out, /hooks\.example/, "the webhook URL is a secret");

        const unset = new FakeOperationsIo({});
        assert.equal(await metrics({ stacks: ["prod"], since: "7d", slack: true }, io(unset).io), 0);
        assert.match(unset.log, /No SLACK_WEBHOOK_URL secret: not posted/);
    });
});
