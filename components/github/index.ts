/**
 * Repository: the repository as part of the program. The stack that owns it
 * (keel:github.ownedBy, prod by default) protects every branch that deploys
 * (required checks = the generated CI workflow's jobs) and commits the
 * generated workflows; every deploying stack declares its deployment
 * environment (deploys only from its branch, optional reviewers and wait
 * timer) with the secrets and variables its deploy needs, secret in the state.
 */
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { Credentials } from "../config/pulumi";
import type { GithubConfig, KeelConfig } from "../config";
import { environmentNameFor, stacksIn } from "../config";
import { DEFAULT_PREVIEW_TTL_DAYS } from "../config/previews";
import { prOfStack } from "../previews/naming";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { pinnedPulumiVersion } from "../pulumiVersion";
import { branchProtectionFor, environmentSecretNames, rulesetFor } from "./gates";
import { allStateCredentials, stateCredentials } from "../config/stateCredentials";
import { generateWorkflows, LOGS_VARIABLE, monitorVariable, requiredStatusChecks, WATCH_VARIABLES, WorkflowOptions } from "./workflows";
import { PREVIEWS_ENVIRONMENT, type PreviewsOptions } from "./workflows/contract";

export interface RepositoryArgs {
    config: KeelConfig & { github: GithubConfig };
    /** The backend's and frontend's health URLs, as environment variables for deploy and monitor. */
    backendHealthUrl?: pulumi.Input<string>;
    frontendHealthUrl?: pulumi.Input<string>;
    /** Where the backend's logs are (`fly logs -a <app>`, or the Render dashboard), for the deploy watch's incident. */
    backendLogs?: pulumi.Input<string>;
    /** The project directory, whose tools/pulumi/go.mod pins the CLI the workflows install; default the working directory. */
    root?: string;
    /** The stack's credentials (config/pulumi.ts): the GitHub token and the environment secrets' values. */
    credentials: Credentials;
}

/** Where each environment secret's value comes from: the stack's secret config key, else the environment variable. */
const SECRET_SOURCES: Record<string, { key: string; env: string }> = {
    PULUMI_CONFIG_PASSPHRASE: { key: "pulumiPassphrase", env: "PULUMI_CONFIG_PASSPHRASE" },
    PULUMI_ACCESS_TOKEN: { key: "pulumiAccessToken", env: "PULUMI_ACCESS_TOKEN" },
    KEEL_GITHUB_TOKEN: { key: "githubToken", env: "GITHUB_TOKEN" },
    NEON_API_KEY: { key: "neonApiKey", env: "NEON_API_KEY" },
    FLY_API_TOKEN: { key: "flyApiToken", env: "FLY_API_TOKEN" },
    RENDER_API_KEY: { key: "renderApiKey", env: "RENDER_API_KEY" },
    VERCEL_TOKEN: { key: "vercelApiToken", env: "VERCEL_API_TOKEN" },
    SLACK_WEBHOOK_URL: { key: "slackWebhookUrl", env: "SLACK_WEBHOOK_URL" },
    ...Object.fromEntries(allStateCredentials().map((c) => [c.secret, { key: c.key, env: c.env }])),
};

/** The workflows' view of the deploying stacks, from the branches map; `pulumiVersion` is tools/pulumi/go.mod's pin. */
export function workflowOptions(
    config: KeelConfig & { github: GithubConfig },
    slack: boolean,
    pulumiVersion: string,
    previews?: PreviewsOptions,
): WorkflowOptions {
    const g = config.github;
    return {
        ...(previews ? { previews } : {}),
        stacks: Object.entries(g.branches)
            .map(([stack, branch]) => ({
                stack,
                stage: g.stages[stack],
                branch,
                environment: environmentNameFor(stack, g.stages[stack]),
                hasBackend: !!config.backend,
                hasFrontend: !!config.frontend,
            }))
            .sort((a, b) => a.stack.localeCompare(b.stack)),
        defaultBranch: g.defaultBranch,
        nodeVersion: g.nodeVersion,
        pulumiVersion,
        policyPack: "policies",
        state: g.state.kind,
        stateCredentials: g.state.kind === "passphrase" ? stateCredentials(g.state.backendUrl).map((c) => c.secret) : [],
        slack,
    };
}

/**
 * The stack pull requests' previews are made from (the first, by name, whose file sets keel:previews.enabled: true) and
 * how long they live: previews.yml is generated for it. The owner stack generates every workflow; the setting is the base's.
 */
export function previewsBaseIn(root: string): PreviewsOptions | undefined {
    for (const stack of stacksIn(root).filter((s) => prOfStack(s) === undefined)) {
        try {
            const p = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"))?.config?.["keel:previews"];
            if (p?.enabled === true) return { base: stack, ttlDays: typeof p.ttlDays === "number" ? p.ttlDays : DEFAULT_PREVIEW_TTL_DAYS };
        } catch {
            // An unreadable stack file is its own stack's problem (its validation names it).
        }
    }
    return undefined;
}

export class Repository extends pulumi.ComponentResource {
    /** The status checks required on deploying branches (the CI workflow's job names). */
    readonly requiredChecks: string[];
    /** Workflow files this stack commits (owner stack only). */
    readonly workflowFiles: string[];
    /** This stack's deployment environment, if it deploys from CI. */
    readonly environment?: string;

    constructor(name: string, args: RepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:github:Repository", name, {}, opts);
        const c = args.config;
        const g = c.github;
        // The SDK would copy GITHUB_TOKEN into the provider's inputs in plain text: hand it over as a secret instead.
        const token = args.credentials.get("githubToken", "GITHUB_TOKEN");
        // An explicit provider: the owner from config, the token from keel:githubToken, else GITHUB_TOKEN.
        const provider = new github.Provider(`${name}-github`, { owner: g.owner, ...(token ? { token } : {}) }, { parent: this });
        const child = { parent: this, provider };
        const secretValue = (secretName: string) => args.credentials.get(SECRET_SOURCES[secretName].key, SECRET_SOURCES[secretName].env);
        const slack = secretValue("SLACK_WEBHOOK_URL") !== undefined;
        const root = args.root ?? process.cwd();
        const options = workflowOptions(c, slack, pinnedPulumiVersion(root), previewsBaseIn(root));
        this.requiredChecks = requiredStatusChecks(options);
        this.workflowFiles = [];

        if (g.owned) {
            for (const [stack, branch] of Object.entries(g.branches)) {
                if (g.protection.kind === "ruleset") {
                    new github.RepositoryRuleset(
                        `${name}-ruleset-${stack}`,
                        { repository: g.repository, ...rulesetFor(branch, stack, g.protection, this.requiredChecks) },
                        child,
                    );
                } else {
                    new github.BranchProtection(
                        `${name}-protection-${stack}`,
                        { repositoryId: g.repository, ...branchProtectionFor(branch, g.protection, this.requiredChecks) },
                        child,
                    );
                }
            }
            if (g.workflows) {
                for (const wf of generateWorkflows(options)) {
                    new github.RepositoryFile(
                        `${name}-workflow-${wf.path.split("/").pop()}`,
                        {
                            repository: g.repository,
                            branch: g.defaultBranch,
                            file: wf.path,
                            content: wf.content,
                            commitMessage: `ci: update ${wf.path} (generated by Keel from the ${c.stack} stack's config)`,
                            // The first `pulumi up` takes over a file someone committed by hand.
                            overwriteOnCreate: true,
                        },
                        child,
                    );
                    this.workflowFiles.push(wf.path);
                }
            }
        }

        if (g.deploy) {
            const envName = g.deploy.environment;
            this.environment = envName;
            const reviewers = g.environment.reviewers.users.length || g.environment.reviewers.teams.length ? [g.environment.reviewers] : [];
            const environment = new github.RepositoryEnvironment(
                `${name}-environment`,
                {
                    repository: g.repository,
                    environment: envName,
                    waitTimer: g.environment.waitTimerMinutes,
                    reviewers,
                    preventSelfReview: g.environment.preventSelfReview,
                    // Deployments only from the branches listed as policies (this stack's branch), not any protected branch.
                    deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
                },
                child,
            );
            const inEnv = { ...child, dependsOn: [environment] };
            new github.RepositoryEnvironmentDeploymentPolicy(
                `${name}-deploy-branch`,
                { repository: g.repository, environment: envName, branchPattern: g.deploy.branch },
                inEnv,
            );

            const names = environmentSecretNames({
                state: g.state,
                database: c.database.kind,
                backend: c.backend?.kind,
                frontend: !!c.frontend,
                slack: false,
            });
            for (const secretName of names) {
                const value = secretValue(secretName);
                if (!value) {
                    pulumi.log.warn(
                        `GitHub environment '${envName}' gets no ${secretName}: neither keel:${SECRET_SOURCES[secretName].key} nor ${SECRET_SOURCES[secretName].env} is set. ` +
                            `Deploys from CI will fail until it is: npm run pulumi -- config set --secret keel:${SECRET_SOURCES[secretName].key} <value> --stack ${c.stack}`,
                        this,
                    );
                    continue;
                }
                new github.ActionsEnvironmentSecret(
                    `${name}-secret-${secretName}`,
                    { repository: g.repository, environment: envName, secretName, value },
                    inEnv,
                );
            }
            const variables: Record<string, pulumi.Input<string>> = {
                PULUMI_STACK: c.stack,
                ...(g.state.kind === "passphrase" ? { PULUMI_BACKEND_URL: g.state.backendUrl } : {}),
                ...(args.backendHealthUrl ? { BACKEND_HEALTH_URL: args.backendHealthUrl } : {}),
                ...(args.frontendHealthUrl ? { FRONTEND_HEALTH_URL: args.frontendHealthUrl } : {}),
                // deploy.yml's watch reads this stack's own settings here (the owner stack, which writes
                // the workflow, does not know them); minutes 0 turns it off.
                ...(c.backend
                    ? {
                          [WATCH_VARIABLES.minutes]: String(c.backend.watch.minutes),
                          [WATCH_VARIABLES.intervalSeconds]: String(c.backend.watch.intervalSeconds),
                          [WATCH_VARIABLES.failures]: String(c.backend.watch.failures),
                      }
                    : {}),
                ...(args.backendLogs ? { [LOGS_VARIABLE]: args.backendLogs } : {}),
            };
            for (const [variableName, value] of Object.entries(variables)) {
                new github.ActionsEnvironmentVariable(
                    `${name}-var-${variableName}`,
                    { repository: g.repository, environment: envName, variableName, value },
                    inEnv,
                );
            }
            // The base of pull requests' previews also holds the `preview` environment previews.yml runs in: its own
            // secrets (this stack's: never prod's), any branch (a pull request's), no reviewers (a preview is thrown away).
            // Only the one base previews.yml runs for (previewsBaseIn; this stack when its file is not there to read):
            // two would fight over the environment.
            const previewsBase = previewsBaseIn(root)?.base;
            if (c.previews?.enabled && (previewsBase === undefined || previewsBase === c.stack)) {
                const previewEnv = new github.RepositoryEnvironment(
                    `${name}-previews-environment`,
                    { repository: g.repository, environment: PREVIEWS_ENVIRONMENT },
                    child,
                );
                const inPreviewEnv = { ...child, dependsOn: [previewEnv] };
                for (const secretName of names) {
                    const value = secretValue(secretName);
                    if (!value) continue; // warned above, for this stack's own environment
                    new github.ActionsEnvironmentSecret(
                        `${name}-previews-secret-${secretName}`,
                        { repository: g.repository, environment: PREVIEWS_ENVIRONMENT, secretName, value },
                        inPreviewEnv,
                    );
                }
                if (g.state.kind === "passphrase") {
                    new github.ActionsEnvironmentVariable(
                        `${name}-previews-var-PULUMI_BACKEND_URL`,
                        {
                            repository: g.repository,
                            environment: PREVIEWS_ENVIRONMENT,
                            variableName: "PULUMI_BACKEND_URL",
                            value: g.state.backendUrl,
                        },
                        inPreviewEnv,
                    );
                }
            }
            // The monitor runs outside any environment (a reviewer would hold a 5-minute check): its URLs are repository variables.
            const monitored = { BACKEND_HEALTH_URL: args.backendHealthUrl, FRONTEND_HEALTH_URL: args.frontendHealthUrl } as const;
            for (const [key, value] of Object.entries(monitored)) {
                if (value === undefined) continue;
                const variableName = monitorVariable(c.stack, key as keyof typeof monitored);
                new github.ActionsVariable(`${name}-monitor-${key}`, { repository: g.repository, variableName, value }, child);
            }
        }
        const slackUrl = secretValue("SLACK_WEBHOOK_URL");
        if (g.owned && slackUrl) {
            new github.ActionsSecret(
                `${name}-slack-webhook`,
                { repository: g.repository, secretName: "SLACK_WEBHOOK_URL", value: slackUrl },
                child,
            );
        }
        this.registerOutputs({ requiredChecks: this.requiredChecks, workflowFiles: this.workflowFiles, environment: this.environment });
    }
}
