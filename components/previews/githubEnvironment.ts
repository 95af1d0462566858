/**
 * GithubPreviewEnvironment: a pull request's deployment environment on GitHub
 * (previewEnvironmentName(pr), no protection rules), where the preview's
 * deployments are reported, removed with the preview. A dynamic resource
 * because the GitHub plugin cannot run here. Create and update are GitHub's
 * create-or-update PUT (an existing environment is adopted); delete removes
 * it (already gone: done). `url` is recorded as an output only: GitHub shows
 * an environment's URL from its deployments' statuses (environment_url),
 * which the deploy reports (components/vendors/github/deployments.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelError } from "../errors";
import { changed, dynamicType, isUnknown, KeelDynamicResource, providerContext, versioned } from "../providerContext";
import { resolveCredential } from "../vendors/credentials";
import { DEFAULT_GITHUB_API_URL } from "../vendors/github/deployments";
import { deleteEnvironment, EnvironmentTarget, getEnvironment, putEnvironment } from "../vendors/github/environments";
import { isPullRequestNumber, previewEnvironmentName } from "./naming";

export interface GithubPreviewEnvironmentInputs {
    owner: string;
    repository: string;
    pr: number;
    url?: string;
}

export interface GithubPreviewEnvironmentOutputs extends GithubPreviewEnvironmentInputs {
    environmentName: string;
    environmentId: number;
    /** The environment's page on GitHub. */
    htmlUrl: string;
}

/** No GitHub token where Keel looks for one. */
export class GithubCredentialsError extends KeelError {
    constructor(message: string) {
        super(message, "GithubCredentialsError");
    }
}

/** A target per call: keel:githubToken (configure) or GITHUB_TOKEN; keel:githubApiUrl or GITHUB_API_URL. */
const ctx = providerContext<(owner: string, repo: string) => EnvironmentTarget>(
    "github",
    { secret: "githubToken", url: "githubApiUrl" },
    (configToken, configUrl, env) => (owner, repo) => {
        const { secret, baseUrl } = resolveCredential(
            {
                what: "GitHub token",
                configKey: "keel:githubToken",
                envKey: "GITHUB_TOKEN",
                urlEnvKey: "GITHUB_API_URL",
                defaultUrl: DEFAULT_GITHUB_API_URL,
                howToGet: `Create a fine-grained token with "Administration: Read and write" on ${owner}/${repo} (GitHub > Settings > Developer settings)`,
            },
            configToken,
            configUrl,
            env,
            (m) => new GithubCredentialsError(m),
        );
        return { owner, repo, token: secret, baseUrl };
    },
);

function what(i: { owner: string; repository: string; pr: number }): string {
    return `GitHub environment ${previewEnvironmentName(i.pr)} of ${i.owner}/${i.repository}`;
}

function outputs(i: GithubPreviewEnvironmentInputs, env: { id: number; name: string; htmlUrl: string }): GithubPreviewEnvironmentOutputs {
    return { ...i, environmentName: env.name, environmentId: env.id, htmlUrl: env.htmlUrl };
}

const NAME = /^[A-Za-z0-9_.-]+$/;

export const githubPreviewEnvironmentProvider = versioned<GithubPreviewEnvironmentInputs, GithubPreviewEnvironmentOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            for (const k of ["owner", "repository"] as const) {
                const v = news[k];
                if (!isUnknown(v) && (typeof v !== "string" || !NAME.test(v)))
                    failures.push({
                        property: k,
                        reason: `expected a GitHub ${k === "owner" ? "user or organization" : "repository"} name (got ${JSON.stringify(v)})`,
                    });
            }
            if (!isUnknown(news.pr) && !isPullRequestNumber(news.pr))
                failures.push({ property: "pr", reason: `expected a pull request number (got ${JSON.stringify(news.pr)})` });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            // Another repository or pull request is another environment: made before this one goes.
            const replaces = (["owner", "repository", "pr"] as const).filter((k) => changed(olds[k], news[k]));
            const changes = replaces.length > 0 || changed(olds.url, news.url) || isUnknown(news.url);
            return { changes, replaces, deleteBeforeReplace: false };
        },

        async create(inputs) {
            const target = ctx.client()(inputs.owner, inputs.repository);
            const env = await putEnvironment(target, previewEnvironmentName(inputs.pr), { onRetry: ctx.log.info });
            ctx.log.info(`${what(inputs)} is ready (${env.htmlUrl})`);
            return { id: String(env.id), outs: outputs(inputs, env) };
        },

        async update(_id, _olds, news) {
            // PUT again: one deleted in the meantime is made anew.
            const target = ctx.client()(news.owner, news.repository);
            const env = await putEnvironment(target, previewEnvironmentName(news.pr), { onRetry: ctx.log.info });
            return { outs: outputs(news, env) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const target = ctx.client()(props.owner, props.repository);
            const env = await getEnvironment(target, previewEnvironmentName(props.pr), { onRetry: ctx.log.info });
            if (!env) {
                ctx.log.warn(`${what(props)} is gone (deleted outside Keel); refresh drops it and the next up makes it again.`);
                return { id: "" };
            }
            return { id: String(env.id), props: outputs(props, env) };
        },

        async delete(_id, props) {
            const target = ctx.client()(props.owner, props.repository);
            const removed = await deleteEnvironment(target, previewEnvironmentName(props.pr), { onRetry: ctx.log.info });
            ctx.log.info(removed ? `deleted ${what(props)}` : `${what(props)} was already gone`);
        },
    },
);

export interface GithubPreviewEnvironmentArgs {
    owner: string;
    repository: string;
    pr: number;
    /** The preview's URL (recorded; GitHub shows it from the deployments' statuses). */
    url?: pulumi.Input<string>;
}

export class GithubPreviewEnvironment extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("GithubPreviewEnvironment");
    declare readonly environmentName: pulumi.Output<string>;
    declare readonly environmentId: pulumi.Output<number>;
    declare readonly htmlUrl: pulumi.Output<string>;

    constructor(name: string, args: GithubPreviewEnvironmentArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            githubPreviewEnvironmentProvider,
            GithubPreviewEnvironment.__pulumiType,
            name,
            { ...args, environmentName: undefined, environmentId: undefined, htmlUrl: undefined },
            opts,
        );
    }
}
