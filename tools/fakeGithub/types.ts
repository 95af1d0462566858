/** The fake GitHub REST API's state, as tests see and change it. */
import type { FakeClock } from "../fakeClock";
import type { Fault, LoggedRequest } from "../fakeHttp";

/** What a token may do with deployments, as a workflow's `permissions: deployments:` grants it. */
export type DeploymentsPermission = "write" | "read" | "none";

export interface FakeGithubToken {
    /** `write` creates deployments and statuses; `read` only lists them (403 on writes); `none` sees nothing (404). */
    deployments: DeploymentsPermission;
    /** The repositories (`owner/repo`) the token can see; the others answer 404 as GitHub does. Default: all. */
    repos?: string[];
    /** What it may do with issues and pull requests' comments (`pull-requests:`); default none (the fake's own token: write). */
    pullRequests?: DeploymentsPermission;
    /** The login that deployments and statuses made with it are credited to; default github-actions[bot]. */
    login?: string;
    /**
     * Repository administration, which creating and deleting environments needs: `write` (the fake's own token) or
     * none (default for addToken, as a workflow's GITHUB_TOKEN: environments are listed and read, PUT and DELETE are 403).
     */
    administration?: "write" | "none";
}

export interface FakeGithubEnvironment {
    id: number;
    owner: string;
    repo: string;
    name: string;
    created_at: string;
    updated_at: string;
}

export interface FakeGithubStatus {
    id: number;
    state: string;
    description: string;
    environment: string;
    environment_url: string;
    log_url: string;
    creator: string;
    created_at: string;
}

export interface FakeGithubDeployment {
    id: number;
    owner: string;
    repo: string;
    sha: string;
    ref: string;
    task: string;
    payload: Record<string, unknown> | string;
    environment: string;
    original_environment: string;
    description: string | null;
    transient_environment: boolean;
    production_environment: boolean;
    creator: string;
    created_at: string;
    updated_at: string;
    /** Oldest first (the API lists them newest first). */
    statuses: FakeGithubStatus[];
}

export interface FakeGithubRepo {
    owner: string;
    repo: string;
    /** Branch and tag names and the commit each points at; any 40-hex sha is taken as an existing commit. */
    refs: Map<string, string>;
    /** Commit status contexts that are failing: a deployment that does not skip them (required_contexts: []) gets 409. */
    failingContexts: string[];
    /** Pull requests, by number. */
    pulls: Map<number, FakeGithubPull>;
    /** Issue and pull request numbers that exist (addIssue); comments on others answer 404. */
    issues: Set<number>;
}

export interface FakeGithubPull {
    number: number;
    state: "open" | "closed";
    /** The head branch and its commit. */
    head: { ref: string; sha: string };
}

export interface FakeGithubComment {
    id: number;
    owner: string;
    repo: string;
    /** The issue or pull request number. */
    issue: number;
    body: string;
    /** The login it is credited to. */
    user: string;
    created_at: string;
    updated_at: string;
}

export interface LoggedGithubRequest extends LoggedRequest {
    /** The token the request carried (`token <t>` or `Bearer <t>`), undefined without one. */
    token?: string;
}

/**
 * An injected answer. 5xx and 429 as given (with Retry-After when retryAfter
 * is set); `rateLimit: "primary"` answers 403 with x-ratelimit-remaining: 0 and
 * x-ratelimit-reset resetInS seconds ahead on the fake's clock;
 * `rateLimit: "secondary"` answers 403 with GitHub's secondary-limit text and
 * Retry-After when retryAfter is set.
 */
export interface GithubFault extends Fault {
    rateLimit?: "primary" | "secondary";
    /** Seconds until x-ratelimit-reset for a primary rate limit; default 60. */
    resetInS?: number;
    /** GitHub's message; a default per status otherwise. */
    message?: string;
}

export interface FakeGithubOptions {
    /** The token with `deployments: write` on every repository; a random ghs_ token by default. */
    token?: string;
    /** Repositories that exist (`owner/repo`); default ["keel-org/keel"]. */
    repos?: string[];
    /** The fake's time (shared with other fakes, or with a tickPerRequestMs); a new FakeClock by default. */
    clock?: FakeClock;
}
