/** The building blocks every workflow file shares: key order, the setup steps, the secrets' env, the URLs. */
import { WATCH_MAX_MINUTES } from "../../config/stage";
import { ACTIONS, usesRef } from "../actions";
export { rollbackCommand } from "../../operations/rollbackHint";
import { SLACK_WEBHOOK_VARIABLE } from "../../operations/slack";
import { STEP_ENV } from "../../operations/stepEnv";
import { Job, monitorVariable, Permissions, ROLLBACK_FILE, Step, Workflow, WorkflowOptions, WorkflowStack } from "./contract";

export const RUNNER = "ubuntu-latest";
export const NO_PERMISSIONS: Permissions = {};
export const BASH = { run: { shell: "bash" as const } };

/** A step with its keys in one fixed order, whatever order the caller wrote them in. */
export function step(s: Step): Step {
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
export function job(j: Job): Job {
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

export function workflow(w: Workflow): Workflow {
    const jobs: Record<string, Job> = {};
    for (const [id, j] of Object.entries(w.jobs)) jobs[id] = job(j);
    return { name: w.name, on: w.on, permissions: w.permissions, concurrency: w.concurrency, defaults: w.defaults, jobs };
}

export function script(...lines: string[]): string {
    return lines.join("\n") + "\n";
}

export function checkout(extra: Record<string, string | number | boolean> = {}): Step {
    return { name: "Check out", uses: usesRef(ACTIONS.checkout), with: { "persist-credentials": false, ...extra } };
}

/** setup-node; the npm cache only where no secret is around (a cache is shared with other runs). */
export function setupNode(o: WorkflowOptions, cache: boolean): Step {
    return {
        name: "Set up Node.js",
        uses: usesRef(ACTIONS.setupNode),
        with: cache ? { "node-version": o.nodeVersion, cache: "npm" } : { "node-version": o.nodeVersion, "package-manager-cache": false },
    };
}

export const npmCi: Step = { name: "Install dependencies", run: "npm ci --no-audit --no-fund\n" };

/**
 * The Pulumi CLI tools/pulumi/go.mod pins: pulumi/actions without a command only installs it
 * (from Pulumi's releases, first on PATH for the later steps); then the CLI Keel's npm scripts
 * find (scripts/lib/pulumiCli.ts: PATH in order) must answer exactly that version. After npm ci.
 */
export function pulumiCli(o: WorkflowOptions): Step[] {
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
export const lintTools: Step = {
    name: "Build actionlint, install shellcheck",
    run: script(
        "if ! command -v shellcheck >/dev/null; then sudo apt-get install -y --no-install-recommends shellcheck; fi",
        "shellcheck --version",
        "npm run lint-tools:build",
    ),
};

export function policyPackDeps(o: WorkflowOptions): Step {
    return {
        name: "Install the policy pack's dependencies",
        // A pack with dependencies of its own has a lockfile; Keel's resolves everything from the root's node_modules.
        run: script(`if [ -f "${o.policyPack}/package-lock.json" ]; then npm ci --no-audit --no-fund --prefix "${o.policyPack}"; fi`),
    };
}

/** What a Pulumi command on a stack needs: the state's credentials and the vendors' tokens. */
export function stackSecrets(o: WorkflowOptions): Record<string, string> {
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
export function storeSecrets(o: WorkflowOptions): Record<string, string> {
    return Object.fromEntries((o.stateCredentials ?? []).map((name) => [name, `\${{ secrets.${name} }}`]));
}

/** What the setup steps name in their messages: a deploying stack, or previews.yml's stand-in (its environment). */
export type StackEnvironment = Pick<WorkflowStack, "stack" | "environment">;

/** Fails early, naming the setting, when the state backend is not configured for the environment. */
export function stateCheck(o: WorkflowOptions, s: StackEnvironment): Step {
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
export function pulumiSetup(o: WorkflowOptions, s: StackEnvironment, checkoutWith: Record<string, string | number | boolean> = {}): Step[] {
    return [checkout(checkoutWith), setupNode(o, false), npmCi, ...pulumiCli(o), policyPackDeps(o), stateCheck(o, s)];
}

export const JOB_ENV = { PULUMI_SKIP_UPDATE_CHECK: "true", FORCE_COLOR: "0" };
export const RUN_URL = "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}";
export const GH_ENV = { GH_TOKEN: "${{ github.token }}", GH_REPO: "${{ github.repository }}" };
/** The Rollback workflow's page, where its Run workflow button is. */
export const ROLLBACK_URL = `\${{ github.server_url }}/\${{ github.repository }}/actions/workflows/${ROLLBACK_FILE}`;
/** Minutes a `pulumi up` (a deploy, or a rollback's) may take. */
export const DEPLOY_MINUTES = 60;
/** Minutes the watch step may take: the longest watch, then a rollback. */
export const WATCH_STEP_MINUTES = WATCH_MAX_MINUTES + DEPLOY_MINUTES;

/** A flag's value as one shell word: quoted when it holds anything but letters, digits and `._/-` (an environment name may hold spaces). */
export function shellWord(value: string): string {
    return /^[A-Za-z0-9._/-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** A step's run: the checkout's keel with these arguments (the steps before ran npm ci, which ./keel's build needs). */
export function keelRun(...args: string[]): string {
    return `./keel ${args.join(" ")}\n`;
}

export function byStack<T>(o: WorkflowOptions, prefix: string, make: (s: WorkflowStack) => T | undefined): Record<string, T> {
    const jobs: Record<string, T> = {};
    for (const s of o.stacks) {
        const j = make(s);
        if (j) jobs[`${prefix}-${s.stack}`] = j;
    }
    return jobs;
}

/** One deploy or rollback of a stack at a time: deploy.yml and rollback.yml share it. */
export function deployGroup(s: WorkflowStack): string {
    return `deploy-${s.stack}`;
}

/**
 * What a keel health command (the deploy watch, the monitor) gets for the stack: its health
 * URLs (the monitor's repository variables) and the Slack webhook in env, and the flags saying
 * which of them it has.
 */
export function healthInputs(o: WorkflowOptions, s: WorkflowStack): { env: Record<string, string>; flags: string[] } {
    const env: Record<string, string> = {};
    const flags: string[] = [];
    if (s.hasBackend) {
        env[STEP_ENV.backendHealthUrl] = `\${{ vars.${monitorVariable(s.stack, "BACKEND_HEALTH_URL")} }}`;
        flags.push("--backend");
    }
    if (s.hasFrontend) {
        env[STEP_ENV.frontendHealthUrl] = `\${{ vars.${monitorVariable(s.stack, "FRONTEND_HEALTH_URL")} }}`;
        flags.push("--frontend");
    }
    if (o.slack) {
        env[SLACK_WEBHOOK_VARIABLE] = `\${{ secrets.${SLACK_WEBHOOK_VARIABLE} }}`;
        flags.push("--slack");
    }
    return { env, flags };
}
