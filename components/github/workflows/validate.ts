/** The options checked, every problem named at once with its fix. */
import { WorkflowConfigError, WorkflowOptions, WorkflowStack } from "./contract";

export const STAGE_ORDER = { dev: 0, staging: 1, prod: 2 } as const;
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
export function normalize(options: WorkflowOptions): WorkflowOptions {
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
    if (options?.previews !== undefined) {
        const { base, ttlDays } = options.previews ?? ({} as { base?: unknown; ttlDays?: unknown });
        if (typeof base !== "string" || !STACK_NAME.test(base)) {
            problems.push(
                `previews.base '${String(base)}' is not a stack name (letters, digits, '-' or '_'). Fix: pass the stack previews are made from (keel pr up --from), e.g. 'staging'.`,
            );
        }
        if (typeof ttlDays !== "number" || !Number.isInteger(ttlDays) || ttlDays < 1) {
            problems.push(
                `previews.ttlDays '${String(ttlDays)}' is not a whole number of days above 0. Fix: pass the base stack's keel:previews.ttlDays (default 7).`,
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
