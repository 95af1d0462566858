/**
 * `keel:github`: the repository's gates and workflows, from the same stack
 * config as everything else. One stack (`ownedBy`, prod by default) owns what
 * is repository-wide (branch rules, workflow files); every deploying stack owns
 * its deployment environment with its secrets and variables. Pure: no Pulumi imports.
 */
import { z } from "zod";
import { ConfigContext, Filled, fixFor, NAMESPACE, parseJsonValue, parseSection, valueAt } from "./context";
import { computedDefault, withFormat } from "./keyDocs";
import { MANUAL_STAGES, Stage, stageOf } from "./stage";
import { backendUrlProblems, stateCredentials } from "./stateCredentials";

const branchName = withFormat(
    z
        .string()
        .regex(/^(?!\/)(?!.*\/\/)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}(?<!\/)(?<!\.lock)$/, { message: "expected a branch name such as main" }),
    "branch name",
);

export const githubSchema = z
    .object({
        owner: z
            .string()
            .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, { message: "expected a GitHub user or organization such as my-org" })
            .optional()
            .describe("the repository's owner, a user or organization (required)"),
        repository: z
            .string()
            .regex(/^[A-Za-z0-9._-]{1,100}$/, { message: "expected a repository name such as my-app" })
            .optional()
            .describe("the repository's name (required)"),
        ownedBy: z
            .string()
            .min(1)
            .default("prod")
            .describe("the stack that manages the repository-wide gates: branch rules and workflow files"),
        defaultBranch: branchName.default("main").describe("the branch pull requests merge into; prod deploys from it"),
        branches: computedDefault(
            z.record(z.string().min(1), branchName).optional().describe("which branch deploys which stack: stack → branch"),
            "prod: the default branch (and a staging stack: `staging`)",
        ),
        environmentName: computedDefault(
            z
                .string()
                .regex(/^[A-Za-z0-9._ -]{1,255}$/)
                .optional()
                .describe("this stack's deployment environment"),
            "`production` on prod, else the stack's name",
        ),
        protection: z
            .object({
                kind: z.enum(["ruleset", "classic"]).default("ruleset").describe("a repository ruleset, or classic branch protection"),
                requiredApprovals: z.number().int().min(0).max(10).default(0).describe("approving reviews a pull request needs"),
                adminBypass: z.boolean().default(true).describe("administrators may bypass the rules"),
                linearHistory: z.boolean().default(true).describe("no merge commits on the default branch"),
            })
            .strict()
            .default({ kind: "ruleset", requiredApprovals: 0, adminBypass: true, linearHistory: true })
            .describe("the default branch's rules (owner stack)"),
        environment: z
            .object({
                reviewers: z
                    .object({
                        users: z.array(z.number().int().positive()).default([]).describe("ids of the users who approve a deploy"),
                        teams: z.array(z.number().int().positive()).default([]).describe("ids of the teams who approve a deploy"),
                    })
                    .strict()
                    .default({ users: [], teams: [] })
                    .describe("who approves a deploy; none: no approval"),
                waitTimerMinutes: z.number().int().min(0).max(43200).default(0).describe("minutes a deploy waits before it runs"),
                preventSelfReview: z.boolean().default(false).describe("whoever triggered a deploy cannot approve it"),
            })
            .strict()
            .default({ reviewers: { users: [], teams: [] }, waitTimerMinutes: 0, preventSelfReview: false })
            .describe("this stack's deployment environment's protection"),
        state: z
            .object({
                kind: z
                    .enum(["passphrase", "cloud"])
                    .default("passphrase")
                    .describe("how CI reaches the Pulumi state: a self-managed backend with a passphrase, or Pulumi Cloud"),
                backendUrl: z
                    .string()
                    .regex(/^(s3|gs|azblob|https?):\/\/\S+$/, {
                        message:
                            "expected a shared state backend URL such as s3://my-app-pulumi-state (CI cannot use a local file backend)",
                    })
                    .optional()
                    .describe(
                        "the shared state backend (passphrase kind; required there): s3://…?region=…, gs://…, azblob://…?storage_account=…",
                    ),
            })
            .strict()
            .default({ kind: "passphrase" })
            .describe("how CI reaches the Pulumi state"),
        nodeVersion: z
            .string()
            .regex(/^\d+(\.\d+){0,2}$/)
            .default("20")
            .describe("the Node.js version the workflows run"),
        workflows: z.boolean().default(true).describe("the owner stack commits the workflow files"),
    })
    .strict();

type GithubSection = z.output<typeof githubSchema>;

export type GithubConfig = Filled<Omit<GithubSection, "environmentName" | "state" | "branches">, "owner" | "repository"> & {
    /** This stack owns the repository-wide gates. */
    owned: boolean;
    /** Which branch deploys which stack (every deploying stack, this one included). */
    branches: Record<string, string>;
    /** This stack's branch and environment; undefined for a stack that does not deploy from CI (dev). */
    deploy?: { branch: string; environment: string };
    /** How CI reaches the Pulumi state. */
    state: { kind: "passphrase"; backendUrl: string } | { kind: "cloud" };
    /** The stage of each stack `branches` deploys (stage.ts: stageOf, from its own keel:stage). */
    stages: Record<string, BranchStage>;
};

/** The deployment environment's name for a stack: `production` for prod, else the stack's name. */
/** The stages a branch deploys: every stage but a pull request's preview. */
export type BranchStage = Exclude<Stage, "preview">;

export function environmentNameFor(stack: string, stage: Stage): string {
    return stage === "prod" ? "production" : stack;
}

export function parseGithub(ctx: ConfigContext): GithubConfig | undefined {
    const raw = ctx.get("github");
    if (raw === undefined) return undefined;
    const before = ctx.problems.length;
    const fix = (path: string) => fixFor(ctx, path);
    const section = parseSection(ctx, "github", githubSchema);
    const rawSection = parseJsonValue(raw);
    // A stack without a stack file (all config from the environment) still exists.
    if (ctx.knownStacks && !ctx.knownStacks.includes(ctx.stack)) ctx = { ...ctx, knownStacks: [...ctx.knownStacks, ctx.stack] };
    for (const key of ["owner", "repository"] as const) {
        if (valueAt(rawSection, [key]) === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:github.${key}`,
                message: `is not set; Keel needs the repository's ${key === "owner" ? "owner (user or organization)" : "name"} to manage its gates`,
                fix: fix(`github.${key}`),
            });
        }
    }
    if (ctx.deployCredentials && ctx.get("githubToken") === undefined && !ctx.env.GITHUB_TOKEN) {
        ctx.problems.push({
            key: `${NAMESPACE}:githubToken`,
            message:
                "is not set and GITHUB_TOKEN is not in the environment; managing branch rules, environments and workflow files needs a token with repository administration, environments, secrets and contents write access",
            fix: `npm run pulumi -- config set --secret ${NAMESPACE}:githubToken <fine-grained token> --stack ${ctx.stack} (or export GITHUB_TOKEN)`,
        });
    }
    if (!section) return undefined;

    const branches = section.branches ?? { prod: section.defaultBranch, ...(ctx.stage === "staging" ? { [ctx.stack]: "staging" } : {}) };
    const seen = new Map<string, string>();
    const stages: Record<string, BranchStage> = {};
    for (const [stack, branch] of Object.entries(branches)) {
        if (ctx.knownStacks && !ctx.knownStacks.includes(stack)) {
            ctx.problems.push({
                key: `${NAMESPACE}:github.branches.${stack}`,
                message: `names the stack '${stack}', which has no Pulumi.${stack}.yaml (stacks: ${ctx.knownStacks.join(", ")})`,
                fix: `npm run pulumi -- config rm --path ${NAMESPACE}:github.branches.${stack} --stack ${ctx.stack}, or correct the stack's name`,
            });
        }
        if (seen.has(branch)) {
            ctx.problems.push({
                key: `${NAMESPACE}:github.branches.${stack}`,
                message: `is '${branch}', which already deploys '${seen.get(branch)}'; one branch deploys one stack`,
                fix: `npm run pulumi -- config set --path ${NAMESPACE}:github.branches.${stack} <another branch> --stack ${ctx.stack}`,
            });
        }
        seen.set(branch, stack);
        const stage = stack === ctx.stack ? ctx.stage : stageOf(stack, ctx.stackStages?.[stack]);
        if (stage === "preview") {
            ctx.problems.push({
                key: `${NAMESPACE}:github.branches.${stack}`,
                message: `names the stack '${stack}', a pull request's preview: previews are deployed by previews.yml (keel pr up), not by a branch`,
                fix: `npm run pulumi -- config rm --path ${NAMESPACE}:github.branches.${stack} --stack ${ctx.stack}`,
            });
        } else if (stage) stages[stack] = stage;
        else if (!ctx.knownStacks || ctx.knownStacks.includes(stack)) {
            ctx.problems.push({
                key: `${NAMESPACE}:github.branches.${stack}`,
                message: `names the stack '${stack}', which is not named after a stage and whose Pulumi.${stack}.yaml sets no keel:stage: Keel cannot tell its environment and gates`,
                fix: `npm run pulumi -- config set ${NAMESPACE}:stage <${MANUAL_STAGES.join("|")}> --stack ${stack}`,
            });
        }
    }
    const deploys = ctx.stage !== "dev";
    if (deploys && branches[ctx.stack] === undefined) {
        ctx.problems.push({
            key: `${NAMESPACE}:github.branches.${ctx.stack}`,
            message: `is not set; the ${ctx.stack} stack deploys from CI and needs the branch that deploys it`,
            fix: `npm run pulumi -- config set --path ${NAMESPACE}:github.branches.${ctx.stack} ${ctx.stage === "prod" ? section.defaultBranch : ctx.stack} --stack ${ctx.stack}`,
        });
    }
    if (ctx.stage === "prod" && branches[ctx.stack] !== undefined && branches[ctx.stack] !== section.defaultBranch) {
        ctx.problems.push({
            key: `${NAMESPACE}:github.branches.${ctx.stack}`,
            message: `is '${branches[ctx.stack]}', but prod deploys from the default branch '${section.defaultBranch}' (what pull requests merge into, and what the policy pack checks)`,
            fix: `npm run pulumi -- config set --path ${NAMESPACE}:github.branches.${ctx.stack} ${section.defaultBranch} --stack ${ctx.stack}`,
        });
    }
    if (ctx.knownStacks && !ctx.knownStacks.includes(section.ownedBy)) {
        ctx.problems.push({
            key: `${NAMESPACE}:github.ownedBy`,
            message: `names the stack '${section.ownedBy}', which has no Pulumi.${section.ownedBy}.yaml`,
            fix: fix("github.ownedBy"),
        });
    }
    const state = section.state;
    if (state.kind === "passphrase" && state.backendUrl) {
        for (const message of backendUrlProblems(state.backendUrl)) {
            ctx.problems.push({ key: `${NAMESPACE}:github.state.backendUrl`, message, fix: fix("github.state.backendUrl") });
        }
    }
    if (state.kind === "passphrase" && !state.backendUrl) {
        ctx.problems.push({
            key: `${NAMESPACE}:github.state.backendUrl`,
            message: "is not set; CI deploys need a shared state backend (a runner's local files are gone after the job)",
            fix: `${fix("github.state.backendUrl")} (or use Pulumi Cloud: npm run pulumi -- config set --path ${NAMESPACE}:github.state.kind cloud --stack ${ctx.stack})`,
        });
    }
    const owned = section.ownedBy === ctx.stack;
    if (deploys && ctx.deployCredentials) {
        const stateKey = state.kind === "passphrase" ? "pulumiPassphrase" : "pulumiAccessToken";
        const envKey = state.kind === "passphrase" ? "PULUMI_CONFIG_PASSPHRASE" : "PULUMI_ACCESS_TOKEN";
        if (ctx.get(stateKey) === undefined && !ctx.env[envKey]) {
            ctx.problems.push({
                key: `${NAMESPACE}:${stateKey}`,
                message: `is not set and ${envKey} is not in the environment; the ${environmentNameFor(ctx.stack, ctx.stage)} environment needs it as a secret so CI can open the stack's state`,
                fix: `npm run pulumi -- config set --secret ${NAMESPACE}:${stateKey} <value> --stack ${ctx.stack} (or export ${envKey})`,
            });
        }
        for (const c of state.kind === "passphrase" ? stateCredentials(state.backendUrl) : []) {
            if (ctx.get(c.key) === undefined && !ctx.env[c.env]) {
                ctx.problems.push({
                    key: `${NAMESPACE}:${c.key}`,
                    message: `is not set and ${c.env} is not in the environment; the ${environmentNameFor(ctx.stack, ctx.stage)} environment needs it as the ${c.secret} secret so CI can read and write the state in ${state.backendUrl}`,
                    fix: `npm run pulumi -- config set --secret ${NAMESPACE}:${c.key} <value> --stack ${ctx.stack} (or export ${c.env})`,
                });
            }
        }
    }
    if (ctx.problems.length > before) return undefined;
    return {
        owner: section.owner!,
        repository: section.repository!,
        ownedBy: section.ownedBy,
        owned,
        defaultBranch: section.defaultBranch,
        branches,
        ...(deploys
            ? { deploy: { branch: branches[ctx.stack], environment: section.environmentName ?? environmentNameFor(ctx.stack, ctx.stage) } }
            : {}),
        protection: section.protection,
        environment: section.environment,
        state: state.kind === "passphrase" ? { kind: "passphrase", backendUrl: state.backendUrl! } : { kind: "cloud" },
        stages,
        nodeVersion: section.nodeVersion,
        workflows: section.workflows,
    };
}
