/**
 * drill.yml and metrics.yml (issue 22): their shape and schedule, a drill job per stack (the
 * rollback drill on staging-stage stacks only), secrets only as whole env values and never in a
 * run script, minimal permissions, actionlint (shellcheck included) in every configuration, and
 * the drill's steps run as a runner runs them: the drill's log kept for the report, the report
 * (the real ./keel issue drill) opening the stack's issue through a fake gh and posting to a
 * local webhook.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import { spawnSync } from "child_process";
import * as path from "path";
import { parse } from "yaml";
import { pinnedPulumiVersion } from "../../components/pulumiVersion";
import { generateWorkflows, type GeneratedWorkflow, type WorkflowOptions, type WorkflowStack } from "../../components/github/workflows";
import { DRILL_CRON } from "../../components/github/workflows/drill";
import { METRICS_CRON } from "../../components/github/workflows/metrics";
import { actionlint, requireLintTools } from "../support/actionlint";
import { ROOT } from "../support/repoRoot";
import { tempDir } from "../support/tempDir";
import { GithubContext, runStepScript, type WorkflowStep } from "../support/workflowStep";

const prod: WorkflowStack = {
    stack: "prod",
    stage: "prod",
    branch: "main",
    environment: "production",
    hasBackend: true,
    hasFrontend: true,
};
const staging: WorkflowStack = {
    stack: "staging",
    stage: "staging",
    branch: "staging",
    environment: "staging",
    hasBackend: true,
    hasFrontend: false,
};
const base: WorkflowOptions = {
    stacks: [staging, prod],
    defaultBranch: "main",
    nodeVersion: "20",
    pulumiVersion: pinnedPulumiVersion(ROOT),
    policyPack: "policies",
    state: "passphrase",
    slack: true,
};
const CONFIGS: Record<string, WorkflowOptions> = {
    "staging and prod": base,
    "prod only": { ...base, stacks: [prod] },
    "staging only": { ...base, stacks: [staging] },
    "slack off": { ...base, slack: false },
    "Pulumi Cloud state": { ...base, state: "cloud" },
    "S3 state": { ...base, stateCredentials: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] },
};

type Doc = { name: string; on: any; permissions: any; jobs: Record<string, any> };
const file = (o: WorkflowOptions, name: "drill.yml" | "metrics.yml"): GeneratedWorkflow => {
    const w = generateWorkflows(o).find((x) => x.path === `.github/workflows/${name}`);
    assert.ok(w, `no ${name}`);
    return w;
};
const doc = (o: WorkflowOptions, name: "drill.yml" | "metrics.yml"): Doc => parse(file(o, name).content);
const runs = (job: any): string[] => job.steps.filter((s: any) => s.run).map((s: any) => s.run);

describe("drill.yml and metrics.yml", () => {
    describe("drill.yml", () => {
        it("runs monthly (the 1st, 06:00 UTC) and on demand for one stack or all", () => {
            const d = doc(base, "drill.yml");
            assert.equal(d.name, "Drill");
            assert.deepEqual(d.on.schedule, [{ cron: DRILL_CRON }]);
            assert.equal(DRILL_CRON, "0 6 1 * *");
            assert.deepEqual(d.on.workflow_dispatch.inputs.stack, {
                description: "The stack to drill (run the workflow from its branch), or all",
                required: true,
                type: "choice",
                options: ["all", "staging", "prod"],
                default: "all",
            });
            assert.deepEqual(d.permissions, {});
        });

        it("on schedule, only dispatches one run per stack onto the stack's branch (its environment takes jobs from there only)", () => {
            const d = doc(base, "drill.yml");
            const dispatch = d.jobs.dispatch;
            assert.equal(dispatch.if, "github.event_name == 'schedule'");
            assert.deepEqual(dispatch.permissions, { actions: "write" });
            assert.equal(dispatch.environment, undefined, "no stack's secrets");
            const text = runs(dispatch).join("");
            const dir = tempDir("keel-drill-dispatch-");
            fs.writeFileSync(path.join(dir, "gh"), `#!/bin/sh\necho "$@" >> "${dir}/calls"\n`, { mode: 0o755 });
            const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", text], {
                env: { PATH: `${dir}:${process.env.PATH}` },
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"), [
                "workflow run drill.yml --ref staging -f stack=staging",
                "workflow run drill.yml --ref main -f stack=prod",
            ]);
        });

        it("has a job per stack in its environment: the restore drill everywhere, the rollback drill on staging-stage stacks only", () => {
            for (const [label, o] of Object.entries(CONFIGS)) {
                const d = doc(o, "drill.yml");
                assert.deepEqual(
                    Object.keys(d.jobs),
                    [
                        "dispatch",
                        ...o.stacks
                            .map((s) => `drill-${s.stack}`)
                            .sort((a, b) => (a.includes("staging") ? -1 : b.includes("staging") ? 1 : 0)),
                    ],
                    label,
                );
                for (const s of o.stacks) {
                    const job = d.jobs[`drill-${s.stack}`];
                    assert.equal(job.name, `drill (${s.stack})`);
                    assert.equal(job.environment, s.environment, label);
                    assert.deepEqual(job.permissions, { contents: "read", issues: "write" });
                    assert.equal(
                        job.if,
                        `github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/${s.branch}' && (inputs.stack == 'all' || inputs.stack == '${s.stack}')`,
                    );
                    const commands = runs(job).filter((r) => r.startsWith("./keel "));
                    const slack = o.slack ? " --slack" : "";
                    if (s.stage === "staging") {
                        assert.deepEqual(commands, [
                            `./keel db drill --stack ${s.stack} --yes 2>&1 | tee "$RUNNER_TEMP/drill-restore.txt"\n`,
                            `./keel rollback drill --stack ${s.stack} --yes 2>&1 | tee "$RUNNER_TEMP/drill-rollback.txt"\n`,
                            `./keel issue drill --stack ${s.stack} --rollback${slack}\n`,
                        ]);
                        // Two deploys: in the deploy group, never beside a deploy or rollback of the stack.
                        assert.deepEqual(job.concurrency, { group: `deploy-${s.stack}`, "cancel-in-progress": false });
                        assert.equal(job.steps.find((x: any) => x.uses?.startsWith("actions/checkout@")).with["fetch-depth"], 0);
                    } else {
                        assert.deepEqual(commands, [
                            `./keel db drill --stack ${s.stack} --yes 2>&1 | tee "$RUNNER_TEMP/drill-restore.txt"\n`,
                            `./keel issue drill --stack ${s.stack}${slack}\n`,
                        ]);
                        assert.ok(!runs(job).some((r) => r.includes("rollback")), "never a rollback drill on prod");
                        assert.deepEqual(job.concurrency, { group: `drill-${s.stack}`, "cancel-in-progress": false });
                    }
                    // The setup every Pulumi job has, before the drill.
                    assert.ok(job.steps.some((x: any) => x.name === "Check the Pulumi state settings"));
                    const report = job.steps.at(-1);
                    assert.equal(report.name, "Report the drill");
                    assert.equal(report.if, "!cancelled()");
                    assert.equal(report.env.RESTORE_OUTCOME, "${{ steps.restore.outcome }}");
                    assert.equal(report.env.SLACK_WEBHOOK_URL !== undefined, o.slack, label);
                    assert.equal(report.env.PULUMI_CONFIG_PASSPHRASE, undefined, "the report gets no stack secret");
                }
            }
        });
    });

    describe("metrics.yml", () => {
        it("runs Mondays 07:00 UTC and on demand: keel metrics of 7 days to the summary, and Slack when on", () => {
            const d = doc(base, "metrics.yml");
            assert.equal(d.name, "Metrics");
            assert.deepEqual(d.on, { schedule: [{ cron: METRICS_CRON }], workflow_dispatch: {} });
            assert.equal(METRICS_CRON, "0 7 * * 1");
            assert.deepEqual(Object.keys(d.jobs), ["metrics"]);
            const job = d.jobs.metrics;
            // gh reads the incident issues for the time to restore.
            assert.deepEqual(job.permissions, { contents: "read", issues: "read" });
            assert.deepEqual(job.concurrency, { group: "metrics", "cancel-in-progress": true });
            // The stack deploying from the default branch: a scheduled run (on that branch) is let into its environment.
            assert.equal(job.environment, "production");
            const step = job.steps.at(-1);
            assert.equal(step.run, './keel metrics --since 7d --markdown "$GITHUB_STEP_SUMMARY" --slack\n');
            assert.deepEqual(Object.keys(step.env).sort(), [
                "GH_REPO",
                "GH_TOKEN",
                "PULUMI_BACKEND_URL",
                "PULUMI_CONFIG_PASSPHRASE",
                "SLACK_WEBHOOK_URL",
            ]);
            const off = doc(CONFIGS["slack off"], "metrics.yml").jobs.metrics.steps.at(-1);
            assert.equal(off.run, './keel metrics --since 7d --markdown "$GITHUB_STEP_SUMMARY"\n');
            assert.equal(off.env.SLACK_WEBHOOK_URL, undefined);
            assert.equal(doc(CONFIGS["staging only"], "metrics.yml").jobs.metrics.environment, "staging");
            assert.deepEqual(Object.keys(doc(CONFIGS["Pulumi Cloud state"], "metrics.yml").jobs.metrics.steps.at(-1).env).sort(), [
                "GH_REPO",
                "GH_TOKEN",
                "PULUMI_ACCESS_TOKEN",
                "SLACK_WEBHOOK_URL",
            ]);
        });
    });

    describe("both", () => {
        const all = Object.values(CONFIGS).flatMap((o) => [file(o, "drill.yml"), file(o, "metrics.yml")]);

        it("keep secrets out of run scripts: whole env values only", () => {
            for (const w of all) {
                const d: Doc = parse(w.content);
                for (const job of Object.values<any>(d.jobs)) {
                    assert.ok(Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"] > 0);
                    for (const s of job.steps.filter((x: any) => x.run !== undefined)) {
                        assert.ok(!s.run.includes("${{"), `${w.path} '${s.name}' has an expression in run`);
                        // The keel commands read their secrets from the env: no variable but the runner's files on their command lines.
                        if (s.run.startsWith("./keel "))
                            assert.deepEqual(
                                [...new Set<string>(s.run.match(/\$[A-Z_]+/g) ?? [])].filter(
                                    (v) => !["$RUNNER_TEMP", "$GITHUB_STEP_SUMMARY"].includes(v),
                                ),
                                [],
                                `${w.path} '${s.name}': ${s.run}`,
                            );
                        assert.ok(s.run.split("\n").length - 1 <= 10, `${w.path} '${s.name}'`);
                    }
                }
                for (const line of w.content.split("\n").filter((l) => l.includes("secrets."))) {
                    assert.match(line, /^\s+[A-Z_]+: \$\{\{ secrets\.[A-Z_]+ \}\}$/, `${w.path}: ${line}`);
                }
            }
        });

        for (const [label, o] of Object.entries(CONFIGS)) {
            it(`are actionlint-clean, shellcheck included (${label})`, function () {
                const tools = requireLintTools(this);
                const found = actionlint(tools, [file(o, "drill.yml"), file(o, "metrics.yml")]);
                assert.deepEqual(found, [], found.map((f) => `${f.filepath}:${f.line}:${f.column} ${f.kind}: ${f.message}`).join("\n"));
            });
        }
    });

    describe("the drill's steps on a runner", () => {
        let server: http.Server;
        let posts: string[];
        let webhook: string;
        before(async () => {
            posts = [];
            server = http.createServer((req, res) => {
                let body = "";
                req.on("data", (d) => (body += d));
                req.on("end", () => {
                    posts.push(JSON.parse(body).text);
                    res.end("ok");
                });
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
        });
        after(() => server.close());

        it("a failing restore drill fails its step with its log kept; the report opens the stack's drill issue and posts to Slack", async function () {
            this.timeout(180_000);
            const state = tempDir("keel-drill-wf-");
            const job = doc(base, "drill.yml").jobs["drill-staging"];
            const step = (id: string): WorkflowStep => job.steps.find((s: any) => s.id === id || s.name === id);
            // The drill commands stand in (a keel in a directory of its own); the report is the real ./keel.
            const fake = tempDir("keel-drill-fake-");
            fs.writeFileSync(
                path.join(fake, "keel"),
                [
                    "#!/bin/bash",
                    'echo "$*" >> "$STATE/keel-calls"',
                    'if [ "$1" = db ]; then echo "drill restore of staging: succeeded in 2.0 s"; echo "drill snapshot of staging: failed in 1.5 s: no snapshot branch"; exit 1; fi',
                    'echo "drill rollback of staging: succeeded in 9.0 s (back 4.0 s, forward 5.0 s)"',
                ].join("\n"),
                { mode: 0o755 },
            );
            const gh = [
                "#!/bin/bash",
                'echo "$*" >> "$STATE/gh-calls"',
                'case "$1 $2" in',
                '  "issue list") echo "[]" ;;',
                '  "issue create") cat > "$STATE/body.md"; echo https://github.example/o/r/issues/9 ;;',
                "esac",
            ].join("\n");
            const ctx: GithubContext = {
                github: { server_url: "https://example.test", repository: "o/r", run_id: "5", token: "t" },
                secrets: { SLACK_WEBHOOK_URL: webhook, PULUMI_CONFIG_PASSPHRASE: "p" },
                vars: { PULUMI_BACKEND_URL: "file:///nowhere" },
            };
            const runner = { PATH: process.env.PATH, HOME: process.env.HOME, STATE: state };
            const restore = await runStepScript(step("restore"), ctx, { cwd: fake, base: runner });
            assert.notEqual(restore.status, 0, "the failed drill fails its step (pipefail through tee)");
            assert.match(fs.readFileSync(path.join(restore.runnerTemp, "drill-restore.txt"), "utf8"), /no snapshot branch/);
            const inTemp = (s: WorkflowStep): WorkflowStep => ({
                ...s,
                run: `export RUNNER_TEMP=${JSON.stringify(restore.runnerTemp)}\n${s.run}`,
            });
            const rollback = await runStepScript(inTemp(step("rollback")), ctx, { cwd: fake, base: runner });
            assert.equal(rollback.status, 0, rollback.text);
            assert.equal(
                fs.readFileSync(path.join(state, "keel-calls"), "utf8"),
                "db drill --stack staging --yes\nrollback drill --stack staging --yes\n",
            );

            const report = step("Report the drill");
            const r = await runStepScript(
                inTemp({ ...report, env: { ...report.env, RESTORE_OUTCOME: "failure", ROLLBACK_OUTCOME: "success" } }),
                ctx,
                { cwd: ROOT, base: runner, fakes: { gh } },
            );
            assert.equal(r.status, 0, r.text);
            assert.match(
                fs.readFileSync(path.join(state, "gh-calls"), "utf8"),
                /issue create --title Drill failed: staging --label drill --body-file -/,
            );
            const body = fs.readFileSync(path.join(state, "body.md"), "utf8");
            assert.match(body, /^\| snapshot \| \*\*FAILED\*\* \| 1\.5 s \| no snapshot branch \|$/m);
            assert.match(body, /^Run: https:\/\/example\.test\/o\/r\/actions\/runs\/5$/m);
            assert.deepEqual(posts, [
                "Drill of staging: FAILED. restore 2.0 s; snapshot FAILED: no snapshot branch; rollback 9.0 s (back 4.0 s, forward 5.0 s). " +
                    "Run: https://example.test/o/r/actions/runs/5. Issue: https://github.example/o/r/issues/9",
            ]);
        });
    });
});
