/**
 * A repository's deployment environments, as Keel's previews use them: one
 * per pull request (previewEnvironmentName), made with no protection rules,
 * removed when the preview goes; the reaper finds the ones left behind by
 * name (prOfEnvironment). GitHub's create-or-update is a PUT, so making one
 * twice, or again after a lost answer, is harmless; a delete of one already
 * gone is done.
 *
 * Octokit is made per call (baseUrl: the target's, else GITHUB_API_URL, else
 * https://api.github.com); requests are retried as retry.ts says. Creating and
 * deleting environments needs a token with repository administration (write),
 * which a workflow's own GITHUB_TOKEN does not have.
 */
import { Octokit } from "@octokit/rest";
import { prOfEnvironment } from "../../previews/naming";
import { GithubApiError } from "./errors";
import { githubApiUrl } from "./deployments";
import type { GithubRetryOptions } from "./retry";
import { withGithubRetry } from "./retry";

export interface EnvironmentTarget {
    owner: string;
    repo: string;
    /** A token with "Administration: Read and write" on the repository (fine-grained), or a classic token with `repo`. */
    token: string;
    /** Default: GITHUB_API_URL, else https://api.github.com. */
    baseUrl?: string;
}

export interface GithubEnvironment {
    id: number;
    name: string;
    /** The environment's page on GitHub. */
    htmlUrl: string;
    createdAt: string;
    updatedAt: string;
}

export interface EnvironmentOptions extends GithubRetryOptions {
    /** Per-request timeout (ms); default 30 s. */
    timeoutMs?: number;
}

interface EnvironmentLike {
    id: number;
    name: string;
    html_url: string;
    created_at: string;
    updated_at: string;
}

function toEnvironment(e: EnvironmentLike): GithubEnvironment {
    return { id: e.id, name: e.name, htmlUrl: e.html_url, createdAt: e.created_at, updatedAt: e.updated_at };
}

function session(target: EnvironmentTarget, options: EnvironmentOptions) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const octokit = new Octokit({ auth: target.token, baseUrl: githubApiUrl(target), userAgent: "keel" });
    const ctx = (action: string) => ({ action, repository: `${target.owner}/${target.repo}`, token: target.token });
    // A fresh signal per request: octokit takes it from the request options.
    const request = () => ({ signal: AbortSignal.timeout(timeoutMs) });
    return { octokit, ctx, request };
}

/** The token cannot administer environments: GitHub's 403 (or 404 for a repository it cannot see) with the fix for environments. */
function environmentFix(err: unknown, target: EnvironmentTarget): unknown {
    if (!(err instanceof GithubApiError) || (err.status !== 403 && err.status !== 404)) return err;
    const head = err.message.split(". ")[0];
    return new GithubApiError(
        `${head}. Managing ${target.owner}/${target.repo}'s environments needs a token with repository administration: a fine-grained token ` +
            `with "Administration: Read and write" on ${target.owner}/${target.repo} (a workflow's own GITHUB_TOKEN cannot), set as keel:githubToken ` +
            `(npm run pulumi -- config set --secret keel:githubToken <token>) or GITHUB_TOKEN.`,
        err.status,
        err.githubMessage,
    );
}

/** Creates the environment, or leaves an existing one as it is (GitHub's PUT, without protection rules). */
export async function putEnvironment(
    target: EnvironmentTarget,
    name: string,
    options: EnvironmentOptions = {},
): Promise<GithubEnvironment> {
    const { octokit, ctx, request } = session(target, options);
    try {
        const data = await withGithubRetry(
            ctx(`creating or updating the environment ${name}`),
            async () =>
                (
                    await octokit.rest.repos.createOrUpdateEnvironment({
                        owner: target.owner,
                        repo: target.repo,
                        environment_name: name,
                        request: request(),
                    })
                ).data,
            options,
        );
        return toEnvironment(data as EnvironmentLike);
    } catch (err) {
        throw environmentFix(err, target);
    }
}

/** The environment, or undefined when there is none. */
export async function getEnvironment(
    target: EnvironmentTarget,
    name: string,
    options: EnvironmentOptions = {},
): Promise<GithubEnvironment | undefined> {
    const { octokit, ctx, request } = session(target, options);
    try {
        const data = await withGithubRetry(
            ctx(`reading the environment ${name}`),
            async () =>
                (
                    await octokit.rest.repos.getEnvironment({
                        owner: target.owner,
                        repo: target.repo,
                        environment_name: name,
                        request: request(),
                    })
                ).data,
            options,
        );
        return toEnvironment(data as EnvironmentLike);
    } catch (err) {
        if (err instanceof GithubApiError && err.status === 404) return undefined;
        throw err;
    }
}

/** Every environment of the repository (GitHub pages them, 100 at a time). */
export async function listEnvironments(target: EnvironmentTarget, options: EnvironmentOptions = {}): Promise<GithubEnvironment[]> {
    const { octokit, ctx, request } = session(target, options);
    const out: GithubEnvironment[] = [];
    for (let page = 1; page <= 100; page++) {
        const data = await withGithubRetry(
            ctx("listing the environments"),
            async () =>
                (
                    await octokit.rest.repos.getAllEnvironments({
                        owner: target.owner,
                        repo: target.repo,
                        per_page: 100,
                        page,
                        request: request(),
                    })
                ).data,
            options,
        );
        const envs = (data.environments ?? []) as EnvironmentLike[];
        out.push(...envs.map(toEnvironment));
        if (envs.length < 100 || (typeof data.total_count === "number" && out.length >= data.total_count)) break;
    }
    return out;
}

/** Deletes the environment (with its deployments, as GitHub does); false when it was already gone. */
export async function deleteEnvironment(target: EnvironmentTarget, name: string, options: EnvironmentOptions = {}): Promise<boolean> {
    const { octokit, ctx, request } = session(target, options);
    try {
        await withGithubRetry(
            ctx(`deleting the environment ${name}`),
            () =>
                octokit.rest.repos.deleteAnEnvironment({
                    owner: target.owner,
                    repo: target.repo,
                    environment_name: name,
                    request: request(),
                }),
            options,
        );
        return true;
    } catch (err) {
        if (err instanceof GithubApiError && err.status === 404) return false;
        throw environmentFix(err, target);
    }
}

// ---- Keel's preview environments -----------------------------------------------

export interface GithubPreviewEnvironmentInfo extends GithubEnvironment {
    pr: number;
}

/** The repository's environments that are Keel previews' (named previewEnvironmentName(pr)), with their pull request. */
export async function listPreviewEnvironments(
    target: EnvironmentTarget,
    options: EnvironmentOptions = {},
): Promise<GithubPreviewEnvironmentInfo[]> {
    const out: GithubPreviewEnvironmentInfo[] = [];
    for (const e of await listEnvironments(target, options)) {
        const pr = prOfEnvironment(e.name);
        if (pr !== undefined) out.push({ ...e, pr });
    }
    return out;
}

/** Deletes a preview's environment by name; refuses a name that is not a preview's (the reaper touches only Keel's). */
export async function deletePreviewEnvironment(
    target: EnvironmentTarget,
    name: string,
    options: EnvironmentOptions = {},
): Promise<boolean> {
    if (prOfEnvironment(name) === undefined) {
        throw new GithubApiError(
            `Keel deletes only its previews' environments (named preview-pr-<n>); '${name}' in ${target.owner}/${target.repo} is not one.`,
        );
    }
    return deleteEnvironment(target, name, options);
}
