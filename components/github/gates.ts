/**
 * The branch rules for the branches that deploy, as plain input objects for
 * @pulumi/github (a repository ruleset by default, classic branch protection
 * by config). Pure: no Pulumi imports, so the rules are tested directly.
 */
import type { GithubConfig } from "../config";
import { stateCredentials } from "../config/stateCredentials";

/** GitHub's id of the built-in repository role "Repository admin", for ruleset bypass. */
export const REPOSITORY_ADMIN_ROLE_ID = 5;

export interface RulesetInputs {
    name: string;
    target: "branch";
    enforcement: "active";
    conditions: { refName: { includes: string[]; excludes: string[] } };
    bypassActors: { actorId: number; actorType: "RepositoryRole"; bypassMode: "always" }[];
    rules: {
        deletion: true;
        nonFastForward: true;
        requiredLinearHistory: boolean;
        pullRequest: {
            requiredApprovingReviewCount: number;
            dismissStaleReviewsOnPush: boolean;
            requireLastPushApproval: boolean;
            requiredReviewThreadResolution: boolean;
        };
        requiredStatusChecks: { requiredChecks: { context: string }[]; strictRequiredStatusChecksPolicy: true };
    };
}

export interface BranchProtectionInputs {
    pattern: string;
    allowsForcePushes: false;
    allowsDeletions: false;
    requiredLinearHistory: boolean;
    enforceAdmins: boolean;
    requiredStatusChecks: { strict: true; contexts: string[] }[];
    requiredPullRequestReviews: { requiredApprovingReviewCount: number; dismissStaleReviews: boolean }[];
}

/**
 * Pull requests are required even with zero approvals: a solo developer merges
 * their own PR, but only after the CI checks pass on it.
 */
export function rulesetFor(branch: string, stack: string, protection: GithubConfig["protection"], checks: string[]): RulesetInputs {
    return {
        name: `keel-${stack}-${branch.replace(/[^A-Za-z0-9-]/g, "-")}`,
        target: "branch",
        enforcement: "active",
        conditions: { refName: { includes: [`refs/heads/${branch}`], excludes: [] } },
        bypassActors: protection.adminBypass
            ? [{ actorId: REPOSITORY_ADMIN_ROLE_ID, actorType: "RepositoryRole", bypassMode: "always" }]
            : [],
        rules: {
            deletion: true,
            nonFastForward: true,
            requiredLinearHistory: protection.linearHistory,
            pullRequest: {
                requiredApprovingReviewCount: protection.requiredApprovals,
                dismissStaleReviewsOnPush: protection.requiredApprovals > 0,
                requireLastPushApproval: false,
                requiredReviewThreadResolution: false,
            },
            requiredStatusChecks: { requiredChecks: checks.map((context) => ({ context })), strictRequiredStatusChecksPolicy: true },
        },
    };
}

export function branchProtectionFor(branch: string, protection: GithubConfig["protection"], checks: string[]): BranchProtectionInputs {
    return {
        pattern: branch,
        allowsForcePushes: false,
        allowsDeletions: false,
        requiredLinearHistory: protection.linearHistory,
        // Classic protection has no bypass list: "admins bypass" means rules are not enforced on admins.
        enforceAdmins: !protection.adminBypass,
        requiredStatusChecks: [{ strict: true, contexts: checks }],
        requiredPullRequestReviews: [
            { requiredApprovingReviewCount: protection.requiredApprovals, dismissStaleReviews: protection.requiredApprovals > 0 },
        ],
    };
}

/**
 * Names of the GitHub environment secrets a stack's deploy needs, by what the
 * stack runs. KEEL_GITHUB_TOKEN: the stack manages its own environment (and the
 * owner the branch rules and workflow files) on every deploy, which the
 * workflow's own GITHUB_TOKEN may not do.
 */
export function environmentSecretNames(c: {
    state: GithubConfig["state"];
    database?: string;
    backend?: "fly" | "render";
    frontend: boolean;
    slack: boolean;
}): string[] {
    return [
        c.state.kind === "passphrase" ? "PULUMI_CONFIG_PASSPHRASE" : "PULUMI_ACCESS_TOKEN",
        ...(c.state.kind === "passphrase" ? stateCredentials(c.state.backendUrl).map((x) => x.secret) : []),
        "KEEL_GITHUB_TOKEN",
        ...(c.database === "neon" ? ["NEON_API_KEY"] : []),
        ...(c.backend === "fly" ? ["FLY_API_TOKEN"] : c.backend === "render" ? ["RENDER_API_KEY"] : []),
        ...(c.frontend ? ["VERCEL_TOKEN"] : []),
        ...(c.slack ? ["SLACK_WEBHOOK_URL"] : []),
    ];
}
