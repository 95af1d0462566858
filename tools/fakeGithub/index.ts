/**
 * A local, stateful fake of GitHub's REST API, the deployments part, for
 * tests: a node http server on 127.0.0.1 (random port) answering in the
 * shapes of GitHub's own OpenAPI description (@octokit/openapi,
 * generated/api.github.com.json; test/vendors/githubDeployments.test.ts
 * checks every request and answer against it). Point Octokit's baseUrl (or
 * GITHUB_API_URL) at `url`.
 *
 * - Deployments: create, list (filters sha, ref, task, environment; newest
 *   first; per_page and page, but no Link header), get, delete (422 for an
 *   active one unless it is the environment's only deployment). A ref is a
 *   branch given to addRepo or any 40-hex sha (422 "No ref found" otherwise);
 *   a JSON string payload is stored as its object; production_environment
 *   defaults to environment === "production". Commit status contexts set in
 *   a repository's failingContexts give 409 unless required_contexts skips
 *   them ([] skips all). auto_merge is accepted and not modelled.
 * - Statuses: create (state enum; description at most 140 characters, else
 *   422 with GitHub's validation error; log_url sets target_url too;
 *   environment defaults to the previous status's, and moves the
 *   deployment), list (newest first), get. auto_inactive (default true), as
 *   GitHub documents it: a `success` adds an `inactive` status to every
 *   other deployment of the same repository and environment that is neither
 *   transient nor production and whose newest status is `success`.
 * - Environments: list (`{ total_count, environments }`, per_page and page),
 *   get (404 when there is none), create-or-update PUT (no protection rules
 *   are modelled; a name GitHub refuses is 422), delete (204; 404 when there
 *   is none; the environment's deployments go with it). Creating a deployment
 *   for an environment that does not exist creates it, as GitHub does. PUT
 *   and DELETE need repository administration (the fake's own token; a token
 *   from addToken only with `administration: "write"`), else 403.
 * - Auth: `Authorization: token <t>` or `Bearer <t>`. None: 401 "Requires
 *   authentication"; an unknown token: 401 "Bad credentials". addToken()
 *   makes tokens as a workflow's permissions would: `deployments: read`
 *   answers writes 403 "Resource not accessible by integration", `none`
 *   answers reads 404 and writes 403; a token limited to other repositories
 *   sees 404, as GitHub answers for a private repository.
 * - Time: created_at and updated_at come from the fake's clock (`clock`, a
 *   FakeClock that moves only when the test moves it or by tickPerRequestMs).
 * - Faults: inject() queues answers after authentication: 5xx and 429 (with
 *   Retry-After), or 403 rate limits (`rateLimit: "primary"`:
 *   x-ratelimit-remaining 0 and x-ratelimit-reset on the fake's clock;
 *   `"secondary"`: GitHub's secondary-limit text, Retry-After when given);
 *   dropResponses() carries a request out and then destroys the socket.
 * - Issue comments (issueComments.ts): list (oldest first, paged), create, get, edit, on issues made by
 *   addIssue; a token's `pullRequests` right (the fake's own: write) as `deployments` works for deployments.
 * - Every request is logged (`requests`) with its token, body, status and answer.
 */
export { FakeGithub, setGithubEnv } from "./server";
export type {
    DeploymentsPermission,
    FakeGithubComment,
    FakeGithubDeployment,
    FakeGithubEnvironment,
    FakeGithubOptions,
    FakeGithubRepo,
    FakeGithubStatus,
    FakeGithubToken,
    GithubFault,
    LoggedGithubRequest,
} from "./types";
