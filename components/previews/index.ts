/**
 * Preview: what a pull request's preview stack declares beside its database and
 * backend: the base's Vercel preview deployments of the PR's branch pointed at
 * this backend, and the PR's own GitHub deployment environment. Both are Keel's
 * own resources over its clients (the Vercel and GitHub plugins cannot run
 * here), so `keel pr down` removes them with the stack and `keel pr reap`
 * finds the ones a failed run left behind.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PreviewConfig } from "../config/previews";
import { GithubPreviewEnvironment } from "./githubEnvironment";
import { VercelPreviewVariable } from "./vercelVariable";

export interface PreviewArgs {
    config: PreviewConfig;
    /** The preview backend's public URL, when it has a backend. */
    backendUrl?: pulumi.Input<string>;
}

export class Preview extends pulumi.ComponentResource {
    /** The GitHub environment's name, when the base manages a repository. */
    readonly environment?: pulumi.Output<string>;

    constructor(name: string, args: PreviewArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:previews:Preview", name, {}, opts);
        const c = args.config;
        const child = { parent: this };
        if (c.frontend && args.backendUrl) {
            new VercelPreviewVariable(
                `${name}-frontend-variable`,
                {
                    projectName: c.frontend.project,
                    ...(c.frontend.teamId ? { teamId: c.frontend.teamId } : {}),
                    key: c.frontend.variable,
                    value: args.backendUrl,
                    gitBranch: c.branch,
                    pr: c.pr,
                },
                child,
            );
        }
        if (c.github) {
            const env = new GithubPreviewEnvironment(
                `${name}-environment`,
                { owner: c.github.owner, repository: c.github.repository, pr: c.pr, ...(args.backendUrl ? { url: args.backendUrl } : {}) },
                child,
            );
            this.environment = env.environmentName;
        }
        this.registerOutputs({ environment: this.environment });
    }
}
