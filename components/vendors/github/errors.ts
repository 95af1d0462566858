/** How a GitHub API call of Keel's fails: the errors, and messages that name the request, GitHub's text and the fix, never the token. */
import { KeelError } from "../../errors";

/** A GitHub REST request that failed (after the retries allowed). */
export class GithubApiError extends KeelError {
    constructor(
        message: string,
        /** The HTTP status, when GitHub answered. */
        readonly status?: number,
        /** GitHub's own text (`message` of its error body), if any. */
        readonly githubMessage?: string,
    ) {
        super(message, "GithubApiError");
    }
}

/** GITHUB_REPOSITORY (or another owner/repo setting) that is missing or malformed. */
export class GithubRepositoryError extends KeelError {
    constructor(message: string) {
        super(message, "GithubRepositoryError");
    }
}

/** What octokit's RequestError (and a network failure it wraps) carries that the messages read. */
interface OctokitFailure {
    status?: number;
    message?: string;
    request?: { method?: string; url?: string };
    response?: { status?: number; headers?: Record<string, string | undefined>; data?: unknown };
}

/** GitHub's text in an error body: `message`, and the validation `errors` when there are any. */
export function githubText(data: unknown): string {
    if (data && typeof data === "object") {
        const d = data as { message?: unknown; errors?: unknown };
        const message = typeof d.message === "string" ? d.message.replace(/\s+/g, " ").trim() : "";
        const errors = Array.isArray(d.errors)
            ? d.errors.map((e) => (typeof e === "string" ? e : ((e as { message?: string })?.message ?? JSON.stringify(e))))
            : [];
        return [message, ...errors].filter(Boolean).join("; ");
    }
    return typeof data === "string" && data.length < 300 ? data.trim() : "";
}

/** The request's method and path (no host, no query), for messages. */
function requestLabel(err: OctokitFailure): string {
    const method = err.request?.method ?? "";
    let path = err.request?.url ?? "";
    try {
        path = new URL(path).pathname;
    } catch {
        /* not a URL: kept */
    }
    return `${method} ${path}`.trim();
}

export interface FailureContext {
    /** What Keel was doing: `creating the deployment of abc1234 to staging`. */
    action: string;
    /** owner/repo */
    repository: string;
    /** Removed from the message wherever it appears. */
    token: string;
    /** Why the retries stopped, when they did: `still failing after 5 attempts`. */
    gaveUp?: string;
    /** The workflow permission the request needs, named by the 403 and 404 fixes; default `deployments: write`. */
    permission?: string;
}

/** The fix for a status, as the message's second half. */
function fixFor(status: number | undefined, ctx: FailureContext, rateLimited: boolean): string {
    if (rateLimited)
        return "GitHub's rate limit for this token is reached; re-run the job once it resets, or make fewer API calls with this token.";
    switch (status) {
        case undefined:
            return "GitHub could not be reached; check GITHUB_API_URL (or the baseUrl option) and the runner's network, then re-run the job.";
        case 401:
            return (
                "GitHub refused the token (missing, expired or revoked). Pass the job's token: " +
                "env GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }} on the step (a personal access token must be current)."
            );
        case 403:
            return ctx.permission
                ? `The token may not do this. Give the job \`permissions: ${ctx.permission}\` in the workflow (a fine-grained token needs the same on ${ctx.repository}).`
                : "The token may not write deployments. Give the job `permissions: deployments: write` in the workflow " +
                      `(a fine-grained token needs "Deployments: Read and write" on ${ctx.repository}).`;
        case 404:
            return (
                `${ctx.repository} does not exist or this token cannot see it. Check GITHUB_REPOSITORY (owner/repo) and that the token ` +
                `belongs to ${ctx.repository} with \`permissions: ${ctx.permission ?? "deployments: write"}\`.`
            );
        case 409:
            return "GitHub checked the commit's statuses before deploying; Keel sends required_contexts: [] so it should not, report this as a bug.";
        case 422:
            return "Check that the ref is a commit pushed to the repository, and the environment name and URLs.";
        default:
            return status >= 500
                ? "GitHub may be having trouble (https://www.githubstatus.com); re-run the job."
                : `GitHub answered ${status}; see its message above.`;
    }
}

/** Turns a failed octokit request into a GithubApiError: the request, GitHub's text, why retrying stopped, the fix; never the token. */
export function toGithubApiError(err: unknown, ctx: FailureContext, options: { rateLimited?: boolean } = {}): GithubApiError {
    const e = (err ?? {}) as OctokitFailure;
    const status = e.response ? (e.response.status ?? e.status) : undefined;
    const text = e.response ? githubText(e.response.data) : (e.message ?? String(err));
    const request = requestLabel(e);
    const what = status !== undefined ? `${status}${text ? ` ${text}` : ""}` : text || "network error";
    let message =
        `GitHub ${request ? `${request} ` : ""}failed while ${ctx.action} in ${ctx.repository}: ${what}` +
        `${ctx.gaveUp ? ` (${ctx.gaveUp})` : ""}. ${fixFor(status, ctx, !!options.rateLimited)}`;
    let githubMessage = e.response ? text : undefined;
    if (ctx.token) {
        message = message.split(ctx.token).join("[redacted]");
        githubMessage = githubMessage?.split(ctx.token).join("[redacted]");
    }
    return new GithubApiError(message, status, githubMessage || undefined);
}
