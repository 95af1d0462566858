/**
 * The repository's GitHub Actions workflows, generated from the stack config as
 * typed objects and serialized with the `yaml` package (stable: the same options
 * give byte-identical text). The Repository component commits them; nothing here
 * imports Pulumi.
 *
 *   ci.yml       lint, typecheck, test on every pull request and push to the default branch
 *   preview.yml  `pulumi preview --diff` of the stack a pull request targets, posted as a PR comment
 *   deploy.yml   `pulumi up` of the stack whose branch was pushed, behind its environment, then a health check
 *   drift.yml    daily `npm run preview -- <stack> --refresh --expect-no-changes` per stack; one issue per drifting stack
 *   monitor.yml  every 5 minutes: the stack's health URLs; Slack once per incident and once on recovery
 *   release.yml  after a successful prod deploy: the next semantic version from conventional commits, tagged and released
 *
 * Choices worth knowing:
 * - Runners are `ubuntu-latest` (today Ubuntu 24.04).
 * - The tests need PostgreSQL 15 server binaries (README). Ubuntu 24.04 runners ship
 *   PostgreSQL 16 only, from Ubuntu's archive, so the test job adds the PostgreSQL
 *   project's apt repository with the helper script that the preinstalled
 *   `postgresql-common` package provides, installs `postgresql-15` and points the
 *   test harness at it with `PG_BIN` (the runner user is not root, so the harness
 *   runs the cluster as that user).
 * - Pulumi's CLI is the project's own `pulumi` devDependency (the version in
 *   package-lock.json): after `npm ci`, `node_modules/.bin` goes on PATH and
 *   `pulumi version` fetches that CLI; pulumi/actions finds it there and uses it.
 * - Secrets reach only the steps that need them, through `env:` mapped from
 *   `${{ secrets.X }}`; repository and environment variables (`vars.X`) go through
 *   `env:` too, so no run script contains an expression at all.
 * - Every stack job (preview, deploy, drift, monitor) names the stack's GitHub
 *   environment, because that is where its secrets and variables live. A reviewer
 *   rule on that environment therefore gates those jobs too (for a preview that is
 *   intended: it runs the pull request's program with the stack's credentials).
 */
import { Document, isPair, isScalar, visit } from "yaml";
import { KeelError } from "../errors";
import { ACTIONS, pinnedVersionOf, usesRef } from "./actions";

// ---------------------------------------------------------------------------
// The contract

export interface WorkflowStack {
    /** The Pulumi stack name ("staging", "prod", ...). */
    stack: string;
    stage: "dev" | "staging" | "prod";
    /** The branch that deploys this stack ("main" for prod, "staging"). */
    branch: string;
    /** The GitHub deployment environment ("production", "staging"). */
    environment: string;
    /** A health check step after deploy (and the monitor) uses vars.BACKEND_HEALTH_URL. */
    hasBackend: boolean;
    /** The monitor also checks vars.FRONTEND_HEALTH_URL. */
    hasFrontend: boolean;
}

export interface WorkflowOptions {
    /** The deploying stacks (dev is never deployed from CI). */
    stacks: WorkflowStack[];
    /** "main" */
    defaultBranch: string;
    /** "20" */
    nodeVersion: string;
    /** "policies" */
    policyPack: string;
    /** How CI reaches the Pulumi state: "passphrase" (self-managed backend: secrets.PULUMI_CONFIG_PASSPHRASE + vars.PULUMI_BACKEND_URL) or "cloud" (secrets.PULUMI_ACCESS_TOKEN). */
    state: "passphrase" | "cloud";
    /** The monitor posts to secrets.SLACK_WEBHOOK_URL. */
    slack: boolean;
}

export interface GeneratedWorkflow {
    /** ".github/workflows/ci.yml" */
    path: string;
    name: string;
    /** YAML text. */
    content: string;
    /** The `name:` of each job, in the file's order. */
    jobNames: string[];
}

/** Options no workflow can be generated from; the message names each problem and its fix. */
export class WorkflowConfigError extends KeelError {
    constructor(message: string) {
        super(message, "WorkflowConfigError");
    }
}

// ---------------------------------------------------------------------------
// Typed workflows

export type PermissionLevel = "read" | "write" | "none";
export type PermissionScope =
    "actions" | "checks" | "contents" | "deployments" | "id-token" | "issues" | "packages" | "pull-requests" | "statuses";
export type Permissions = Partial<Record<PermissionScope, PermissionLevel>>;

export interface Concurrency {
    group: string;
    "cancel-in-progress": boolean;
}

export interface Triggers {
    pull_request?: { branches?: string[] };
    push?: { branches: string[] };
    schedule?: { cron: string }[];
    workflow_run?: { workflows: string[]; types: "completed"[]; branches: string[] };
    workflow_dispatch?: Record<string, never>;
}

export interface Step {
    name: string;
    id?: string;
    if?: string;
    uses?: string;
    with?: Record<string, string | number | boolean>;
    env?: Record<string, string>;
    run?: string;
}

export interface Job {
    name: string;
    if?: string;
    "runs-on": string;
    environment?: string;
    permissions: Permissions;
    concurrency?: Concurrency;
    "timeout-minutes": number;
    env?: Record<string, string>;
    steps: Step[];
}

export interface Workflow {
    name: string;
    on: Triggers;
    permissions: Permissions;
    concurrency?: Concurrency;
    defaults: { run: { shell: "bash" } };
    jobs: Record<string, Job>;
}

// ---------------------------------------------------------------------------
// Public functions

export const WORKFLOW_NAMES = {
    ci: "CI",
    preview: "Preview",
    deploy: "Deploy",
    drift: "Drift",
    monitor: "Monitor",
    release: "Release",
} as const;

export const HEADER = "Generated by Keel (components/github/workflows.ts) from the stack config — edit the config, not this file";

/** ci, preview, deploy, drift, monitor, release, in that order. */
export function generateWorkflows(options: WorkflowOptions): GeneratedWorkflow[] {
    const o = normalize(options);
    const files: [string, Workflow][] = [
        ["ci.yml", ciWorkflow(o)],
        ["preview.yml", previewWorkflow(o)],
        ["deploy.yml", deployWorkflow(o)],
        ["drift.yml", driftWorkflow(o)],
        ["monitor.yml", monitorWorkflow(o)],
        ["release.yml", releaseWorkflow(o)],
    ];
    return files.map(([file, workflow]) => ({
        path: `.github/workflows/${file}`,
        name: workflow.name,
        content: toYaml(workflow),
        jobNames: Object.values(workflow.jobs).map((job) => job.name),
    }));
}

/** The status check contexts branch protection must require: exactly the `name:` of each job in ci.yml (what GitHub reports as the check name). */
export function requiredStatusChecks(options: WorkflowOptions): string[] {
    return Object.values(ciWorkflow(normalize(options)).jobs).map((job) => job.name);
}

/** The workflow as YAML text: header comment, fixed key order, `uses:` followed by its version. */
export function toYaml(workflow: Workflow): string {
    const doc = new Document(workflow, { aliasDuplicateObjects: false });
    doc.commentBefore = ` ${HEADER}`;
    visit(doc, {
        Pair(_, pair) {
            if (isPair(pair) && isScalar(pair.key) && pair.key.value === "uses" && isScalar(pair.value)) {
                const version = pinnedVersionOf(String(pair.value.value));
                if (version) pair.value.comment = ` ${version}`;
            }
        },
    });
    return doc.toString({ lineWidth: 0, minContentWidth: 0, indent: 2, indentSeq: true, blockQuote: "literal" });
}

// ---------------------------------------------------------------------------
// Validation

const STAGE_ORDER = { dev: 0, staging: 1, prod: 2 } as const;
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const BRANCH_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;
const NODE_VERSION = /^[0-9]+(\.[0-9x]+){0,2}$/;
const POLICY_PACK = /^[A-Za-z0-9._][A-Za-z0-9._/-]*$/;

function validBranch(branch: unknown): branch is string {
    return (
        typeof branch === "string" &&
        BRANCH_NAME.test(branch) &&
        !branch.includes("..") &&
        !branch.includes("//") &&
        !branch.endsWith("/") &&
        !branch.endsWith(".") &&
        !branch.endsWith(".lock")
    );
}

/** Checks the options (every problem at once) and returns them with the stacks in a fixed order. */
function normalize(options: WorkflowOptions): WorkflowOptions {
    const problems: string[] = [];
    const stacks = Array.isArray(options?.stacks) ? options.stacks : [];
    if (stacks.length === 0) {
        problems.push(
            "no stacks: the workflows deploy, preview and watch stacks, so at least one is needed. Fix: pass the staging and/or prod stack (with its branch and environment) in `stacks`.",
        );
    }
    const byName = new Map<string, WorkflowStack>();
    const byBranch = new Map<string, WorkflowStack>();
    const byEnvironment = new Map<string, WorkflowStack>();
    for (const s of stacks) {
        const label = `stack '${String(s?.stack)}'`;
        if (typeof s?.stack !== "string" || !STACK_NAME.test(s.stack)) {
            problems.push(
                `${label}: the name must be letters, digits, '-' or '_' (it becomes job ids and concurrency groups). Fix: rename the stack (pulumi stack rename) or leave it out of the workflows.`,
            );
        } else if (byName.has(s.stack)) {
            problems.push(`${label} is listed twice. Fix: list each stack once.`);
        } else {
            byName.set(s.stack, s);
        }
        if (!(s?.stage in STAGE_ORDER)) {
            problems.push(`${label}: stage '${String(s?.stage)}' is not dev, staging or prod. Fix: set keel:stage for the stack.`);
        } else if (s.stage === "dev") {
            problems.push(
                `${label} is a dev-stage stack: dev is deployed from a developer's machine (npm run up), never from CI. Fix: leave it out of the workflow stacks.`,
            );
        }
        if (!validBranch(s?.branch)) {
            problems.push(
                `${label}: branch '${String(s?.branch)}' is not a usable branch name (letters, digits, '.', '_', '-', '/'). Fix: give the stack the branch that deploys it, e.g. 'main' for prod.`,
            );
        } else {
            const other = byBranch.get(s.branch);
            if (other) {
                problems.push(
                    `stacks '${other.stack}' and '${s.stack}' both deploy from branch '${s.branch}': a push would deploy both and a pull request into it could not say which it previews. Fix: give each stack its own branch (e.g. 'main' for prod, 'staging' for staging).`,
                );
            } else {
                byBranch.set(s.branch, s);
            }
        }
        if (typeof s?.environment !== "string" || !ENVIRONMENT_NAME.test(s.environment) || s.environment.length > 255) {
            problems.push(
                `${label}: environment '${String(s?.environment)}' is not a usable GitHub environment name (letters, digits, spaces, '.', '_', '-'). Fix: name the stack's environment, e.g. 'production'.`,
            );
        } else {
            const other = byEnvironment.get(s.environment);
            if (other) {
                problems.push(
                    `stacks '${other.stack}' and '${s.stack}' share the environment '${s.environment}': each stack's secrets and health URLs live in its own environment, so they would check and deploy with each other's. Fix: give each stack its own environment.`,
                );
            } else {
                byEnvironment.set(s.environment, s);
            }
        }
        if (typeof s?.hasBackend !== "boolean" || typeof s?.hasFrontend !== "boolean") {
            problems.push(`${label}: hasBackend and hasFrontend must be booleans. Fix: derive them from keel:backend and keel:frontend.`);
        }
    }
    const prodBranches = [...new Set(stacks.filter((s) => s?.stage === "prod").map((s) => s.branch))];
    if (prodBranches.length > 1) {
        problems.push(
            `prod-stage stacks deploy from several branches (${prodBranches.join(", ")}): releases are tagged from the prod branch after its deploy, and there must be one. Fix: deploy every prod-stage stack from one branch, or give only one stack the prod stage.`,
        );
    }
    if (!validBranch(options?.defaultBranch)) {
        problems.push(
            `defaultBranch '${String(options?.defaultBranch)}' is not a usable branch name. Fix: pass the repository's default branch, e.g. 'main'.`,
        );
    }
    if (typeof options?.nodeVersion !== "string" || !NODE_VERSION.test(options.nodeVersion)) {
        problems.push(
            `nodeVersion '${String(options?.nodeVersion)}' is not a Node.js version such as '20' or '20.19'. Fix: pass the major (or major.minor) version the project supports.`,
        );
    }
    if (typeof options?.policyPack !== "string" || !POLICY_PACK.test(options.policyPack) || options.policyPack.split("/").includes("..")) {
        problems.push(
            `policyPack '${String(options?.policyPack)}' is not a path inside the repository. Fix: pass the policy pack's directory, e.g. 'policies'.`,
        );
    }
    if (options?.state !== "passphrase" && options?.state !== "cloud") {
        problems.push(
            `state '${String(options?.state)}' is neither 'passphrase' (self-managed backend) nor 'cloud' (Pulumi Cloud). Fix: pass one of them.`,
        );
    }
    if (typeof options?.slack !== "boolean") {
        problems.push(`slack must be true or false. Fix: pass whether the monitor posts to SLACK_WEBHOOK_URL.`);
    }
    if (problems.length > 0) {
        throw new WorkflowConfigError(
            `Cannot generate the GitHub workflows: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
    }
    const sorted = [...stacks].sort(
        (a, b) => STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage] || (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0),
    );
    return { ...options, stacks: sorted };
}

// ---------------------------------------------------------------------------
// Building blocks

const RUNNER = "ubuntu-latest";
const NO_PERMISSIONS: Permissions = {};
const BASH = { run: { shell: "bash" as const } };

/** A step with its keys in one fixed order, whatever order the caller wrote them in. */
function step(s: Step): Step {
    return { name: s.name, id: s.id, if: s.if, uses: s.uses, with: s.with, env: s.env, run: s.run };
}

/** A job with its keys in one fixed order. */
function job(j: Job): Job {
    return {
        name: j.name,
        if: j.if,
        "runs-on": j["runs-on"],
        environment: j.environment,
        permissions: j.permissions,
        concurrency: j.concurrency,
        "timeout-minutes": j["timeout-minutes"],
        env: j.env,
        steps: j.steps.map(step),
    };
}

function workflow(w: Workflow): Workflow {
    const jobs: Record<string, Job> = {};
    for (const [id, j] of Object.entries(w.jobs)) jobs[id] = job(j);
    return { name: w.name, on: w.on, permissions: w.permissions, concurrency: w.concurrency, defaults: w.defaults, jobs };
}

function script(...lines: string[]): string {
    return lines.join("\n") + "\n";
}

function checkout(extra: Record<string, string | number | boolean> = {}): Step {
    return { name: "Check out", uses: usesRef(ACTIONS.checkout), with: { "persist-credentials": false, ...extra } };
}

/** setup-node; the npm cache only where no secret is around (a cache is shared with other runs). */
function setupNode(o: WorkflowOptions, cache: boolean): Step {
    return {
        name: "Set up Node.js",
        uses: usesRef(ACTIONS.setupNode),
        with: cache ? { "node-version": o.nodeVersion, cache: "npm" } : { "node-version": o.nodeVersion, "package-manager-cache": false },
    };
}

const npmCi: Step = { name: "Install dependencies", run: "npm ci --no-audit --no-fund\n" };

const pulumiCli: Step = {
    name: "Use the project's Pulumi CLI",
    // The `pulumi` devDependency is a launcher that fetches the CLI of its own version.
    run: script('echo "$GITHUB_WORKSPACE/node_modules/.bin" >> "$GITHUB_PATH"', '"$GITHUB_WORKSPACE/node_modules/.bin/pulumi" version'),
};

function policyPackDeps(o: WorkflowOptions): Step {
    return {
        name: "Install the policy pack's dependencies",
        // A pack with dependencies of its own has a lockfile; Keel's resolves everything from the root's node_modules.
        run: script(`if [ -f "${o.policyPack}/package-lock.json" ]; then npm ci --no-audit --no-fund --prefix "${o.policyPack}"; fi`),
    };
}

/** What a Pulumi command on a stack needs: the state's credentials and the vendors' tokens. */
function stackSecrets(o: WorkflowOptions): Record<string, string> {
    const state: Record<string, string> =
        o.state === "passphrase"
            ? { PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}" }
            : { PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" };
    return {
        ...state,
        NEON_API_KEY: "${{ secrets.NEON_API_KEY }}",
        FLY_API_TOKEN: "${{ secrets.FLY_API_TOKEN }}",
        RENDER_API_KEY: "${{ secrets.RENDER_API_KEY }}",
        VERCEL_API_TOKEN: "${{ secrets.VERCEL_TOKEN }}",
        // The stack manages its GitHub environment (the owner also the branch rules and these files):
        // the job's own token may not, so the environment holds an admin token for the GitHub provider.
        GITHUB_TOKEN: "${{ secrets.KEEL_GITHUB_TOKEN }}",
    };
}

/** Fails early, naming the setting, when the state backend is not configured for the environment. */
function stateCheck(o: WorkflowOptions, s: WorkflowStack): Step {
    const lines =
        o.state === "passphrase"
            ? [
                  `if [ -z "$PULUMI_BACKEND_URL" ]; then echo "::error::The ${s.environment} environment has no PULUMI_BACKEND_URL variable (the self-managed state backend, e.g. s3://bucket). Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
                  `if [ -z "$PULUMI_CONFIG_PASSPHRASE" ]; then echo "::error::The ${s.environment} environment has no PULUMI_CONFIG_PASSPHRASE secret (it decrypts the ${s.stack} stack's secrets). Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
              ]
            : [
                  `if [ -z "$PULUMI_ACCESS_TOKEN" ]; then echo "::error::The ${s.environment} environment has no PULUMI_ACCESS_TOKEN secret (Pulumi Cloud). Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
              ];
    const env: Record<string, string> =
        o.state === "passphrase"
            ? { PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}", PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" }
            : { PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" };
    return { name: "Check the Pulumi state settings", env, run: script(...lines) };
}

/** The steps every Pulumi job starts with. */
function pulumiSetup(o: WorkflowOptions, s: WorkflowStack, checkoutWith: Record<string, string | number | boolean> = {}): Step[] {
    return [checkout(checkoutWith), setupNode(o, false), npmCi, pulumiCli, policyPackDeps(o), stateCheck(o, s)];
}

const JOB_ENV = { PULUMI_SKIP_UPDATE_CHECK: "true", FORCE_COLOR: "0" };
const RUN_URL = "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}";
const GH_ENV = { GH_TOKEN: "${{ github.token }}", GH_REPO: "${{ github.repository }}" };

function byStack<T>(o: WorkflowOptions, prefix: string, make: (s: WorkflowStack) => T | undefined): Record<string, T> {
    const jobs: Record<string, T> = {};
    for (const s of o.stacks) {
        const j = make(s);
        if (j) jobs[`${prefix}-${s.stack}`] = j;
    }
    return jobs;
}

// ---------------------------------------------------------------------------
// ci.yml

function ciWorkflow(o: WorkflowOptions): Workflow {
    const check = (name: string, command: string, minutes: number, extra: Step[] = [], env?: Record<string, string>): Job => ({
        name,
        "runs-on": RUNNER,
        permissions: { contents: "read" },
        "timeout-minutes": minutes,
        env,
        steps: [checkout(), setupNode(o, true), ...extra, npmCi, { name: command, run: `${command}\n` }],
    });
    return workflow({
        name: WORKFLOW_NAMES.ci,
        on: { pull_request: {}, push: { branches: [o.defaultBranch] } },
        permissions: NO_PERMISSIONS,
        concurrency: { group: "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": true },
        defaults: BASH,
        jobs: {
            lint: check("lint", "npm run lint", 10),
            typecheck: check("typecheck", "npm run typecheck", 10),
            test: check(
                "test",
                "npm test",
                45,
                [
                    {
                        name: "Install PostgreSQL 15 server binaries",
                        // Ubuntu 24.04 runners ship PostgreSQL 16 only: add the PostgreSQL project's apt
                        // repository (postgresql-common's helper) and install 15; PG_BIN points the tests at it.
                        run: script(
                            "sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y",
                            "sudo apt-get install -y --no-install-recommends postgresql-15",
                            '"$PG_BIN/initdb" --version',
                        ),
                    },
                ],
                { PG_BIN: "/usr/lib/postgresql/15/bin" },
            ),
        },
    });
}

// ---------------------------------------------------------------------------
// preview.yml

function previewWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.preview,
        on: { pull_request: { branches: o.stacks.map((s) => s.branch) } },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "preview", (s) => ({
            name: `preview (${s.stack})`,
            // Only the stack the pull request targets; pull requests from forks get no secrets, so they are skipped.
            if: `github.base_ref == '${s.branch}' && github.event.pull_request.head.repo.full_name == github.repository`,
            "runs-on": RUNNER,
            environment: s.environment,
            permissions: { contents: "read", "pull-requests": "write" },
            concurrency: { group: `preview-${s.stack}-\${{ github.event.pull_request.number }}`, "cancel-in-progress": true },
            "timeout-minutes": 30,
            env: JOB_ENV,
            steps: [
                ...pulumiSetup(o, s),
                {
                    name: `pulumi preview --stack ${s.stack}`,
                    uses: usesRef(ACTIONS.pulumi),
                    with: {
                        command: "preview",
                        "stack-name": s.stack,
                        policyPacks: o.policyPack,
                        diff: true,
                        "comment-on-pr": true,
                        "edit-pr-comment": true,
                        "github-token": "${{ github.token }}",
                    },
                    env: stackSecrets(o),
                },
            ],
        })),
    });
}

// ---------------------------------------------------------------------------
// deploy.yml

function deployWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.deploy,
        on: { push: { branches: o.stacks.map((s) => s.branch) }, workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "deploy", (s) => {
            const steps: Step[] = [
                ...pulumiSetup(o, s),
                { name: "Preflight", env: stackSecrets(o), run: `npm run preflight -- --stack ${s.stack}\n` },
                {
                    // Keel's program inline through the engine (no type check per run), the state from PULUMI_BACKEND_URL.
                    name: `npm run up -- ${s.stack}`,
                    env: stackSecrets(o),
                    run: `npm run up -- ${s.stack} --yes --policy-pack ${o.policyPack}\n`,
                },
            ];
            if (s.hasBackend) {
                steps.push({
                    name: "Health check",
                    env: { HEALTH_URL: "${{ vars.BACKEND_HEALTH_URL }}" },
                    run: script(
                        `if [ -z "$HEALTH_URL" ]; then echo "::error::The ${s.environment} environment has no BACKEND_HEALTH_URL variable. Set it (pulumi stack output backendHealthUrl --stack ${s.stack}) under Settings > Environments > ${s.environment}."; exit 1; fi`,
                        'curl --fail --silent --show-error --location --max-time 10 --retry 12 --retry-delay 5 --retry-all-errors --output /dev/null --write-out "%{http_code} from %{url_effective}\\n" "$HEALTH_URL"',
                    ),
                });
            }
            return {
                name: `deploy (${s.stack})`,
                if: `github.ref == 'refs/heads/${s.branch}'`,
                "runs-on": RUNNER,
                environment: s.environment,
                permissions: { contents: "read" },
                concurrency: { group: `deploy-${s.stack}`, "cancel-in-progress": false },
                "timeout-minutes": 60,
                env: JOB_ENV,
                steps,
            };
        }),
    });
}

// ---------------------------------------------------------------------------
// drift.yml

function driftWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.drift,
        on: { schedule: [{ cron: "17 6 * * *" }], workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "drift", (s) => {
            const title = `Drift detected in ${s.stack}`;
            const command = `npm run preview -- ${s.stack} --refresh --expect-no-changes`;
            const findIssue = `number=$(gh issue list --state open --label drift --limit 100 --json number,title --jq '.[] | select(.title == "${title}") | .number' | head -n 1)`;
            return {
                name: `drift (${s.stack})`,
                "runs-on": RUNNER,
                environment: s.environment,
                permissions: { contents: "read", issues: "write" },
                concurrency: { group: `drift-${s.stack}`, "cancel-in-progress": false },
                "timeout-minutes": 30,
                env: JOB_ENV,
                steps: [
                    ...pulumiSetup(o, s),
                    {
                        name: "Check for drift",
                        id: "drift",
                        env: stackSecrets(o),
                        // bash -o pipefail: the step fails with pulumi's exit code, the output is kept for the issue.
                        run: script(`${command} 2>&1 | tee "$RUNNER_TEMP/drift.txt"`),
                    },
                    {
                        name: "Open or update the drift issue",
                        if: "failure() && steps.drift.outcome == 'failure'",
                        env: { ...GH_ENV, RUN_URL },
                        run: script(
                            "{",
                            `  echo 'The drift check (\`${command}\`) did not come back clean: the cloud differs from the state of the ${s.stack} stack, or the check itself failed (the output says which).'`,
                            "  echo",
                            '  echo "Run: $RUN_URL"',
                            "  echo",
                            "  echo '```'",
                            '  tail -c 60000 "$RUNNER_TEMP/drift.txt"',
                            "  echo '```'",
                            "  echo",
                            `  echo 'Settle it with \`npm run up -- ${s.stack}\` (the code wins) or \`pulumi refresh --stack ${s.stack}\` (the cloud wins); the next clean check closes this issue.'`,
                            '} > "$RUNNER_TEMP/drift.md"',
                            `gh label create drift --color D93F0B --description "Keel: a stack differs from its state" --force`,
                            findIssue,
                            'if [ -n "$number" ]; then',
                            '  gh issue comment "$number" --body-file "$RUNNER_TEMP/drift.md"',
                            "else",
                            `  gh issue create --title "${title}" --label drift --body-file "$RUNNER_TEMP/drift.md"`,
                            "fi",
                        ),
                    },
                    {
                        name: "Close the drift issue",
                        if: "success()",
                        env: { ...GH_ENV, RUN_URL },
                        run: script(
                            findIssue,
                            'if [ -n "$number" ]; then gh issue close "$number" --comment "No drift any more: $RUN_URL"; fi',
                        ),
                    },
                ],
            };
        }),
    });
}

// ---------------------------------------------------------------------------
// monitor.yml

/** The repository variable the monitor reads a stack's health URL from: `KEEL_PROD_BACKEND_HEALTH_URL`. */
export function monitorVariable(stack: string, name: "BACKEND_HEALTH_URL" | "FRONTEND_HEALTH_URL"): string {
    return `KEEL_${stack.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_${name}`;
}

function monitorWorkflow(o: WorkflowOptions): Workflow {
    const watched = o.stacks.filter((s) => s.hasBackend || s.hasFrontend);
    if (watched.length === 0) {
        return workflow({
            name: WORKFLOW_NAMES.monitor,
            on: { workflow_dispatch: {} },
            permissions: NO_PERMISSIONS,
            defaults: BASH,
            jobs: {
                monitor: {
                    name: "monitor",
                    "runs-on": RUNNER,
                    permissions: {},
                    "timeout-minutes": 5,
                    steps: [
                        { name: "Nothing to monitor", run: 'echo "No deployed stack has a backend or a frontend: nothing to check."\n' },
                    ],
                },
            },
        });
    }
    return workflow({
        name: WORKFLOW_NAMES.monitor,
        on: { schedule: [{ cron: "*/5 * * * *" }], workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack({ ...o, stacks: watched }, "monitor", (s) => {
            const env: Record<string, string> = { ...GH_ENV, RUN_URL };
            const checks: string[] = [];
            if (s.hasBackend) {
                env.BACKEND_HEALTH_URL = `\${{ vars.${monitorVariable(s.stack, "BACKEND_HEALTH_URL")} }}`;
                checks.push('check backend BACKEND_HEALTH_URL "$BACKEND_HEALTH_URL"');
            }
            if (s.hasFrontend) {
                env.FRONTEND_HEALTH_URL = `\${{ vars.${monitorVariable(s.stack, "FRONTEND_HEALTH_URL")} }}`;
                checks.push('check frontend FRONTEND_HEALTH_URL "$FRONTEND_HEALTH_URL"');
            }
            if (o.slack) env.SLACK_WEBHOOK_URL = "${{ secrets.SLACK_WEBHOOK_URL }}";
            const title = `Incident: ${s.stack} is unhealthy`;
            const notify = o.slack
                ? [
                      "notify() {",
                      '  if [ -z "$SLACK_WEBHOOK_URL" ]; then echo "::error::No SLACK_WEBHOOK_URL secret: could not post: $1"; exit 1; fi',
                      "  jq -n -c --arg text \"$1\" '{text: $text}' | curl --fail --silent --show-error --max-time 10 --retry 3 --retry-all-errors --header 'Content-Type: application/json' --data @- --output /dev/null \"$SLACK_WEBHOOK_URL\"",
                      "}",
                  ]
                : ["notify() {", '  echo "Slack is off for this project: $1"', "}"];
            return {
                name: `monitor (${s.stack})`,
                "runs-on": RUNNER,
                // No environment: a required reviewer would hold a check that runs every 5 minutes.
                // The URLs are repository variables per stack and the webhook a repository secret.
                permissions: { issues: "write" },
                concurrency: { group: `monitor-${s.stack}`, "cancel-in-progress": false },
                "timeout-minutes": 5,
                steps: [
                    {
                        name: "Check health, alert once per incident",
                        env,
                        // The incident's state is an open issue labelled `incident`: while it is open no new
                        // alert is posted; the first healthy check posts the recovery and closes it.
                        run: script(
                            "problems=()",
                            "check() {",
                            '  local what="$1" variable="$2" url="$3" code',
                            `  if [ -z "$url" ]; then echo "::error::The ${s.environment} environment has no $variable variable. Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
                            '  code=$(curl --fail --silent --location --max-time 10 --retry 2 --retry-delay 5 --retry-all-errors --output /dev/null --write-out "%{http_code}" "$url") || true',
                            '  if [ "${code:0:1}" != 2 ]; then problems+=("$what ($url) answered ${code:-nothing}"); fi',
                            "}",
                            ...notify,
                            ...checks,
                            `title="${title}"`,
                            `number=$(gh issue list --state open --label incident --limit 100 --json number,title --jq '.[] | select(.title == "${title}") | .number' | head -n 1)`,
                            'if [ "${#problems[@]}" -gt 0 ]; then',
                            '  summary=$(printf "%s; " "${problems[@]}")',
                            '  echo "::error::${summary%; }"',
                            '  if [ -n "$number" ]; then',
                            '    echo "Incident #$number is already open: no new alert."',
                            "  else",
                            `    notify ":red_circle: ${s.stack} is unhealthy: \${summary%; } ($RUN_URL)"`,
                            `    gh label create incident --color B60205 --description "Keel monitor: a stack is unhealthy (open while it lasts)" --force`,
                            '    gh issue create --title "$title" --label incident --body "The monitor found: ${summary%; }. First seen: $RUN_URL. This issue closes itself when the checks pass again."',
                            "  fi",
                            'elif [ -n "$number" ]; then',
                            `  notify ":large_green_circle: ${s.stack} has recovered ($RUN_URL)"`,
                            '  gh issue close "$number" --comment "Recovered: every check answered 2xx. $RUN_URL"',
                            "else",
                            '  echo "Healthy."',
                            "fi",
                        ),
                    },
                ],
            };
        }),
    });
}

// ---------------------------------------------------------------------------
// release.yml

function releaseWorkflow(o: WorkflowOptions): Workflow {
    // The prod stack's branch (at most one, see normalize); without a prod stack, the default branch.
    const branch = o.stacks.find((s) => s.stage === "prod")?.branch ?? o.defaultBranch;
    return workflow({
        name: WORKFLOW_NAMES.release,
        on: { workflow_run: { workflows: [WORKFLOW_NAMES.deploy], types: ["completed"], branches: [branch] } },
        permissions: NO_PERMISSIONS,
        concurrency: { group: "release", "cancel-in-progress": false },
        defaults: BASH,
        jobs: {
            release: {
                name: "release",
                if: `github.event.workflow_run.conclusion == 'success' && github.event.workflow_run.event == 'push'`,
                "runs-on": RUNNER,
                permissions: { contents: "write" },
                "timeout-minutes": 10,
                steps: [
                    checkout({ ref: "${{ github.event.workflow_run.head_sha }}", "fetch-depth": 0 }),
                    {
                        name: "Tag and release the next version",
                        env: { ...GH_ENV, HEAD_SHA: "${{ github.event.workflow_run.head_sha }}" },
                        // Conventional commits since the last vX.Y.Z tag: a `!` after the type or a
                        // BREAKING CHANGE footer -> major, feat -> minor, fix/perf -> patch, else no release.
                        run: script(
                            "last=$(git tag --merged \"$HEAD_SHA\" --list 'v*' --sort=-v:refname | grep -E '^v[0-9]+\\.[0-9]+\\.[0-9]+$' | head -n 1 || true)",
                            'if [ -n "$last" ]; then range="$last..$HEAD_SHA"; else range="$HEAD_SHA"; fi',
                            'subjects=$(git log --format=%s "$range")',
                            'bodies=$(git log --format=%B "$range")',
                            "if grep -Eq '^[A-Za-z]+(\\([^)]*\\))?!:' <<<\"$subjects\" || grep -Eq '^BREAKING[ -]CHANGE:' <<<\"$bodies\"; then bump=major",
                            "elif grep -Eq '^feat(\\([^)]*\\))?:' <<<\"$subjects\"; then bump=minor",
                            "elif grep -Eq '^(fix|perf)(\\([^)]*\\))?:' <<<\"$subjects\"; then bump=patch",
                            "else bump=none; fi",
                            'IFS=. read -r major minor patch <<<"${last#v}"',
                            "major=${major:-0} minor=${minor:-0} patch=${patch:-0}",
                            'case "$bump" in',
                            '  major) next="v$((major + 1)).0.0" ;;',
                            '  minor) next="v$major.$((minor + 1)).0" ;;',
                            '  patch) next="v$major.$minor.$((patch + 1))" ;;',
                            '  *) echo "No feat, fix, perf or breaking commit since ${last:-the first commit}: nothing to release."; exit 0 ;;',
                            "esac",
                            'if gh release view "$next" >/dev/null 2>&1; then echo "$next is already released."; exit 0; fi',
                            'echo "Releasing $next ($bump) at $HEAD_SHA, after ${last:-no earlier release}."',
                            'if [ -n "$last" ]; then',
                            '  gh release create "$next" --target "$HEAD_SHA" --title "$next" --generate-notes --notes-start-tag "$last"',
                            "else",
                            '  gh release create "$next" --target "$HEAD_SHA" --title "$next" --generate-notes',
                            "fi",
                        ),
                    },
                ],
            },
        },
    });
}
