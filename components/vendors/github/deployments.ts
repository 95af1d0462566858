/**
 * Reporting a deploy to GitHub as a deployment status on the stack's
 * environment, so the repository's Environments page shows what is live.
 *
 * One GitHub deployment per commit, environment and workflow run: its
 * payload carries the run's id (`{ keelRun }`, task `deploy`), and it is
 * looked up before one is created, so a step that is retried, or a create
 * whose answer was lost, never makes a second. Each report adds one status
 * (in_progress, then success or failure...), except that a status equal to
 * the deployment's newest one is not repeated, which makes a retried report
 * harmless too. The deploy has run already when Keel reports it, so GitHub is
 * told not to merge (auto_merge: false) nor to check the commit's statuses
 * (required_contexts: []).
 *
 * Octokit is made per call (baseUrl: the option, else GITHUB_API_URL, else
 * https://api.github.com); requests are retried as retry.ts says.
 */
import { Octokit } from "@octokit/rest";
import { GithubApiError } from "./errors";
import type { GithubRetryOptions } from "./retry";
import { withGithubRetry } from "./retry";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";

/** GitHub's limit on a deployment status's description, in characters. */
export const DESCRIPTION_LIMIT = 140;

/** Keel's deployments' task, which their lookups filter on. */
export const DEPLOY_TASK = "deploy";

export interface DeploymentTarget {
    owner: string;
    repo: string;
    /** The job's GITHUB_TOKEN (needs `permissions: deployments: write`) or a token with the same right. */
    token: string;
    /** Default: GITHUB_API_URL, else https://api.github.com. */
    baseUrl?: string;
}

export type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive";

export interface DeploymentReport {
    /** The GitHub environment (the stack's). */
    environment: string;
    /** The commit sha that was deployed. */
    ref: string;
    state: DeploymentState;
    /** Shown on GitHub; cut to 140 characters with … (GitHub's limit). */
    description: string;
    /** Where the environment is reached (its URL on the Environments page). */
    environmentUrl?: string;
    /** The deploy's log (the workflow run). */
    logUrl?: string;
    /** The workflow run the deployment belongs to; default GITHUB_RUN_ID. Without one, the commit's run-less deployment is reused. */
    runId?: string;
}

export interface ReportOptions extends GithubRetryOptions {
    /** The environment is one end users reach; default: GitHub's (environment === "production"). */
    productionEnvironment?: boolean;
    /** The environment goes away (a preview); default false. */
    transientEnvironment?: boolean;
    /** Per-request timeout (ms); default 30 s. */
    timeoutMs?: number;
}

export interface ReportedDeployment {
    deploymentId: number;
    /** The status that stands for this report (an equal newest status is not repeated). */
    statusId: number;
    /** Whether this call saw its create succeed (false when the deployment was found, even one whose create answer was lost). */
    created: boolean;
}

/** The description as GitHub accepts it: at most 140 characters (not UTF-16 units), cut with … */
export function truncateDescription(text: string, limit = DESCRIPTION_LIMIT): string {
    const chars = [...text];
    return chars.length <= limit ? text : chars.slice(0, limit - 1).join("") + "…";
}

/** The API base: the target's, else GITHUB_API_URL, else api.github.com; no trailing slash. */
export function githubApiUrl(target: { baseUrl?: string }): string {
    return (target.baseUrl || process.env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL).replace(/\/+$/, "");
}

interface DeploymentLike {
    id: number;
    payload: unknown;
}

interface StatusLike {
    id: number;
    state: string;
    description?: string | null;
    environment_url?: string;
    log_url?: string;
}

/** The run a deployment's payload names (null: none). */
function runOf(d: DeploymentLike): string | null {
    const p = d.payload;
    if (!p || typeof p !== "object" || Array.isArray(p)) return null;
    const run = (p as { keelRun?: unknown }).keelRun;
    return run === undefined || run === null ? null : String(run);
}

/** Reports one state of a deploy (see the module's comment); throws GithubApiError with the fix when GitHub refuses. */
export async function reportDeployment(
    target: DeploymentTarget,
    status: DeploymentReport,
    options: ReportOptions = {},
): Promise<ReportedDeployment> {
    const { owner, repo, token } = target;
    const runId = status.runId ?? process.env.GITHUB_RUN_ID ?? null;
    const description = truncateDescription(status.description);
    const timeoutMs = options.timeoutMs ?? 30_000;
    // A fresh signal per request: octokit takes it from the request options.
    const request = () => ({ signal: AbortSignal.timeout(timeoutMs) });
    const octokit = new Octokit({ auth: token, baseUrl: githubApiUrl(target), userAgent: "keel" });
    const ctx = (action: string) => ({ action, repository: `${owner}/${repo}`, token });
    const short = status.ref.slice(0, 12);

    /** This run's deployment of the ref to the environment, newest first; undefined when there is none. */
    const find = async (): Promise<DeploymentLike | undefined> => {
        for (let page = 1; page <= 10; page++) {
            const { data } = await octokit.rest.repos.listDeployments({
                owner,
                repo,
                ref: status.ref,
                environment: status.environment,
                task: DEPLOY_TASK,
                per_page: 100,
                page,
                request: request(),
            });
            const mine = data.find((d) => runOf(d) === runId);
            if (mine) return mine;
            if (data.length < 100) return undefined;
        }
        return undefined;
    };

    let created = false;
    const deployment = await withGithubRetry(
        ctx(`finding or creating the deployment of ${short} to ${status.environment}`),
        async () => {
            // Looked for on every attempt: a create whose answer was lost shows up here.
            const found = await find();
            if (found) return found;
            const res = await octokit.rest.repos.createDeployment({
                owner,
                repo,
                ref: status.ref,
                task: DEPLOY_TASK,
                environment: status.environment,
                description,
                auto_merge: false,
                required_contexts: [],
                payload: { keelRun: runId },
                transient_environment: options.transientEnvironment ?? false,
                ...(options.productionEnvironment !== undefined ? { production_environment: options.productionEnvironment } : {}),
                request: request(),
            });
            // 202 is GitHub's "merged the default branch first", which auto_merge: false rules out.
            if (res.status !== 201)
                throw new GithubApiError(
                    `GitHub answered ${res.status} instead of creating the deployment of ${short} to ${status.environment} in ${owner}/${repo}; ` +
                        "Keel asks with auto_merge: false, so this is unexpected: report it as a bug.",
                    res.status,
                );
            created = true;
            return res.data as DeploymentLike;
        },
        options,
    );

    const same = (s: StatusLike) =>
        s.state === status.state &&
        (s.description ?? "") === description &&
        (s.environment_url ?? "") === (status.environmentUrl ?? "") &&
        (s.log_url ?? "") === (status.logUrl ?? "");

    const posted = await withGithubRetry(
        ctx(`reporting ${status.state} on the deployment of ${short} to ${status.environment}`),
        async (attempt) => {
            // A new deployment has no statuses; otherwise a status like this one may already be there (a retried step or POST).
            if (!created || attempt > 1) {
                const { data } = await octokit.rest.repos.listDeploymentStatuses({
                    owner,
                    repo,
                    deployment_id: deployment.id,
                    per_page: 1,
                    request: request(),
                });
                if (data[0] && same(data[0])) return data[0] as StatusLike;
            }
            const res = await octokit.rest.repos.createDeploymentStatus({
                owner,
                repo,
                deployment_id: deployment.id,
                state: status.state,
                description,
                environment: status.environment,
                ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
                ...(status.logUrl ? { log_url: status.logUrl } : {}),
                auto_inactive: true,
                request: request(),
            });
            return res.data as StatusLike;
        },
        options,
    );
    return { deploymentId: deployment.id, statusId: posted.id, created };
}
