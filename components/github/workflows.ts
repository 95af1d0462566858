/**
 * The repository's GitHub Actions workflows, generated from the stack config as
 * typed objects and serialized with the `yaml` package (stable: the same options
 * give byte-identical text). The Repository component commits them; nothing here
 * imports Pulumi.
 *
 *   ci.yml       lint, typecheck, test on every pull request and push to the default branch
 *   preview.yml  `pulumi preview --diff` of the stack a pull request targets, posted as a PR comment
 *   deploy.yml   `pulumi up` of the stack whose branch was pushed, behind its environment, then a health check,
 *                then (keel:backend.watch) the health URLs watched for minutes: consecutive failures roll back
 *   rollback.yml the button: `npm run rollback` of a chosen stack to its previous (or a given) version
 *   drift.yml    daily `npm run drift -- --stack <stack>` (a refresh preview: changes outside Keel, schema drift, pending
 *                migrations) and `npm run preview -- <stack> --refresh --expect-no-changes` per stack; one issue per
 *                drifting stack, listing the drifted objects
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
 * - Pulumi's CLI is the version tools/pulumi/go.mod pins (`pulumiVersion`, read by
 *   components/pulumiVersion.ts), the one `npm run pulumi:build` builds: pulumi/actions
 *   installs that release (install-only: no command) and puts it first on PATH, where
 *   Keel's npm scripts look first (scripts/lib/pulumiCli.ts); a step then checks that
 *   `npm run pulumi -- version` answers exactly it. The test job gets it too (the
 *   end-to-end tests), with the workflow linters (actionlint, shellcheck).
 * - Secrets reach only the steps that need them, through `env:` mapped from
 *   `${{ secrets.X }}`; repository and environment variables (`vars.X`) go through
 *   `env:` too, so no run script contains an expression at all.
 * - Every stack job (preview, deploy, rollback, drift) names the stack's GitHub
 *   environment, because that is where its secrets and variables live. A reviewer
 *   rule on that environment therefore gates those jobs too (for a preview that is
 *   intended: it runs the pull request's program with the stack's credentials).
 * - What only a stack knows about itself (its watch settings, where its logs are) is
 *   a variable of its own environment, set by its own `pulumi up` (WATCH_VARIABLES,
 *   LOGS_VARIABLE), read at run time: the owner stack, which commits these files,
 *   cannot read the other stacks' config.
 */
import { Document, isPair, isScalar, visit } from "yaml";
import { WATCH_DEFAULTS, WATCH_MAX_MINUTES } from "../config/stage";
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
    /** The Pulumi CLI every job installs, "3.276.0": tools/pulumi/go.mod's pin (pinnedPulumiVersion). */
    pulumiVersion: string;
    /** "policies" */
    policyPack: string;
    /** How CI reaches the Pulumi state: "passphrase" (self-managed backend: secrets.PULUMI_CONFIG_PASSPHRASE + vars.PULUMI_BACKEND_URL) or "cloud" (secrets.PULUMI_ACCESS_TOKEN). */
    state: "passphrase" | "cloud";
    /** The object store's credentials every Pulumi job gets from the environment's secrets (stateCredentials.ts): AWS_ACCESS_KEY_ID... */
    stateCredentials?: string[];
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
    workflow_dispatch?: { inputs?: Record<string, DispatchInput> };
}

export interface DispatchInput {
    description: string;
    required: boolean;
    type: "choice" | "string" | "boolean";
    options?: string[];
    default?: string | boolean;
}

export interface Step {
    name: string;
    id?: string;
    if?: string;
    "timeout-minutes"?: number;
    uses?: string;
    with?: Record<string, string | number | boolean>;
    env?: Record<string, string>;
    run?: string;
}

export interface Job {
    name: string;
    needs?: string[];
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
    rollback: "Rollback",
    drift: "Drift",
    monitor: "Monitor",
    release: "Release",
} as const;

export const HEADER = "Generated by Keel (components/github/workflows.ts) from the stack config — edit the config, not this file";

/** The button: the Rollback workflow's file, linked from alerts and summaries. */
export const ROLLBACK_FILE = "rollback.yml";

/**
 * Variables of a stack's own environment that its `pulumi up` sets from keel:backend.watch
 * (deploy.yml's watch reads them at run time; minutes 0 or unset: no watch).
 */
export const WATCH_VARIABLES = {
    minutes: "KEEL_WATCH_MINUTES",
    intervalSeconds: "KEEL_WATCH_INTERVAL_SECONDS",
    failures: "KEEL_WATCH_FAILURES",
} as const;

/** The environment variable saying where the stack's backend logs are: `fly logs -a <app>`, or the Render service's dashboard URL. */
export const LOGS_VARIABLE = "KEEL_BACKEND_LOGS";

/** The title of a stack's one open incident issue (label `incident`), shared by the monitor and the deploy watch. */
export function incidentTitle(stack: string): string {
    return `Incident: ${stack} is unhealthy`;
}

/** ci, preview, deploy, rollback, drift, monitor, release, in that order. */
export function generateWorkflows(options: WorkflowOptions): GeneratedWorkflow[] {
    const o = normalize(options);
    const files: [string, Workflow][] = [
        ["ci.yml", ciWorkflow(o)],
        ["preview.yml", previewWorkflow(o)],
        ["deploy.yml", deployWorkflow(o)],
        [ROLLBACK_FILE, rollbackWorkflow(o)],
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
const PULUMI_VERSION = /^[0-9]+\.[0-9]+\.[0-9]+$/;
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
    if (typeof options?.pulumiVersion !== "string" || !PULUMI_VERSION.test(options.pulumiVersion)) {
        problems.push(
            `pulumiVersion '${String(options?.pulumiVersion)}' is not a Pulumi CLI release like 3.276.0. Fix: pass the version tools/pulumi/go.mod pins (pinnedPulumiVersion in components/pulumiVersion.ts).`,
        );
    }
    for (const name of options?.stateCredentials ?? []) {
        if (!/^[A-Z][A-Z0-9_]*$/.test(String(name))) {
            problems.push(
                `stateCredentials has '${String(name)}', which is not a secret's name. Fix: pass names like AWS_ACCESS_KEY_ID (stateCredentials in components/config/stateCredentials.ts).`,
            );
        }
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
    return {
        name: s.name,
        id: s.id,
        if: s.if,
        "timeout-minutes": s["timeout-minutes"],
        uses: s.uses,
        with: s.with,
        env: s.env,
        run: s.run,
    };
}

/** A job with its keys in one fixed order. */
function job(j: Job): Job {
    return {
        name: j.name,
        needs: j.needs,
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

/**
 * The Pulumi CLI tools/pulumi/go.mod pins: pulumi/actions without a command only installs it
 * (from Pulumi's releases, first on PATH for the later steps); then the CLI Keel's npm scripts
 * find (scripts/lib/pulumiCli.ts: PATH in order) must answer exactly that version. After npm ci.
 */
function pulumiCli(o: WorkflowOptions): Step[] {
    const want = `v${o.pulumiVersion}`;
    return [
        { name: `Install the Pulumi CLI ${o.pulumiVersion}`, uses: usesRef(ACTIONS.pulumi), with: { "pulumi-version": o.pulumiVersion } },
        {
            name: "Check the Pulumi CLI Keel's scripts use",
            run: script(
                "found=$(npm run --silent pulumi -- version)",
                `if [ "$found" != "${want}" ]; then echo "::error::Keel's npm scripts found the Pulumi CLI $found, not ${want} (tools/pulumi/go.mod)."; exit 1; fi`,
                `echo "Keel's npm scripts run the Pulumi CLI $found."`,
            ),
        },
    ];
}

/** actionlint (tools/actionlint/go.mod, built with the runner's Go) and shellcheck, which the workflow tests lint with. */
const lintTools: Step = {
    name: "Build actionlint, install shellcheck",
    run: script(
        "if ! command -v shellcheck >/dev/null; then sudo apt-get install -y --no-install-recommends shellcheck; fi",
        "shellcheck --version",
        "npm run lint-tools:build",
    ),
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
        ...storeSecrets(o),
        NEON_API_KEY: "${{ secrets.NEON_API_KEY }}",
        FLY_API_TOKEN: "${{ secrets.FLY_API_TOKEN }}",
        RENDER_API_KEY: "${{ secrets.RENDER_API_KEY }}",
        VERCEL_API_TOKEN: "${{ secrets.VERCEL_TOKEN }}",
        // The stack manages its GitHub environment (the owner also the branch rules and these files):
        // the job's own token may not, so the environment holds an admin token for the GitHub provider.
        GITHUB_TOKEN: "${{ secrets.KEEL_GITHUB_TOKEN }}",
    };
}

/** The object store's credentials, from the environment's secrets. */
function storeSecrets(o: WorkflowOptions): Record<string, string> {
    return Object.fromEntries((o.stateCredentials ?? []).map((name) => [name, `\${{ secrets.${name} }}`]));
}

/** Fails early, naming the setting, when the state backend is not configured for the environment. */
function stateCheck(o: WorkflowOptions, s: WorkflowStack): Step {
    const lines =
        o.state === "passphrase"
            ? [
                  `if [ -z "$PULUMI_BACKEND_URL" ]; then echo "::error::The ${s.environment} environment has no PULUMI_BACKEND_URL variable (the self-managed state backend, e.g. s3://bucket). Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
                  `if [ -z "$PULUMI_CONFIG_PASSPHRASE" ]; then echo "::error::The ${s.environment} environment has no PULUMI_CONFIG_PASSPHRASE secret (it decrypts the ${s.stack} stack's secrets). Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
                  ...(o.stateCredentials ?? []).map(
                      (name) =>
                          `if [ -z "$${name}" ]; then echo "::error::The ${s.environment} environment has no ${name} secret (the state backend's credentials). The ${s.stack} stack's deploy sets it from its keel: config or your environment: npm run up -- ${s.stack}; or set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
                  ),
              ]
            : [
                  `if [ -z "$PULUMI_ACCESS_TOKEN" ]; then echo "::error::The ${s.environment} environment has no PULUMI_ACCESS_TOKEN secret (Pulumi Cloud). Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
              ];
    const env: Record<string, string> =
        o.state === "passphrase"
            ? {
                  PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}",
                  PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                  ...storeSecrets(o),
              }
            : { PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" };
    return { name: "Check the Pulumi state settings", env, run: script(...lines) };
}

/** The steps every Pulumi job starts with. */
function pulumiSetup(o: WorkflowOptions, s: WorkflowStack, checkoutWith: Record<string, string | number | boolean> = {}): Step[] {
    return [checkout(checkoutWith), setupNode(o, false), npmCi, ...pulumiCli(o), policyPackDeps(o), stateCheck(o, s)];
}

const JOB_ENV = { PULUMI_SKIP_UPDATE_CHECK: "true", FORCE_COLOR: "0" };
const RUN_URL = "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}";
const GH_ENV = { GH_TOKEN: "${{ github.token }}", GH_REPO: "${{ github.repository }}" };
/** The Rollback workflow's page, where its Run workflow button is. */
const ROLLBACK_URL = `\${{ github.server_url }}/\${{ github.repository }}/actions/workflows/${ROLLBACK_FILE}`;
/** Minutes a `pulumi up` (a deploy, or a rollback's) may take. */
const DEPLOY_MINUTES = 60;
/** Minutes the watch step may take: the longest watch, then a rollback. */
const WATCH_STEP_MINUTES = WATCH_MAX_MINUTES + DEPLOY_MINUTES;

/** The rollback command for a stack: `npm run rollback -- --stack <s> --previous --yes`. */
export function rollbackCommand(stack: string, target: "previous" | "list" = "previous"): string {
    return target === "list" ? `npm run rollback -- --stack ${stack}` : `npm run rollback -- --stack ${stack} --previous --yes`;
}

/** How to roll a stack back, in one line of plain text (alerts, issues): the button and the command. */
function rollbackHint(s: WorkflowStack, url: string): string {
    return `Roll back: the Rollback workflow (${url}, Run workflow from the ${s.branch} branch, stack ${s.stack}) or ${rollbackCommand(s.stack)}`;
}

/** The Slack post: `notify "<text>"`; with Slack off, it only says so. */
function notifyFunction(o: WorkflowOptions, required: boolean): string[] {
    if (!o.slack) return ["notify() {", '  echo "Slack is off for this project: $1"', "}"];
    return [
        "notify() {",
        required
            ? '  if [ -z "$SLACK_WEBHOOK_URL" ]; then echo "::error::No SLACK_WEBHOOK_URL secret: could not post: $1"; exit 1; fi'
            : '  if [ -z "$SLACK_WEBHOOK_URL" ]; then echo "No SLACK_WEBHOOK_URL secret: not posted: $1"; return 0; fi',
        "  jq -n -c --arg text \"$1\" '{text: $text}' | curl --fail --silent --show-error --max-time 10 --retry 3 --retry-all-errors --header 'Content-Type: application/json' --data @- --output /dev/null \"$SLACK_WEBHOOK_URL\"",
        "}",
    ];
}

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
    const check = (
        name: string,
        command: string,
        minutes: number,
        before: Step[] = [],
        after: Step[] = [],
        env?: Record<string, string>,
    ): Job => ({
        name,
        "runs-on": RUNNER,
        permissions: { contents: "read" },
        "timeout-minutes": minutes,
        env,
        steps: [checkout(), setupNode(o, true), ...before, npmCi, ...after, { name: command, run: `${command}\n` }],
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
                // The end-to-end tests run the pinned CLI; the workflow tests lint with actionlint and shellcheck.
                [...pulumiCli(o), lintTools],
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
                        // Installed above already: the action keeps it.
                        "pulumi-version": o.pulumiVersion,
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
            // keel:backend.watch lives with the backend: only a stack with one is watched (and may roll back).
            const watched = s.hasBackend;
            const steps: Step[] = [
                // The whole history: a rollback runs the program of an earlier commit.
                ...pulumiSetup(o, s, watched ? { "fetch-depth": 0 } : {}),
                { name: "Preflight", env: stackSecrets(o), run: `npm run preflight -- --stack ${s.stack}\n` },
                {
                    // Keel's program inline through the engine (no type check per run), the state from PULUMI_BACKEND_URL.
                    name: `npm run up -- ${s.stack}`,
                    "timeout-minutes": DEPLOY_MINUTES,
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
            if (watched) steps.push(watchStep(o, s));
            steps.push(deployFailedSummary(s, watched));
            return {
                name: `deploy (${s.stack})`,
                if: `github.ref == 'refs/heads/${s.branch}'`,
                "runs-on": RUNNER,
                environment: s.environment,
                // The watch opens or updates the incident issue.
                permissions: watched ? { contents: "read", issues: "write" } : { contents: "read" },
                concurrency: { group: deployGroup(s), "cancel-in-progress": false },
                "timeout-minutes": watched ? DEPLOY_MINUTES + WATCH_STEP_MINUTES : DEPLOY_MINUTES,
                env: JOB_ENV,
                steps,
            };
        }),
    });
}

/** One deploy or rollback of a stack at a time: deploy.yml and rollback.yml share it. */
function deployGroup(s: WorkflowStack): string {
    return `deploy-${s.stack}`;
}

/**
 * After `pulumi up` and the health check: the stack's health URLs (the monitor's) every
 * interval for the watch's minutes; `failures` failed probes in a row run the rollback to the
 * previous successful version, open or update the stack's one incident issue, post to Slack
 * and fail the job. Settings from the stack's environment (WATCH_VARIABLES); counted in
 * probes, not by the clock.
 */
function watchStep(o: WorkflowOptions, s: WorkflowStack): Step {
    const env: Record<string, string> = {
        // The rollback is a Pulumi update: the same credentials as the deploy.
        ...stackSecrets(o),
        ...GH_ENV,
        RUN_URL,
        ROLLBACK_URL,
        COMMIT: "${{ github.sha }}",
        WATCH_MINUTES: `\${{ vars.${WATCH_VARIABLES.minutes} }}`,
        WATCH_INTERVAL_SECONDS: `\${{ vars.${WATCH_VARIABLES.intervalSeconds} }}`,
        WATCH_FAILURES: `\${{ vars.${WATCH_VARIABLES.failures} }}`,
        BACKEND_LOGS: `\${{ vars.${LOGS_VARIABLE} }}`,
        BACKEND_HEALTH_URL: `\${{ vars.${monitorVariable(s.stack, "BACKEND_HEALTH_URL")} }}`,
    };
    const probes = ['  probe backend "$BACKEND_HEALTH_URL"'];
    if (s.hasFrontend) {
        env.FRONTEND_HEALTH_URL = `\${{ vars.${monitorVariable(s.stack, "FRONTEND_HEALTH_URL")} }}`;
        probes.push('  probe frontend "$FRONTEND_HEALTH_URL"');
    }
    // A URL the stack has not set yet is skipped with a warning: the deploy itself succeeded.
    const missing = (what: string, name: "BACKEND_HEALTH_URL" | "FRONTEND_HEALTH_URL") =>
        `if [ -z "$${name}" ]; then echo "::warning::No ${monitorVariable(s.stack, name)} variable: the watch does not probe the ${what}. The stack's own deploy sets it (npm run up -- ${s.stack}); see Settings > Secrets and variables > Actions."; fi`;
    if (o.slack) env.SLACK_WEBHOOK_URL = "${{ secrets.SLACK_WEBHOOK_URL }}";
    const title = incidentTitle(s.stack);
    const settings = `${WATCH_VARIABLES.minutes}, ${WATCH_VARIABLES.intervalSeconds} and ${WATCH_VARIABLES.failures}`;
    return {
        name: "Watch the health URLs, roll back when they fail",
        id: "watch",
        // Unset (before the stack's first deploy with a watch) or 0: no watch.
        if: `vars.${WATCH_VARIABLES.minutes} > 0`,
        "timeout-minutes": WATCH_STEP_MINUTES,
        env,
        run: script(
            `minutes="\${WATCH_MINUTES:-0}" interval="\${WATCH_INTERVAL_SECONDS:-${WATCH_DEFAULTS.intervalSeconds}}" needed="\${WATCH_FAILURES:-${WATCH_DEFAULTS.failures}}"`,
            'if ! [[ "$minutes" =~ ^[0-9]+$ && "$interval" =~ ^[1-9][0-9]*$ && "$needed" =~ ^[1-9][0-9]*$ ]]; then',
            `  echo "::error::The watch settings (${settings} in the ${s.environment} environment) are not whole numbers: '$minutes', '$interval', '$needed'. They come from keel:backend.watch: npm run up -- ${s.stack} sets them again."`,
            "  exit 1",
            "fi",
            `if [ "$minutes" -eq 0 ]; then echo "No watch: keel:backend.watch.minutes is 0 for ${s.stack}."; exit 0; fi`,
            missing("backend", "BACKEND_HEALTH_URL"),
            ...(s.hasFrontend ? [missing("frontend", "FRONTEND_HEALTH_URL")] : []),
            `if [ -z "$BACKEND_HEALTH_URL${s.hasFrontend ? "$FRONTEND_HEALTH_URL" : ""}" ]; then echo "::warning::Nothing to watch."; exit 0; fi`,
            "probes=$(((minutes * 60 + interval - 1) / interval))",
            'log="$RUNNER_TEMP/watch.txt"',
            ': >"$log"',
            "probe() {",
            '  local what="$1" url="$2" code',
            '  if [ -z "$url" ]; then return 0; fi',
            '  code=$(curl --silent --location --max-time 10 --output /dev/null --write-out "%{http_code}" "$url") || true',
            '  if [ "${code:0:1}" != 2 ]; then problems+=("$what ($url) answered ${code:-nothing}"); fi',
            "}",
            `echo "Watching ${s.stack} for $minutes min: a probe every $interval s ($probes probes); $needed failed in a row roll it back."`,
            "failed=0",
            "for ((i = 1; i <= probes; i++)); do",
            '  sleep "$interval"',
            "  problems=()",
            ...probes,
            '  if [ "${#problems[@]}" -eq 0 ]; then',
            "    failed=0",
            '    echo "probe $i/$probes: healthy" | tee -a "$log"',
            "  else",
            "    failed=$((failed + 1))",
            '    summary=$(printf "%s; " "${problems[@]}")',
            '    echo "probe $i/$probes: ${summary%; } ($failed in a row)" | tee -a "$log"',
            '    if [ "$failed" -ge "$needed" ]; then break; fi',
            "  fi",
            "done",
            'if [ "$failed" -lt "$needed" ]; then',
            `  echo "${s.stack} stayed healthy through the watch."`,
            `  printf '### Watch: %s healthy\\n\\n%s probes in %s min, one every %s s; never %s failed in a row.\\n' "${s.stack}" "$probes" "$minutes" "$interval" "$needed" >>"$GITHUB_STEP_SUMMARY"`,
            "  exit 0",
            "fi",
            "",
            `echo "::error::${s.stack} failed $needed health probes in a row after deploying $COMMIT: rolling back to the previous successful version."`,
            'out="$RUNNER_TEMP/rollback.txt"',
            `if ${rollbackCommand(s.stack)} 2>&1 | tee "$out"; then`,
            "  recovered=$(grep -Eo 'recovered in [0-9.]+ s' \"$out\" | tail -n 1 || true)",
            '  result="rolled back to the previous successful version (${recovered:-the command succeeded})"',
            "else",
            "  status=$?",
            `  result="the rollback FAILED (exit $status): ${s.stack} may still run $COMMIT"`,
            "fi",
            'echo "Rollback: $result"',
            'logs="${BACKEND_LOGS:-the backend platform logs}"',
            "{",
            `  echo "The deploy of $COMMIT to ${s.stack} passed its health check, then failed $needed health probes in a row during the $minutes-minute watch (one every $interval s)."`,
            "  echo",
            '  echo "- Rollback: $result"',
            '  echo "- Failed version: commit $COMMIT (deploy run: $RUN_URL)"',
            '  echo "- Where to look: $logs"',
            `  echo "- Another version: the Rollback workflow ($ROLLBACK_URL, Run workflow from the ${s.branch} branch, stack ${s.stack}, a version or commit), or npm run rollback -- --stack ${s.stack} --to <version-or-commit> --yes; the versions: ${rollbackCommand(s.stack, "list")}"`,
            `  echo "- The ${s.branch} branch still holds $COMMIT: revert or fix it, or the next push deploys it again."`,
            "  echo",
            "  echo 'Probes:'",
            "  echo '```'",
            '  cat "$log"',
            "  echo '```'",
            "  echo",
            "  echo 'Rollback output (the end):'",
            "  echo '```'",
            '  tail -c 20000 "$out"',
            "  echo '```'",
            '} >"$RUNNER_TEMP/incident.md"',
            `gh label create incident --color B60205 --description "Keel monitor: a stack is unhealthy (open while it lasts)" --force || true`,
            // The monitor's issue: one open incident per stack, whoever found it first; the monitor closes it on recovery.
            `number=$(gh issue list --state open --label incident --limit 100 --json number,title --jq '.[] | select(.title == "${title}") | .number' | head -n 1) || number=""`,
            'if [ -n "$number" ]; then',
            '  issue=$(gh issue comment "$number" --body-file "$RUNNER_TEMP/incident.md") || issue=""',
            "else",
            `  issue=$(gh issue create --title "${title}" --label incident --body-file "$RUNNER_TEMP/incident.md") || issue=""`,
            "fi",
            'if [ -z "$issue" ]; then echo "::warning::Could not open or update the incident issue; its text is in the job summary."; fi',
            "{",
            `  echo "### Watch: ${s.stack} unhealthy, $result"`,
            "  echo",
            '  echo "Incident: ${issue:-not filed}"',
            "  echo",
            '  cat "$RUNNER_TEMP/incident.md"',
            '} >>"$GITHUB_STEP_SUMMARY"',
            ...notifyFunction(o, false),
            `notify ":rotating_light: ${s.stack}: the deploy of \${COMMIT:0:7} failed $needed health probes in a row; $result. \${issue:-$RUN_URL}" || echo "::warning::Could not post to Slack."`,
            `echo "::error::${s.stack} was unhealthy after the deploy: $result."`,
            "exit 1",
        ),
    };
}

/** On a failed deploy: the job summary names the button and the command. */
function deployFailedSummary(s: WorkflowStack, watched: boolean): Step {
    return {
        name: "How to roll back",
        if: "failure()",
        env: watched ? { ROLLBACK_URL, WATCH_OUTCOME: "${{ steps.watch.outcome }}" } : { ROLLBACK_URL },
        run: script(
            "{",
            `  echo '### The deploy of ${s.stack} failed'`,
            "  echo",
            ...(watched
                ? [
                      '  if [ "$WATCH_OUTCOME" = failure ]; then',
                      "    echo 'The watch found it unhealthy and ran the rollback: the summary above and the incident issue say how that went.'",
                      "    echo",
                      "  fi",
                  ]
                : []),
            "  echo 'To go back to the last good version:'",
            "  echo",
            `  echo "- the **Rollback** workflow: $ROLLBACK_URL (Run workflow from the \\\`${s.branch}\\\` branch, stack \\\`${s.stack}\\\`; an empty version is the previous successful one)"`,
            `  echo "- or: \\\`${rollbackCommand(s.stack)}\\\` (\\\`${rollbackCommand(s.stack, "list")}\\\` lists the versions; \\\`--to <version-or-commit> --yes\\\` picks one)"`,
            '} >>"$GITHUB_STEP_SUMMARY"',
        ),
    };
}

// ---------------------------------------------------------------------------
// rollback.yml

function rollbackWorkflow(o: WorkflowOptions): Workflow {
    const stacks = o.stacks.map((s) => s.stack);
    const branches = o.stacks.map((s) => `  ${s.stack}) branch=${s.branch} ;;`);
    return workflow({
        name: WORKFLOW_NAMES.rollback,
        on: {
            workflow_dispatch: {
                inputs: {
                    stack: {
                        description: "The stack to roll back (run the workflow from its branch)",
                        required: true,
                        type: "choice",
                        options: stacks,
                        default: o.stacks.find((s) => s.stage === "prod")?.stack ?? stacks[0],
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
                },
            },
        },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: {
            // Before any environment (and its reviewers): the inputs and the branch, every problem named.
            check: {
                name: "check the inputs",
                "runs-on": RUNNER,
                permissions: {},
                "timeout-minutes": 5,
                steps: [
                    {
                        name: "Check the stack, its branch, the version",
                        env: {
                            STACK: "${{ inputs.stack }}",
                            VERSION: "${{ inputs.version }}",
                            WITH_DATA: "${{ inputs.with-data }}",
                            REF: "${{ github.ref }}",
                        },
                        run: script(
                            "ok=true",
                            'case "$STACK" in',
                            ...branches,
                            `  *) echo "::error::The stack must be one this repository deploys: ${stacks.join(", ")}."; exit 1 ;;`,
                            "esac",
                            'if [ "$REF" != "refs/heads/$branch" ]; then',
                            `  echo "::error::The $STACK stack deploys from the $branch branch and its environment takes runs from there only: run the Rollback workflow again with 'Use workflow from: $branch'."`,
                            "  ok=false",
                            "fi",
                            'if [ -n "$VERSION" ] && ! [[ "$VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]]; then',
                            `  echo "::error::The version must be a Pulumi stack version (a number) or a git commit, tag or branch (letters, digits, '.', '_', '-'), at most 100 characters."`,
                            "  ok=false",
                            "fi",
                            'if [ "$WITH_DATA" = true ] && [ -z "$VERSION" ]; then',
                            '  echo "::error::with-data restores the database from the backup of a named version: give the version too (the list: npm run rollback -- --stack $STACK)."',
                            "  ok=false",
                            "fi",
                            '"$ok"',
                        ),
                    },
                ],
            },
            ...byStack(o, "rollback", (s) => ({
                name: `rollback (${s.stack})`,
                needs: ["check"],
                if: `inputs.stack == '${s.stack}'`,
                "runs-on": RUNNER,
                environment: s.environment,
                permissions: { contents: "read" },
                // Never beside a deploy of the same stack.
                concurrency: { group: deployGroup(s), "cancel-in-progress": false },
                "timeout-minutes": DEPLOY_MINUTES,
                env: JOB_ENV,
                steps: [
                    // The whole history: the program of an earlier commit is run.
                    ...pulumiSetup(o, s, { "fetch-depth": 0 }),
                    {
                        name: `npm run rollback -- --stack ${s.stack}`,
                        id: "rollback",
                        env: { ...stackSecrets(o), VERSION: "${{ inputs.version }}", WITH_DATA: "${{ inputs.with-data }}" },
                        // The inputs are arguments of their own, never part of the script's text.
                        run: script(
                            `args=(--stack ${s.stack})`,
                            'if [ -n "$VERSION" ]; then args+=(--to "$VERSION"); else args+=(--previous); fi',
                            "args+=(--yes)",
                            'if [ "$WITH_DATA" = true ]; then args+=(--with-data); fi',
                            'echo "npm run rollback -- ${args[*]}"',
                            'npm run rollback -- "${args[@]}" 2>&1 | tee "$RUNNER_TEMP/rollback.txt"',
                        ),
                    },
                    {
                        name: "Summary",
                        if: "always()",
                        env: {
                            OUTCOME: "${{ steps.rollback.outcome }}",
                            VERSION: "${{ inputs.version }}",
                            WITH_DATA: "${{ inputs.with-data }}",
                            RUN_URL,
                        },
                        run: script(
                            'out="$RUNNER_TEMP/rollback.txt"',
                            "recovered=$(grep -Eo 'recovered in [0-9.]+ s' \"$out\" 2>/dev/null | tail -n 1 || true)",
                            'if [ -n "$VERSION" ]; then target="version or commit $VERSION"; else target="the previous successful version"; fi',
                            'case "$OUTCOME" in',
                            `  success) headline="Rollback of ${s.stack}: succeeded\${recovered:+, $recovered}" ;;`,
                            `  failure) headline="Rollback of ${s.stack}: FAILED" ;;`,
                            `  *) headline="Rollback of ${s.stack}: not run ($OUTCOME)" ;;`,
                            "esac",
                            "{",
                            '  echo "### $headline"',
                            "  echo",
                            '  echo "- To: $target"',
                            '  echo "- With data: ${WITH_DATA:-false}"',
                            '  echo "- Run: $RUN_URL"',
                            '  if [ -s "$out" ]; then',
                            "    echo",
                            "    echo '```'",
                            '    tail -c 60000 "$out"',
                            "    echo '```'",
                            "  fi",
                            '} >>"$GITHUB_STEP_SUMMARY"',
                        ),
                    },
                ],
            })),
        },
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
            const drift = `npm run drift -- --stack ${s.stack}`;
            const preview = `npm run preview -- ${s.stack} --refresh --expect-no-changes`;
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
                        // Two checks, both run: npm run drift (a refresh preview: resources changed outside Keel, the
                        // schema's objects changed outside migrations, pending migrations; its Markdown lists each one for
                        // the issue) and the preview of this branch's code against the refreshed cloud.
                        name: "Check for drift",
                        id: "drift",
                        env: stackSecrets(o),
                        run: script(
                            "set +e",
                            `${drift} --markdown "$RUNNER_TEMP/drift.md" 2>&1 | tee "$RUNNER_TEMP/drift.txt"`,
                            "drift=${PIPESTATUS[0]}",
                            `${preview} 2>&1 | tee "$RUNNER_TEMP/preview.txt"`,
                            "preview=${PIPESTATUS[0]}",
                            'echo "drift=$drift" >> "$GITHUB_OUTPUT"',
                            'echo "preview=$preview" >> "$GITHUB_OUTPUT"',
                            '[ "$drift" -eq 0 ] && [ "$preview" -eq 0 ]',
                        ),
                    },
                    {
                        // Markdown code spans in double quotes, their backticks escaped (in single quotes
                        // shellcheck takes them for command substitutions that will not run: SC2016).
                        name: "Open or update the drift issue",
                        if: "failure() && steps.drift.outcome == 'failure'",
                        env: {
                            ...GH_ENV,
                            RUN_URL,
                            DRIFT_EXIT: "${{ steps.drift.outputs.drift }}",
                            PREVIEW_EXIT: "${{ steps.drift.outputs.preview }}",
                        },
                        run: script(
                            "{",
                            `  echo 'The daily drift check of the ${s.stack} stack did not come back clean.'`,
                            "  echo",
                            '  echo "Run: $RUN_URL"',
                            "  echo",
                            `  echo "\\\`${drift}\\\` (exit \${DRIFT_EXIT:-?}; 1: drift, 2: a stack not checked, the table says why):"`,
                            "  echo",
                            '  if [ -s "$RUNNER_TEMP/drift.md" ]; then',
                            '    cat "$RUNNER_TEMP/drift.md"',
                            "  else",
                            "    echo '```'",
                            '    tail -c 30000 "$RUNNER_TEMP/drift.txt"',
                            "    echo '```'",
                            "  fi",
                            "  echo",
                            `  echo "<details><summary><code>${preview}</code> (this branch's code against the cloud): exit \${PREVIEW_EXIT:-?}</summary>"`,
                            "  echo",
                            "  echo '```'",
                            '  tail -c 30000 "$RUNNER_TEMP/preview.txt"',
                            "  echo '```'",
                            "  echo '</details>'",
                            "  echo",
                            `  echo "Settle it with \\\`npm run up -- ${s.stack}\\\` (the code wins) or \\\`npm run refresh -- ${s.stack}\\\` (the cloud wins); the next clean check closes this issue."`,
                            '} > "$RUNNER_TEMP/issue.md"',
                            `gh label create drift --color D93F0B --description "Keel: a stack differs from its state" --force`,
                            findIssue,
                            'if [ -n "$number" ]; then',
                            '  gh issue comment "$number" --body-file "$RUNNER_TEMP/issue.md"',
                            "else",
                            `  gh issue create --title "${title}" --label drift --body-file "$RUNNER_TEMP/issue.md"`,
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
            env.ROLLBACK_URL = ROLLBACK_URL;
            const title = incidentTitle(s.stack);
            const notify = notifyFunction(o, true);
            // The alert names the button and the command.
            const rollback = rollbackHint(s, "$ROLLBACK_URL");
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
                            `    notify ":red_circle: ${s.stack} is unhealthy: \${summary%; } ($RUN_URL). ${rollback}"`,
                            `    gh label create incident --color B60205 --description "Keel monitor: a stack is unhealthy (open while it lasts)" --force`,
                            `    gh issue create --title "$title" --label incident --body "The monitor found: \${summary%; }. First seen: $RUN_URL. ${rollback}. This issue closes itself when the checks pass again."`,
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
                        // The values are quoted: shellcheck reads `bump=patch` as running `patch` (SC2209).
                        run: script(
                            "last=$(git tag --merged \"$HEAD_SHA\" --list 'v*' --sort=-v:refname | grep -E '^v[0-9]+\\.[0-9]+\\.[0-9]+$' | head -n 1 || true)",
                            'if [ -n "$last" ]; then range="$last..$HEAD_SHA"; else range="$HEAD_SHA"; fi',
                            'subjects=$(git log --format=%s "$range")',
                            'bodies=$(git log --format=%B "$range")',
                            'if grep -Eq \'^[A-Za-z]+(\\([^)]*\\))?!:\' <<<"$subjects" || grep -Eq \'^BREAKING[ -]CHANGE:\' <<<"$bodies"; then bump="major"',
                            'elif grep -Eq \'^feat(\\([^)]*\\))?:\' <<<"$subjects"; then bump="minor"',
                            'elif grep -Eq \'^(fix|perf)(\\([^)]*\\))?:\' <<<"$subjects"; then bump="patch"',
                            'else bump="none"; fi',
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
