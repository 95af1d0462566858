/**
 * prod-branch-protected (stack policy): in prod, the production branch (default
 * `main`) is protected, by a repository ruleset or a classic branch protection,
 * requiring every CI job's status check, and the `production` environment
 * deploys only from that branch.
 *
 * Checked only when the prod stack declares GitHub resources (`github:*`): a
 * stack that does not own the repository's gates is not failed for their
 * absence. A prod stack that declares any of them owns them all.
 */
import { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { requiredStatusChecks } from "../../components/github/workflows";
import * as github from "@pulumi/github";
import { field, PROD_ONLY, raw, HOW_IT_WORKS, report, stageOfResources, Violation } from "../support";

/** @pulumi/github's classes set their type tokens at runtime without declaring them. */
const typeOf = (cls: unknown): string => (cls as { __pulumiType: string }).__pulumiType;
export const RULESET = typeOf(github.RepositoryRuleset);
export const BRANCH_PROTECTION = typeOf(github.BranchProtection);
export const ENVIRONMENT = typeOf(github.RepositoryEnvironment);
export const DEPLOYMENT_POLICY = typeOf(github.RepositoryEnvironmentDeploymentPolicy);

/** The resource types this rule reads. */
export const RESOURCE_TYPES = [RULESET, BRANCH_PROTECTION, ENVIRONMENT, DEPLOYMENT_POLICY];

/**
 * Every CI job's name, as the generated ci.yml reports it (the same function the
 * program uses for the rules it declares), for a prod stack deploying from main.
 * Policy config `requiredChecks` overrides them (e.g. for a CI with other jobs).
 */
export const DEFAULT_REQUIRED_CHECKS: string[] = requiredStatusChecks({
    stacks: [{ stack: "prod", stage: "prod", branch: "main", environment: "production", hasBackend: true, hasFrontend: true }],
    defaultBranch: "main",
    nodeVersion: "20",
    // Any release: the CLI the jobs install does not change their names.
    pulumiVersion: "3.0.0",
    policyPack: "policies",
    state: "passphrase",
    slack: false,
});

export interface BranchGateConfig {
    branch: string;
    environment: string;
    requiredChecks: string[];
}

export const DEFAULT_CONFIG: BranchGateConfig = { branch: "main", environment: "production", requiredChecks: DEFAULT_REQUIRED_CHECKS };

type Res = Pick<PolicyResource, "type" | "props" | "urn" | "name">;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);

/** What a ruleset lacks to protect the branch (empty: it does). */
export function rulesetProblems(r: Res, c: BranchGateConfig): string[] {
    const p = raw(r.props);
    const problems: string[] = [];
    if (field(p, "target") !== "branch") problems.push(`target is ${JSON.stringify(field(p, "target") ?? null)}, not "branch"`);
    if (field(p, "enforcement") !== "active")
        problems.push(`enforcement is ${JSON.stringify(field(p, "enforcement") ?? null)}, not "active"`);
    const includes = strings(field(p, "conditions", "refName", "includes"));
    const excludes = strings(field(p, "conditions", "refName", "excludes"));
    const ref = `refs/heads/${c.branch}`;
    if (!includes.some((i) => i === ref || i === "~DEFAULT_BRANCH" || i === "~ALL"))
        problems.push(`conditions.refName.includes has neither "${ref}" nor "~DEFAULT_BRANCH"`);
    if (excludes.includes(ref)) problems.push(`conditions.refName.excludes lists "${ref}"`);
    if (field(p, "rules", "nonFastForward") !== true) problems.push("rules.nonFastForward is not true (force pushes allowed)");
    if (field(p, "rules", "deletion") !== true) problems.push("rules.deletion is not true (the branch can be deleted)");
    const checks = (field<unknown[]>(p, "rules", "requiredStatusChecks", "requiredChecks") ?? []).map((_c, i, all) =>
        field(all, i, "context"),
    );
    const missing = c.requiredChecks.filter((n) => !checks.includes(n));
    if (missing.length)
        problems.push(`rules.requiredStatusChecks.requiredChecks lacks ${missing.map((m) => JSON.stringify(m)).join(", ")}`);
    return problems;
}

/** What a classic branch protection lacks (empty: it protects the branch). */
export function branchProtectionProblems(r: Res, c: BranchGateConfig): string[] {
    const p = raw(r.props);
    const problems: string[] = [];
    if (field(p, "pattern") !== c.branch) problems.push(`pattern is ${JSON.stringify(field(p, "pattern") ?? null)}, not "${c.branch}"`);
    // The provider's default for both is false; only an explicit true opens the branch.
    if (field(p, "allowsForcePushes") === true) problems.push("allowsForcePushes is true");
    if (field(p, "allowsDeletions") === true) problems.push("allowsDeletions is true");
    const contexts = strings(field(p, "requiredStatusChecks", 0, "contexts"));
    const missing = c.requiredChecks.filter((n) => !contexts.includes(n));
    if (missing.length) problems.push(`requiredStatusChecks[0].contexts lacks ${missing.map((m) => JSON.stringify(m)).join(", ")}`);
    return problems;
}

export function checkProdBranchProtected(resources: Res[], config: Partial<BranchGateConfig> = {}): Violation[] {
    const c: BranchGateConfig = {
        branch: config.branch || DEFAULT_CONFIG.branch,
        environment: config.environment || DEFAULT_CONFIG.environment,
        requiredChecks: Array.isArray(config.requiredChecks) ? config.requiredChecks : DEFAULT_CONFIG.requiredChecks,
    };
    if (!resources.length) return [];
    const level = PROD_ONLY[stageOfResources(resources)];
    if (!level) return [];
    if (!resources.some((r) => r.type.startsWith("github:"))) return [];
    const out: Violation[] = [];
    const v = (message: string, urn?: string) => out.push({ message, urn, enforcementLevel: level });

    // Branch protection: one ruleset or one classic protection that covers everything.
    const candidates = [
        ...resources.filter((r) => r.type === RULESET).map((r) => ({ r, problems: rulesetProblems(r, c), kind: "ruleset" })),
        ...resources
            .filter((r) => r.type === BRANCH_PROTECTION)
            .map((r) => ({ r, problems: branchProtectionProblems(r, c), kind: "branch protection" })),
    ];
    if (!candidates.some((x) => x.problems.length === 0)) {
        const checks = c.requiredChecks.map((n) => JSON.stringify(n)).join(", ");
        const want =
            `a github.RepositoryRuleset (target "branch", enforcement "active", conditions.refName.includes ["refs/heads/${c.branch}"], ` +
            `rules.nonFastForward and rules.deletion true, required checks ${checks}) or a github.BranchProtection (pattern "${c.branch}", allowsForcePushes false, requiredStatusChecks contexts ${checks})`;
        if (!candidates.length)
            v(
                `Prod branch '${c.branch}' is not protected: the stack declares GitHub resources but no ruleset or branch protection. Fix: declare ${want}.`,
            );
        for (const x of candidates)
            v(`Prod branch '${c.branch}': ${x.kind} '${x.r.name}' does not protect it: ${x.problems.join("; ")}. Fix: ${want}.`, x.r.urn);
    }

    // The production environment: custom branch policies only, and only the prod branch.
    const envs = resources.filter((r) => r.type === ENVIRONMENT && field(raw(r.props), "environment") === c.environment);
    if (!envs.length) {
        v(
            `No github.RepositoryEnvironment '${c.environment}': deployments are not limited to '${c.branch}'. Fix: declare it with deploymentBranchPolicy { protectedBranches: false, customBranchPolicies: true }.`,
        );
    }
    for (const e of envs) {
        const p = raw(e.props);
        if (
            field(p, "deploymentBranchPolicy", "protectedBranches") !== false ||
            field(p, "deploymentBranchPolicy", "customBranchPolicies") !== true
        ) {
            v(
                `Environment '${c.environment}' ('${e.name}') must use custom branch policies: deploymentBranchPolicy is ${JSON.stringify(field(p, "deploymentBranchPolicy") ?? null)}. ` +
                    "Fix: deploymentBranchPolicy { protectedBranches: false, customBranchPolicies: true }.",
                e.urn,
            );
        }
    }
    const policies = resources.filter((r) => r.type === DEPLOYMENT_POLICY && field(raw(r.props), "environment") === c.environment);
    if (!policies.some((r) => field(raw(r.props), "branchPattern") === c.branch)) {
        v(
            `Environment '${c.environment}' has no deployment policy for branch '${c.branch}'. Fix: declare a github.RepositoryEnvironmentDeploymentPolicy { environment: "${c.environment}", branchPattern: "${c.branch}" }.`,
        );
    }
    for (const r of policies) {
        const p = raw(r.props);
        if (field(p, "branchPattern") !== c.branch) {
            const what =
                field(p, "branchPattern") !== undefined
                    ? `branch pattern ${JSON.stringify(field(p, "branchPattern"))}`
                    : `tag pattern ${JSON.stringify(field(p, "tagPattern") ?? null)}`;
            v(
                `Environment '${c.environment}' also deploys from ${what} ('${r.name}'); only '${c.branch}' may deploy to it. Fix: remove that deployment policy.`,
                r.urn,
            );
        }
    }
    return out;
}

export const prodBranchProtected: StackValidationPolicy = {
    name: "prod-branch-protected",
    description:
        "In prod, the production branch is protected with CI's required checks and the production environment deploys only from it.",
    enforcementLevel: "mandatory",
    severity: "medium",
    url: `${HOW_IT_WORKS}#repository-gates-workflows-and-the-policy-pack`,
    remediationSteps:
        "Let prod own the repository's gates (keel:github.ownedBy prod): Keel declares the ruleset and the production environment's deployment policy.",
    configSchema: {
        properties: {
            branch: { type: "string", default: DEFAULT_CONFIG.branch },
            environment: { type: "string", default: DEFAULT_CONFIG.environment },
            requiredChecks: { type: "array", items: { type: "string" }, default: DEFAULT_CONFIG.requiredChecks },
        },
    },
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkProdBranchProtected(args.resources, args.getConfig<Partial<BranchGateConfig>>())) report(reportViolation, v);
    },
};
