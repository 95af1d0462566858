/**
 * One comment of Keel's on an issue or pull request, kept up to date: the comment whose body starts with a marker
 * (an HTML comment, hidden on GitHub) is edited in place, and made only when there is none. It is looked for again
 * on every attempt, so a create whose answer was lost is found instead of made twice. The oldest marked comment is
 * the one kept (a second could only come from someone copying the marker).
 *
 * Octokit is made per call (baseUrl: the option, else GITHUB_API_URL, else https://api.github.com); requests are
 * retried as retry.ts says.
 */
import { Octokit } from "@octokit/rest";
import { githubApiUrl } from "./deployments";
import type { GithubRetryOptions } from "./retry";
import { withGithubRetry } from "./retry";

export interface CommentTarget {
    owner: string;
    repo: string;
    /** The job's GITHUB_TOKEN with `permissions: pull-requests: write` (or issues: write), or a token with the same right. */
    token: string;
    /** Default: GITHUB_API_URL, else https://api.github.com. */
    baseUrl?: string;
}

export interface MarkedComment {
    /** The issue or pull request number. */
    issue: number;
    /** What the comment's body starts with, e.g. `<!-- keel-preview -->`. */
    marker: string;
    /** The whole body; must start with the marker. */
    body: string;
}

export interface UpsertedComment {
    id: number;
    /** The comment's page on GitHub. */
    url: string;
    /** Whether this call made it (false: an existing one was edited, or already said this). */
    created: boolean;
    /** Whether the body changed (false when the comment already said exactly this). */
    changed: boolean;
}

interface CommentLike {
    id: number;
    body?: string | null;
    html_url: string;
}

/** Pages of 100 comments looked through for the marker (10,000 comments). */
const MAX_PAGES = 100;

/** Edits the issue's comment that starts with `marker`, or creates it; throws GithubApiError with the fix when GitHub refuses. */
export async function upsertMarkedComment(
    target: CommentTarget,
    comment: MarkedComment,
    options: GithubRetryOptions & { timeoutMs?: number } = {},
): Promise<UpsertedComment> {
    if (!comment.body.startsWith(comment.marker)) throw new Error(`upsertMarkedComment: the body does not start with ${comment.marker}`);
    const { owner, repo, token } = target;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const request = () => ({ signal: AbortSignal.timeout(timeoutMs) });
    const octokit = new Octokit({ auth: token, baseUrl: githubApiUrl(target), userAgent: "keel" });
    const ctx = (action: string) => ({ action, repository: `${owner}/${repo}`, token, permission: "pull-requests: write" });

    const find = async (): Promise<CommentLike | undefined> => {
        for (let page = 1; page <= MAX_PAGES; page++) {
            const { data } = await octokit.rest.issues.listComments({
                owner,
                repo,
                issue_number: comment.issue,
                per_page: 100,
                page,
                request: request(),
            });
            const mine = data.find((c) => (c.body ?? "").startsWith(comment.marker));
            if (mine) return mine;
            if (data.length < 100) return undefined;
        }
        return undefined;
    };

    return withGithubRetry(
        ctx(`finding, editing or creating the comment on #${comment.issue}`),
        async () => {
            const found = await find();
            if (found && found.body === comment.body) return { id: found.id, url: found.html_url, created: false, changed: false };
            if (found) {
                const { data } = await octokit.rest.issues.updateComment({
                    owner,
                    repo,
                    comment_id: found.id,
                    body: comment.body,
                    request: request(),
                });
                return { id: data.id, url: data.html_url, created: false, changed: true };
            }
            const { data } = await octokit.rest.issues.createComment({
                owner,
                repo,
                issue_number: comment.issue,
                body: comment.body,
                request: request(),
            });
            return { id: data.id, url: data.html_url, created: true, changed: true };
        },
        options,
    );
}
