import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { parse } from "yaml";
import { KeelError } from "../../components/errors";
import { pinnedPulumiVersion } from "../../components/pulumiVersion";
import { WATCH_MAX_MINUTES } from "../../components/config";
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
import { actionlint, requireLintTools, type Finding } from "../support/actionlint";
import { ROOT } from "../support/repoRoot";
import { tempDir } from "../support/tempDir";
import { generatedStep, GithubContext, runStepScript, type WorkflowStep } from "../support/workflowStep";

/** The Pulumi CLI the workflows install: tools/pulumi/go.mod's pin, read by the code under test. */
const PULUMI_VERSION = pinnedPulumiVersion(ROOT);

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
    pulumiVersion: PULUMI_VERSION,
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
    "S3 state": { ...base, stacks: [staging, prod], stateCredentials: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] },
    "previews from staging": { ...base, stacks: [staging, prod], previews: { base: "staging", ttlDays: 7 } },
};

const describeFindings = (found: Finding[]): string =>
    found.map((f) => `${f.filepath}:${f.line}:${f.column} ${f.kind}: ${f.message}`).join("\n");

type Doc = { name: string; on: any; permissions: any; concurrency?: any; jobs: Record<string, any> };
const docOf = (w: GeneratedWorkflow): Doc => parse(w.content);
const byFile = (ws: GeneratedWorkflow[], file: string): GeneratedWorkflow => {
    const w = ws.find((x) => x.path === `.github/workflows/${file}`);
    assert.ok(w, `no ${file}`);
    return w;
};
const allSteps = (doc: Doc): any[] => Object.values(doc.jobs).flatMap((j: any) => j.steps);

describe("GitHub workflows", () => {
    describe("actionlint", () => {
        // Every finding counts, shellcheck's infos included: a script that must keep one says so
        // itself, with a `# shellcheck disable=SCxxxx` directive and the reason.
        for (const [label, options] of Object.entries(CONFIGS)) {
            it(`finds nothing in any workflow, shellcheck included (${label})`, function () {
                const tools = requireLintTools(this);
                const workflows = generateWorkflows(options);
                assert.deepEqual(
                    workflows.map((w) => w.path),
                    [
                        ...["ci", "preview", "deploy", "rollback", "drift", "monitor", "release", "drill", "metrics"],
                        // Only where the base stack has keel:previews.enabled.
                        ...(options.previews ? ["previews"] : []),
                    ].map((n) => `.github/workflows/${n}.yml`),
                );
                const found = actionlint(tools, workflows);
                assert.deepEqual(found, [], describeFindings(found));
            });
        }

        it("still reports problems, shellcheck's among them; knows the vars context", function () {
            const tools = requireLintTools(this);
            const bad = [
                "on: push",
                "jobs:",
                "  a:",
                "    runs-on: ubuntu-latest",
                "    steps:",
                "      - run: echo ${{ github.event.head_commit.message }}",
                "      - run: echo $HOME",
                "        env:",
                "          A: ${{ varz.FOO }}",
                "          B: ${{ vars.FOO }}",
                "  b:",
                "    runs-onn: ubuntu-latest",
                "    steps: [{ run: echo }]",
            ].join("\n");
            const kinds = actionlint(tools, [{ path: ".github/workflows/bad.yml", content: bad }]).map((f) => f.message);
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
            assert.ok(
                kinds.some((m) => /shellcheck reported issue in this script: SC2086:/.test(m)),
                kinds.join("\n"),
            );
            assert.ok(!kinds.some((m) => m.includes('undefined variable "vars"')), kinds.join("\n"));
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
            // Both stacks have a backend: the deploy watch may open the incident issue; the report sets the deployment status.
            for (const p of perms("deploy.yml")) assert.deepEqual(p, { contents: "read", deployments: "write", issues: "write" });
            for (const p of perms("rollback.yml").slice(1)) assert.deepEqual(p, { contents: "read", deployments: "write" });
            assert.deepEqual(perms("rollback.yml")[0], {}, "the input check needs nothing");
            const noBackend = Object.values(docOf(byFile(generateWorkflows(CONFIGS["no backend"]), "deploy.yml")).jobs);
            for (const j of noBackend as any[]) assert.deepEqual(j.permissions, { contents: "read", deployments: "write" });
            for (const p of perms("drift.yml")) assert.deepEqual(p, { contents: "read", issues: "write" });
            for (const p of perms("monitor.yml")) assert.deepEqual(p, { contents: "read", issues: "write" });
            for (const p of perms("release.yml")) assert.deepEqual(p, { contents: "write" });
        });

        it("gives bash only scripts it can parse (bash -n), in every workflow and config", () => {
            let seen = 0;
            for (const w of workflows) {
                for (const s of allSteps(docOf(w)).filter((x) => x.run !== undefined)) {
                    const r = spawnSync("bash", ["-n"], { input: s.run, encoding: "utf8" });
                    assert.equal(r.status, 0, `${w.path} '${s.name}': ${r.stderr}`);
                    seen++;
                }
            }
            assert.ok(seen > 100);
        });

        it("keeps every run: block to 10 lines: longer logic is a keel command", () => {
            // `workflows`: every configuration's; the bash left (what runs before npm ci can be relied on) included.
            let keel = 0;
            let seen = 0;
            for (const w of workflows) {
                for (const s of allSteps(docOf(w)).filter((x) => x.run !== undefined)) {
                    const lines = s.run.split("\n").length - 1;
                    assert.ok(lines <= 10, `${w.path} '${s.name}' runs ${lines} lines:\n${s.run}`);
                    seen++;
                    if (s.run.startsWith("./keel ")) keel++;
                }
            }
            assert.ok(seen > 100 && keel > 10, `${seen} run: blocks, ${keel} of them ./keel`);
        });

        it("never leaves the token in the checkout", () => {
            for (const w of workflows) {
                for (const s of allSteps(docOf(w)).filter((x) => x.uses?.startsWith("actions/checkout@"))) {
                    assert.equal(s.with["persist-credentials"], false);
                }
            }
        });
    });

    describe("the Pulumi CLI", () => {
        /** tools/pulumi/go.mod's requirement, read here on its own (not through the code under test). */
        const goModPin = /^\s*github\.com\/pulumi\/pulumi\/pkg\/v3 v(\d+\.\d+\.\d+)\b/m.exec(
            fs.readFileSync(path.join(ROOT, "tools/pulumi/go.mod"), "utf8"),
        )?.[1];
        /** Jobs that run Pulumi: each stack job, and CI's tests (the end-to-end tests run the engine). */
        const pulumiJobs = (ws: GeneratedWorkflow[]) =>
            ws.flatMap((w) =>
                Object.entries(docOf(w).jobs)
                    .filter(([id, j]: [string, any]) => id === "test" || j.environment)
                    .map(([id, j]: [string, any]) => ({ where: `${w.path} ${id}`, steps: j.steps as any[] })),
            );

        it("is the version tools/pulumi/go.mod pins, in every job that runs Pulumi, in every config", () => {
            assert.ok(goModPin, "tools/pulumi/go.mod requires github.com/pulumi/pulumi/pkg/v3");
            assert.equal(PULUMI_VERSION, goModPin);
            let seen = 0;
            for (const options of Object.values(CONFIGS)) {
                for (const { where, steps } of pulumiJobs(generateWorkflows(options))) {
                    seen++;
                    const installs = steps.filter((s) => s.uses?.startsWith("pulumi/actions@") && !s.with.command);
                    assert.equal(installs.length, 1, where);
                    assert.deepEqual(installs[0].with, { "pulumi-version": goModPin }, where);
                    // Every use of the action names the same version (the preview's would otherwise accept any 3.x on PATH).
                    for (const s of steps.filter((x) => x.uses?.startsWith("pulumi/actions@")))
                        assert.equal(s.with["pulumi-version"], goModPin, where);
                    // After npm ci (npm run needs it), before anything that runs Pulumi.
                    const at = steps.indexOf(installs[0]);
                    const npmCi = steps.findIndex((s) => s.run === "npm ci --no-audit --no-fund\n");
                    const firstRun = steps.findIndex((s) => /npm (run|test)\b/.test(s.run ?? "") || s.with?.command);
                    assert.ok(npmCi >= 0 && npmCi < at && at < firstRun, where);
                    const check = steps[at + 1];
                    assert.match(check.run, /^found=\$\(npm run --silent pulumi -- version\)\n/, where);
                    assert.ok(check.run.includes(`if [ "$found" != "v${goModPin}" ]; then`), where);
                }
            }
            assert.ok(seen >= 7, `${seen} jobs`);
        });

        it("follows the version given, and nothing fetches npm's launcher", () => {
            for (const w of generateWorkflows({ ...base, pulumiVersion: "3.999.1" })) {
                assert.ok(!w.content.includes(PULUMI_VERSION), `${w.path} still names ${PULUMI_VERSION}`);
                assert.ok(!w.content.includes("node_modules/.bin"), w.path);
                for (const s of allSteps(docOf(w)).filter((x) => x.uses?.startsWith("pulumi/actions@")))
                    assert.equal(s.with["pulumi-version"], "3.999.1");
            }
        });

        it("the check refuses a CLI of another version, naming both", () => {
            const check = pulumiJobs(generateWorkflows(base))[0].steps.find((s) => s.run?.startsWith("found=$(npm run --silent pulumi"));
            const bin = tempDir("keel-fake-npm-");
            const run = (answer: string) => {
                fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\necho ${answer}\n`, { mode: 0o755 });
                return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", check.run], {
                    env: { PATH: `${bin}:${process.env.PATH}` },
                    encoding: "utf8",
                });
            };
            const ok = run(`v${PULUMI_VERSION}`);
            assert.equal(ok.status, 0, ok.stdout + ok.stderr);
            const old = run("v3.265.0");
            assert.equal(old.status, 1);
            assert.match(
                old.stdout,
                new RegExp(
                    `::error::Keel's npm scripts found the Pulumi CLI v3\\.265\\.0, not v${PULUMI_VERSION.replace(/\./g, "\\.")} \\(tools/pulumi/go\\.mod\\)`,
                ),
            );
        });

        it("CI's tests get the linters the workflow tests need", () => {
            const test = docOf(byFile(generateWorkflows(base), "ci.yml")).jobs.test.steps as any[];
            const tools = test.find((s) => /actionlint/.test(s.name));
            assert.match(tools.run, /npm run lint-tools:build/);
            assert.match(tools.run, /apt-get install -y --no-install-recommends shellcheck/);
            assert.ok(test.indexOf(tools) < test.length - 1);
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
            const action = p.steps.find((s: any) => s.uses?.startsWith("pulumi/actions@") && s.with.command);
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
                const ran = job.steps.filter((s: any) => s.if !== "always()");
                assert.match(ran[ran.length - 1].run, /^npm run up /);
                assert.ok(!job.steps.some((s: any) => s.id === "watch"), "no backend, no watch");
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
            // An object store's credentials reach every Pulumi step, and the state check names a missing one.
            const s3 = { ...base, stateCredentials: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] };
            assert.equal(env(s3).AWS_ACCESS_KEY_ID, "${{ secrets.AWS_ACCESS_KEY_ID }}");
            assert.equal(env(s3).AWS_SECRET_ACCESS_KEY, "${{ secrets.AWS_SECRET_ACCESS_KEY }}");
            for (const file of ["deploy.yml", "rollback.yml", "drift.yml", "preview.yml"]) {
                for (const [name, job] of Object.entries(docOf(byFile(generateWorkflows(s3), file)).jobs) as [string, any][]) {
                    for (const st of job.steps.filter((x: any) => x.env?.PULUMI_BACKEND_URL)) {
                        assert.equal(st.env.AWS_SECRET_ACCESS_KEY, "${{ secrets.AWS_SECRET_ACCESS_KEY }}", `${file} ${name}: ${st.name}`);
                    }
                }
            }
            const check = docOf(byFile(generateWorkflows(s3), "deploy.yml")).jobs["deploy-prod"].steps.find(
                (x: any) => x.name === "Check the Pulumi state settings",
            );
            const r = spawnSync("bash", ["-c", check.run], {
                env: {
                    PATH: process.env.PATH,
                    PULUMI_BACKEND_URL: "s3://b?region=us-east-1",
                    PULUMI_CONFIG_PASSPHRASE: "pp",
                    AWS_ACCESS_KEY_ID: "AKIA",
                },
                encoding: "utf8",
            });
            assert.equal(r.status, 1);
            assert.match(r.stdout, /::error::The production environment has no AWS_SECRET_ACCESS_KEY secret/);
            assert.equal(env(base).AWS_ACCESS_KEY_ID, undefined, "no store credentials for a backend that needs none");
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

    describe("rollback.yml", () => {
        const ws = generateWorkflows(CONFIGS["staging and prod"]);
        const doc = docOf(byFile(ws, "rollback.yml"));
        const deploy = docOf(byFile(ws, "deploy.yml"));

        it("is the button: a manual dispatch with the stack (a choice of the deploying stacks), the version and with-data", () => {
            assert.equal(doc.name, "Rollback");
            assert.deepEqual(Object.keys(doc.on), ["workflow_dispatch"]);
            assert.deepEqual(doc.on.workflow_dispatch.inputs, {
                stack: {
                    description: "The stack to roll back (run the workflow from its branch)",
                    required: true,
                    type: "choice",
                    options: ["staging", "prod"],
                    default: "prod",
                },
                version: {
                    description:
                        "The Pulumi stack version or git commit to go back to; empty: the last successful version before the current one",
                    required: false,
                    type: "string",
                    default: "",
                },
                "with-data": {
                    description: "Also restore the database from the backup taken with that version (needs a version)",
                    required: false,
                    type: "boolean",
                    default: false,
                },
            });
            const staging = docOf(byFile(generateWorkflows(CONFIGS["staging only"]), "rollback.yml"));
            assert.deepEqual(staging.on.workflow_dispatch.inputs.stack.options, ["staging"]);
            assert.equal(staging.on.workflow_dispatch.inputs.stack.default, "staging");
        });

        it("rolls back in the stack's environment, one at a time with its deploys, with the deploy's setup and secrets", () => {
            assert.deepEqual(Object.keys(doc.jobs), ["check", "rollback-staging", "rollback-prod"]);
            assert.equal(doc.jobs.check.environment, undefined, "the inputs are checked before any reviewer is asked");
            for (const stack of ["staging", "prod"]) {
                const job = doc.jobs[`rollback-${stack}`];
                const dep = deploy.jobs[`deploy-${stack}`];
                assert.equal(job.if, `inputs.stack == '${stack}'`);
                assert.deepEqual(job.needs, ["check"]);
                assert.equal(job.environment, dep.environment);
                assert.deepEqual(job.concurrency, dep.concurrency, "one group per stack for deploys and rollbacks");
                assert.deepEqual(job.concurrency, { group: `deploy-${stack}`, "cancel-in-progress": false });
                assert.deepEqual(job.env, dep.env);
                // The same setup as the deploy (the whole history in both: a rollback runs an earlier commit).
                const setup = (steps: any[]) =>
                    steps.slice(0, 6).map((x: any) => ({ name: x.name, uses: x.uses, with: x.with, run: x.run }));
                assert.deepEqual(setup(job.steps), setup(dep.steps));
                assert.equal(job.steps[0].with["fetch-depth"], 0);
                const run = job.steps.find((x: any) => x.id === "rollback");
                const up = dep.steps.find((x: any) => /^npm run up /.test(x.run ?? ""));
                const { VERSION, WITH_DATA, KEEL_TRIGGER, KEEL_ENVIRONMENT, KEEL_DEPLOYMENTS_TOKEN, SLACK_WEBHOOK_URL, ...secrets } =
                    run.env;
                assert.deepEqual(secrets, up.env, "the deploy's secrets and variables");
                assert.deepEqual([VERSION, WITH_DATA], ["${{ inputs.version }}", "${{ inputs.with-data }}"]);
                // The rollback's record and notice: by the button, the environment's deployment status, Slack.
                assert.deepEqual(
                    [KEEL_TRIGGER, KEEL_ENVIRONMENT, KEEL_DEPLOYMENTS_TOKEN, SLACK_WEBHOOK_URL],
                    ["button", dep.environment, "${{ github.token }}", "${{ secrets.SLACK_WEBHOOK_URL }}"],
                );
                assert.ok(!run.run.includes("inputs"), "inputs reach the script through env only");
                const summary = job.steps[job.steps.length - 1];
                assert.equal(summary.if, "always()");
                assert.equal(summary.env.OUTCOME, "${{ steps.rollback.outcome }}");
            }
        });

        /** Runs a script under bash as Actions does, with fakes on PATH; returns the exit status, output and what the fakes saw. */
        function runScript(text: string, env: Record<string, string>, fakes: Record<string, string> = {}) {
            const dir = tempDir("keel-rollback-");
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.mkdirSync(path.join(dir, "tmp"));
            for (const [name, body] of Object.entries(fakes)) fs.writeFileSync(path.join(bin, name), body, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "script.sh"), text);
            const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "script.sh"], {
                cwd: dir,
                env: {
                    PATH: `${bin}:${process.env.PATH}`,
                    STATE: dir,
                    RUNNER_TEMP: path.join(dir, "tmp"),
                    GITHUB_STEP_SUMMARY: path.join(dir, "summary.md"),
                    ...env,
                },
                encoding: "utf8",
            });
            const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
            return { status: r.status, out: r.stdout + r.stderr, read, dir };
        }
        const fakeNpm = '#!/bin/bash\nprintf "%s\\n" "$@" > "$STATE/npm-args"\necho "rolling back"\necho "recovered in 12.5 s"\n';

        it("passes the inputs to npm run rollback as arguments of their own, never as script text", () => {
            const step = doc.jobs["rollback-prod"].steps.find((x: any) => x.id === "rollback");
            const args = (env: Record<string, string>) => {
                const r = runScript(step.run, env, { npm: fakeNpm });
                assert.equal(r.status, 0, r.out);
                assert.match(r.read("tmp/rollback.txt"), /recovered in 12\.5 s/);
                return r.read("npm-args").trimEnd().split("\n");
            };
            assert.deepEqual(args({ VERSION: "", WITH_DATA: "false" }), [
                "run",
                "rollback",
                "--",
                "--stack",
                "prod",
                "--previous",
                "--yes",
            ]);
            assert.deepEqual(args({ VERSION: "42", WITH_DATA: "true" }), [
                "run",
                "rollback",
                "--",
                "--stack",
                "prod",
                "--to",
                "42",
                "--yes",
                "--with-data",
            ]);
            const hostile = '$(touch pwned); `touch pwned2` "x';
            const r = runScript(step.run, { VERSION: hostile, WITH_DATA: "false" }, { npm: fakeNpm });
            assert.equal(r.status, 0, r.out);
            assert.deepEqual(r.read("npm-args").trimEnd().split("\n").slice(5, 7), ["--to", hostile]);
            assert.ok(!fs.existsSync(path.join(r.dir, "pwned")) && !fs.existsSync(path.join(r.dir, "pwned2")));
            const failing = runScript(step.run, { VERSION: "", WITH_DATA: "false" }, { npm: "#!/bin/bash\necho boom\nexit 3\n" });
            assert.equal(failing.status, 3, "the step fails with the command");
        });

        it("checks the inputs first: the stack's branch, a version that is a version or commit, with-data only with a version", () => {
            const check = doc.jobs.check.steps[0];
            assert.deepEqual(check.env, {
                STACK: "${{ inputs.stack }}",
                VERSION: "${{ inputs.version }}",
                WITH_DATA: "${{ inputs.with-data }}",
                REF: "${{ github.ref }}",
            });
            const run = (env: Record<string, string>) => runScript(check.run, { VERSION: "", WITH_DATA: "false", ...env });
            assert.equal(run({ STACK: "prod", REF: "refs/heads/main" }).status, 0);
            assert.equal(run({ STACK: "staging", REF: "refs/heads/staging", VERSION: "a1b2c3d", WITH_DATA: "true" }).status, 0);
            assert.equal(run({ STACK: "prod", REF: "refs/heads/main", VERSION: "17" }).status, 0);
            const wrongBranch = run({ STACK: "staging", REF: "refs/heads/main" });
            assert.equal(wrongBranch.status, 1);
            assert.match(wrongBranch.out, /staging stack deploys from the staging branch.*Use workflow from: staging/);
            for (const version of ["--with-data", "$(id)", "a b", "x".repeat(101)]) {
                const r = run({ STACK: "prod", REF: "refs/heads/main", VERSION: version });
                assert.equal(r.status, 1, version);
                assert.match(r.out, /::error::The version must be/);
                assert.ok(!r.out.includes(version), "an invalid version is not echoed into a workflow command");
            }
            const noVersion = run({ STACK: "prod", REF: "refs/heads/main", WITH_DATA: "true" });
            assert.equal(noVersion.status, 1);
            assert.match(noVersion.out, /with-data restores the database .* give the version too/);
            const unknown = run({ STACK: "qa", REF: "refs/heads/main" });
            assert.equal(unknown.status, 1);
            assert.match(unknown.out, /one this repository deploys: staging, prod/);
        });

        it("shows the result in the job summary", () => {
            const summary = doc.jobs["rollback-prod"].steps.at(-1);
            const show = (outcome: string, output: string | undefined, env: Record<string, string> = {}) => {
                const dir = tempDir("keel-rollback-summary-");
                if (output !== undefined) fs.writeFileSync(path.join(dir, "rollback.txt"), output);
                const r = runScript(summary.run, {
                    OUTCOME: outcome,
                    VERSION: "",
                    WITH_DATA: "false",
                    RUN_URL: "https://github.example/run/9",
                    RUNNER_TEMP: dir,
                    ...env,
                });
                assert.equal(r.status, 0, r.out);
                return r.read("summary.md");
            };
            const ok = show("success", "rolling back\nrecovered in 31.2 s\n");
            assert.match(ok, /^### Rollback of prod: succeeded, recovered in 31\.2 s$/m);
            assert.match(ok, /^- To: the previous successful version$/m);
            assert.match(ok, /```\nrolling back\nrecovered in 31\.2 s\n```/);
            const failed = show("failure", "error: no such version\n", { VERSION: "99", WITH_DATA: "true" });
            assert.match(failed, /^### Rollback of prod: FAILED$/m);
            assert.match(failed, /^- To: version or commit 99$/m);
            assert.match(failed, /^- With data: true$/m);
            assert.match(show("skipped", undefined), /^### Rollback of prod: not run \(skipped\)$/m);
        });
    });

    describe("the deploy watch", () => {
        const ws = generateWorkflows(CONFIGS["staging and prod"]);
        const deploy = docOf(byFile(ws, "deploy.yml"));
        const monitor = docOf(byFile(ws, "monitor.yml"));

        it("follows the health check when the stack's watch minutes are above 0, probing the monitor's URLs", () => {
            for (const stack of ["staging", "prod"]) {
                const job = deploy.jobs[`deploy-${stack}`];
                const names = job.steps.map((x: any) => x.name);
                const watch = job.steps.find((x: any) => x.id === "watch");
                assert.equal(names.indexOf(watch.name), names.indexOf("Health check") + 1);
                assert.equal(watch.if, "vars.KEEL_WATCH_MINUTES > 0");
                assert.deepEqual(
                    [watch.env.WATCH_MINUTES, watch.env.WATCH_INTERVAL_SECONDS, watch.env.WATCH_FAILURES],
                    ["${{ vars.KEEL_WATCH_MINUTES }}", "${{ vars.KEEL_WATCH_INTERVAL_SECONDS }}", "${{ vars.KEEL_WATCH_FAILURES }}"],
                );
                const probed = monitor.jobs[`monitor-${stack}`].steps.at(-1).env;
                assert.equal(watch.env.BACKEND_HEALTH_URL, probed.BACKEND_HEALTH_URL);
                assert.equal(watch.env.FRONTEND_HEALTH_URL, probed.FRONTEND_HEALTH_URL, "the frontend too where there is one");
                assert.equal(watch.env.ROLLBACK_URL, "${{ github.server_url }}/${{ github.repository }}/actions/workflows/rollback.yml");
                const up = job.steps.find((x: any) => /^npm run up /.test(x.run ?? ""));
                for (const [k, v] of Object.entries(up.env)) assert.equal(watch.env[k], v, `the rollback gets the deploy's ${k}`);
                // The watch is the checkout's keel (npm ci ran before it); the rollback it runs is `npm run rollback -- --previous --yes`.
                const frontend = stack === "prod" ? " --frontend" : "";
                assert.equal(
                    watch.run,
                    `./keel deploy watch --stack ${stack} --environment ${job.environment} --branch ${stack === "prod" ? "main" : "staging"} --backend${frontend}\n`,
                );
                // The report step posts the deploy's one notice: the watch gets no webhook, and its rollback is the watch's.
                assert.equal(watch.env.SLACK_WEBHOOK_URL, undefined);
                assert.equal(watch.env.KEEL_TRIGGER, "watch");
                assert.equal(job.steps[0].with["fetch-depth"], 0, "a rollback runs an earlier commit");
                assert.ok(job["timeout-minutes"] >= up["timeout-minutes"] + watch["timeout-minutes"], "the job has room for the watch");
                assert.ok(watch["timeout-minutes"] >= WATCH_MAX_MINUTES + 30);
            }
            assert.equal(
                deploy.jobs["deploy-prod"].steps.find((x: any) => x.id === "watch").env.FRONTEND_HEALTH_URL,
                "${{ vars.KEEL_PROD_FRONTEND_HEALTH_URL }}",
            );
            const off = docOf(byFile(generateWorkflows(CONFIGS["slack off"]), "deploy.yml"));
            assert.ok(!JSON.stringify(off).includes("SLACK"));
        });

        it("ends every deploy job with the report, whatever happened: the steps' outcomes, the deployment status's token, Slack where it is on", () => {
            for (const options of [CONFIGS["staging and prod"], CONFIGS["no backend"], CONFIGS["slack off"]]) {
                const job = docOf(byFile(generateWorkflows(options), "deploy.yml")).jobs["deploy-staging"];
                const step = job.steps.at(-1);
                assert.equal(step.name, "Report the deploy");
                assert.equal(step.if, "always()");
                const slack = options !== CONFIGS["slack off"];
                assert.equal(step.run, `./keel deploy report --stack staging --environment ${job.environment}${slack ? " --slack" : ""}\n`);
                const ids = job.steps.map((x: any) => x.id).filter(Boolean);
                for (const [variable, id] of [
                    ["PREFLIGHT_OUTCOME", "preflight"],
                    ["UP_OUTCOME", "up"],
                    ["HEALTH_OUTCOME", "health"],
                    ["WATCH_OUTCOME", "watch"],
                ]) {
                    if (ids.includes(id)) assert.equal(step.env[variable], `\${{ steps.${id}.outcome }}`, variable);
                    else assert.equal(step.env[variable], undefined, `${variable}: no ${id} step`);
                }
                assert.ok(ids.includes("preflight") && ids.includes("up"));
                assert.equal(step.env.KEEL_DEPLOYMENTS_TOKEN, "${{ github.token }}");
                assert.equal(job.permissions.deployments, "write");
                assert.equal(step.env.SLACK_WEBHOOK_URL, slack ? "${{ secrets.SLACK_WEBHOOK_URL }}" : undefined);
                assert.equal(step.env.ROLLBACK_URL, "${{ github.server_url }}/${{ github.repository }}/actions/workflows/rollback.yml");
            }
        });

        it("runs ./keel deploy watch from the checkout with the step's env: no watch at 0 minutes, settings that are not numbers fail", async function () {
            this.timeout(120_000);
            const step = generatedStep(
                { ...base, stacks: [{ ...prod, hasFrontend: false }] },
                "deploy.yml",
                "deploy-prod",
                (x) => x.id === "watch",
            );
            const ctx = (vars: Record<string, string>): GithubContext => ({
                vars: { KEEL_PROD_BACKEND_HEALTH_URL: "http://127.0.0.1:9/healthz", ...vars },
                github: { server_url: "https://github.com", repository: "o/r", run_id: "1", sha: "abc1234", token: "t" },
            });
            const runner = { cwd: ROOT, base: { PATH: process.env.PATH, HOME: process.env.HOME } };
            const off = await runStepScript(step, ctx({ KEEL_WATCH_MINUTES: "0" }), runner);
            assert.equal(off.status, 0, off.text);
            assert.match(off.text, /No watch: keel:backend\.watch\.minutes is 0 for prod\./);
            const bad = await runStepScript(step, ctx({ KEEL_WATCH_MINUTES: "5", KEEL_WATCH_INTERVAL_SECONDS: "soon" }), runner);
            assert.equal(bad.status, 1, bad.text);
            assert.match(
                bad.text,
                /::error::The watch settings \(KEEL_WATCH_MINUTES, KEEL_WATCH_INTERVAL_SECONDS and KEEL_WATCH_FAILURES in the production environment\) are not whole numbers: '5', 'soon', '3'/,
            );
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
            // Both checks run whatever the first says; the step fails when either does.
            assert.match(check.run, /^set \+e\n/);
            assert.match(check.run, /^npm run drift -- --stack prod --markdown "\$RUNNER_TEMP\/drift\.md" 2>&1 \| tee /m);
            assert.match(check.run, /^npm run preview -- prod --refresh --expect-no-changes 2>&1 \| tee /m);
            assert.match(check.run, /\[ "\$drift" -eq 0 \] && \[ "\$preview" -eq 0 \]\n$/);
            const issue = job.steps.find((s: any) => s.if === "failure() && steps.drift.outcome == 'failure'");
            // The issue is keel's (components/operations/driftIssue.ts): the check's files and exit codes.
            assert.equal(issue.run, "./keel issue drift --stack prod\n");
            assert.equal(issue.env.DRIFT_EXIT, "${{ steps.drift.outputs.drift }}");
            assert.equal(issue.env.PREVIEW_EXIT, "${{ steps.drift.outputs.preview }}");
            assert.equal(issue.env.GH_TOKEN, "${{ github.token }}");
            const close = job.steps.find((s: any) => s.if === "success()");
            assert.equal(close.run, "./keel issue drift --stack prod --resolved\n");
        });

        it("runs both checks whatever the first says, and the issue lists the drifted objects from the drift command's Markdown", async function () {
            this.timeout(120_000);
            const dir = tempDir("keel-drift-wf-");
            // npm run drift exits 1 and writes its Markdown where --markdown says; the preview passes.
            const npm = [
                "#!/bin/bash",
                'echo "$*" >> "$STATE/npm-calls"',
                'if [ "$2" = drift ]; then',
                `  while [ $# -gt 0 ]; do if [ "$1" = --markdown ]; then printf '%s\\n' '| stack |' '' '- \`+ index public.accounts_email_idx: CREATE INDEX ...\`' > "$2"; fi; shift; done`,
                "  echo 'prod: drift'; exit 1",
                "fi",
                "echo 'Previewing update (prod)'",
            ].join("\n");
            // gh as GitHub: no open issue; the body comes on stdin (--body-file -).
            const gh = [
                "#!/bin/bash",
                'echo "$*" >> "$STATE/gh-calls"',
                'case "$1 $2" in',
                '  "issue list") echo "[]" ;;',
                '  "issue create") cat > "$STATE/body.md"; echo https://github.example/o/r/issues/7 ;;',
                "esac",
            ].join("\n");
            const pick = (match: (s: WorkflowStep) => boolean) =>
                generatedStep(CONFIGS["staging and prod"], "drift.yml", "drift-prod", match);
            const ctx: GithubContext = { github: { server_url: "https://example.test", repository: "o/r", run_id: "1", token: "t" } };
            const runner = { cwd: ROOT, base: { PATH: process.env.PATH, HOME: process.env.HOME, STATE: dir }, fakes: { npm, gh } };
            const check = await runStepScript(
                pick((s) => s.id === "drift"),
                ctx,
                runner,
            );
            assert.notEqual(check.status, 0, "drift fails the step");
            const calls = fs.readFileSync(path.join(dir, "npm-calls"), "utf8");
            assert.match(calls, /^run drift -- --stack prod --markdown .*\nrun preview -- prod --refresh --expect-no-changes\n$/);
            assert.deepEqual(check.outputs, { drift: "1", preview: "0" });
            // The issue step in the check's RUNNER_TEMP, its outputs resolved as the runner would.
            const issueStep = pick((s) => s.name === "Open or update the drift issue");
            const issue = await runStepScript(
                {
                    ...issueStep,
                    env: { ...issueStep.env, DRIFT_EXIT: check.outputs.drift, PREVIEW_EXIT: check.outputs.preview },
                    run: `export RUNNER_TEMP=${JSON.stringify(check.runnerTemp)}\n${issueStep.run}`,
                },
                ctx,
                runner,
            );
            assert.equal(issue.status, 0, issue.text);
            const body = fs.readFileSync(path.join(dir, "body.md"), "utf8");
            assert.match(body, /^- `\+ index public\.accounts_email_idx: CREATE INDEX \.\.\.`$/m);
            assert.match(body, /^`npm run drift -- --stack prod` \(exit 1; 1: drift, 2: a stack not checked, the table says why\):$/m);
            assert.match(body, /^Settle it with `npm run up -- prod` \(the code wins\) or `npm run refresh -- prod` \(the cloud wins\); /m);
            assert.match(body, /<summary><code>npm run preview -- prod --refresh --expect-no-changes<\/code> .*: exit 0<\/summary>/);
            assert.match(body, /Previewing update \(prod\)/);
            assert.match(
                fs.readFileSync(path.join(dir, "gh-calls"), "utf8"),
                /issue create --title Drift detected in prod --label drift --body-file -/,
            );
        });
    });

    describe("monitor.yml", () => {
        it("checks every 5 minutes, the frontend only where there is one, Slack only when on", () => {
            const doc = docOf(byFile(generateWorkflows(CONFIGS["staging and prod"]), "monitor.yml"));
            assert.deepEqual(doc.on.schedule, [{ cron: "*/5 * * * *" }]);
            const prodStep = doc.jobs["monitor-prod"].steps.at(-1);
            const stagingStep = doc.jobs["monitor-staging"].steps.at(-1);
            // Repository variables per stack, and no environment (a reviewer would hold a 5-minute check).
            assert.equal(prodStep.env.FRONTEND_HEALTH_URL, "${{ vars.KEEL_PROD_FRONTEND_HEALTH_URL }}");
            assert.equal(prodStep.env.BACKEND_HEALTH_URL, "${{ vars.KEEL_PROD_BACKEND_HEALTH_URL }}");
            assert.equal(stagingStep.env.BACKEND_HEALTH_URL, "${{ vars.KEEL_STAGING_BACKEND_HEALTH_URL }}");
            assert.equal(stagingStep.env.FRONTEND_HEALTH_URL, undefined);
            assert.equal(doc.jobs["monitor-prod"].environment, undefined);
            assert.equal(prodStep.env.SLACK_WEBHOOK_URL, "${{ secrets.SLACK_WEBHOOK_URL }}");
            assert.equal(prodStep.env.ROLLBACK_URL, "${{ github.server_url }}/${{ github.repository }}/actions/workflows/rollback.yml");
            // The check is the checkout's keel (components/operations/monitor.ts), after npm ci.
            assert.deepEqual(
                doc.jobs["monitor-prod"].steps.map((s: any) => s.name),
                ["Check out", "Set up Node.js", "Install dependencies", "Check health, alert once per incident"],
            );
            assert.equal(
                prodStep.run,
                "./keel monitor check --stack prod --environment production --branch main --backend --frontend --slack\n",
            );
            assert.equal(
                stagingStep.run,
                "./keel monitor check --stack staging --environment staging --branch staging --backend --slack\n",
            );
            const off = docOf(byFile(generateWorkflows(CONFIGS["slack off"]), "monitor.yml"));
            assert.ok(!JSON.stringify(off).includes("SLACK"));
            assert.ok(!JSON.stringify(off).includes("--slack"));
        });

        it("has no schedule when no stack has anything to check", () => {
            const doc = docOf(byFile(generateWorkflows(CONFIGS["nothing to monitor"]), "monitor.yml"));
            assert.deepEqual(doc.on, { workflow_dispatch: {} });
            assert.deepEqual(Object.keys(doc.jobs), ["monitor"]);
        });

        it("runs ./keel monitor check from the checkout with the step's env: a healthy stack, then a missing URL", async function () {
            this.timeout(120_000);
            const server = http.createServer((_, res) => res.writeHead(200).end("ok"));
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            try {
                const port = (server.address() as { port: number }).port;
                const step = generatedStep(
                    CONFIGS["slack off"],
                    "monitor.yml",
                    "monitor-staging",
                    (s) => s.name === "Check health, alert once per incident",
                );
                const dir = tempDir("keel-monitor-wf-");
                const gh = `#!/bin/bash\necho "$*" >> ${JSON.stringify(path.join(dir, "gh-calls"))}\n[ "$1 $2" = "issue list" ] && echo "[]"\nexit 0\n`;
                const runner = { cwd: ROOT, base: { PATH: process.env.PATH, HOME: process.env.HOME }, fakes: { gh } };
                const github = { server_url: "https://github.com", repository: "o/r", run_id: "1", token: "t" };
                const healthy = await runStepScript(
                    step,
                    { github, vars: { KEEL_STAGING_BACKEND_HEALTH_URL: `http://127.0.0.1:${port}/healthz` } },
                    runner,
                );
                assert.equal(healthy.status, 0, healthy.text);
                assert.match(healthy.text, /^Healthy\.$/m);
                assert.match(fs.readFileSync(path.join(dir, "gh-calls"), "utf8"), /^issue list --state open --label incident /);
                const missing = await runStepScript(step, { github }, runner);
                assert.equal(missing.status, 1, missing.text);
                assert.match(missing.text, /::error::The repository has no KEEL_STAGING_BACKEND_HEALTH_URL variable: the staging stack/);
            } finally {
                server.close();
            }
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

        it("installs Keel, then runs keel release next at the deployed commit, with a token that may only write the repository", () => {
            const job = docOf(byFile(generateWorkflows(base), "release.yml")).jobs.release;
            assert.deepEqual(job.permissions, { contents: "write" });
            assert.ok(job["timeout-minutes"] > 0 && job["timeout-minutes"] <= 15);
            const steps = job.steps as any[];
            assert.match(steps[1].uses, /^actions\/setup-node@/);
            // No npm cache where a token that may write is around.
            assert.equal(steps[1].with.cache, undefined);
            assert.equal(steps[2].run, "npm ci --no-audit --no-fund\n");
            const release = steps[3];
            assert.equal(release.run, './keel release next --target "$HEAD_SHA"\n');
            assert.equal(release.env.HEAD_SHA, "${{ github.event.workflow_run.head_sha }}");
            assert.equal(release.env.GH_TOKEN, "${{ github.token }}");
            assert.equal(steps.length, 4);
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
            ["a Pulumi version range", { ...base, pulumiVersion: "^3" }, /pulumiVersion '\^3' is not a Pulumi CLI release/],
            ["no Pulumi version", { ...base, pulumiVersion: undefined as any }, /pulumiVersion 'undefined'/],
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
