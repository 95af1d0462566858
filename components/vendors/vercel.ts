/**
 * The Vercel REST API as Keel's rollback uses it: a thin typed client over
 * Node's global fetch for a project's production deployments, the project
 * itself (which deployment serves production) and instant rollback, with the
 * vendor retry policy (components/vendors/retry.ts), errors that name the
 * operation, the status and Vercel's error code and message but never the
 * token, and a rollback that is confirmed by reading the project back.
 *
 * Vercel rate-limits per token and says when the window resets
 * (`X-RateLimit-Reset`, epoch seconds); a 429 without `Retry-After` is waited
 * out until then, within the retry budget. Instant rollback is asynchronous:
 * the request answers 201 and the project's `lastAliasRequest` goes
 * pending/in-progress -> succeeded (or failed) while `targets.production`
 * moves to the deployment; rollback() polls a bounded number of times, with a
 * sleep tests can replace. A rollback turns off automatic assignment of
 * production domains: later production deployments do not go live until one
 * is promoted (onWarn says so).
 *
 * Paths: list-deployments GET /v6/deployments, get-project GET
 * /v9/projects/{idOrName}, rollback POST /v9/projects/{projectId}/rollback/
 * {deploymentId} (as Vercel's CLI calls it; Vercel's OpenAPI publishes the
 * same operation, requestRollback, under /v1).
 */
import { KeelError } from "../errors";
import { resolveCredential } from "./credentials";
import { AttemptFailure, jsonAttempt } from "./http";
import { classifyHttpError, DEFAULT_RETRY_POLICY, Failure, formatDelay, RetryPolicy, sleep as realSleep, withRetry } from "./retry";
import type { DeploymentTimes } from "./vercelDeployments";

export { frontendRollbackPlan, liveProductionAt } from "./vercelDeployments";
export type { DeploymentTimes, FrontendRollbackInput, FrontendRollbackPlan } from "./vercelDeployments";
// The frontend's part of a rollback, importable from here as before.
export { applyFrontendRollback, checkFrontendRollback, type FrontendRollbackCheck } from "./vercelRollback";

export const DEFAULT_VERCEL_API_URL = "https://api.vercel.com";

/** A Vercel API request that failed (after the retries the policy allows). */
export class VercelApiError extends KeelError {
    constructor(
        message: string,
        /** What Keel was doing: `list deployments`, `get project`, `roll back`. */
        readonly operation: string,
        readonly status?: number,
        /** Vercel's error code (`not_found`, `forbidden`, ...), when it sent one. */
        readonly code?: string,
        /** True when a POST may have been carried out although its response was lost. */
        readonly mayHaveBeenProcessed = false,
        /** For 429: how long Vercel asked to wait (ms). */
        readonly retryAfterMs?: number,
    ) {
        super(message, "VercelApiError");
    }
}

/** A rollback Vercel accepted that did not take effect (failed, or not confirmed in the attempts allowed), or one refused by the plan. */
export class VercelRollbackError extends KeelError {
    constructor(
        message: string,
        /** The project as last read (undefined if it could not be read). */
        readonly project?: VercelProject,
    ) {
        super(message, "VercelRollbackError");
        this.project = project;
    }
}

/** No Vercel API token where Keel looks for one. */
export class VercelCredentialsError extends KeelError {
    constructor(message: string) {
        super(message, "VercelCredentialsError");
    }
}

// ---- shapes (the parts of Vercel's responses Keel reads; @vercel/sdk's models have them all) ----

/** One of list-deployments' `deployments[]`. */
export interface VercelDeployment extends DeploymentTimes {
    uid: string;
    name: string;
    url: string;
    projectId: string;
    created: number;
    createdAt: number;
    ready?: number;
    readyState: "BLOCKED" | "BUILDING" | "CANCELED" | "DELETED" | "ERROR" | "INITIALIZING" | "QUEUED" | "READY";
    /** READY deployments: STAGED (never served production), ROLLING, PROMOTED (has served production). */
    readySubstate?: "STAGED" | "ROLLING" | "PROMOTED";
    state?: VercelDeployment["readyState"];
    target?: "production" | "staging" | null;
    isRollbackCandidate?: boolean | null;
    creator: { uid: string; username?: string; email?: string };
    inspectorUrl: string | null;
    meta?: Record<string, string>;
    type: "LAMBDAS";
}

/** A project's deployment for a target (targets.production) as get-project answers it. */
export interface VercelProjectDeployment {
    id: string;
    url: string;
    name: string;
    createdAt: number;
    readyAt?: number;
    readyState: string;
    readySubstate?: "STAGED" | "ROLLING" | "PROMOTED";
    /** The plan of the account the deployment was made on. */
    plan: "hobby" | "pro" | "enterprise";
    target?: string | null;
    meta?: Record<string, string>;
}

/** The project's last rollback or promotion request. */
export interface VercelAliasRequest {
    type: "rollback" | "promote";
    jobStatus: "pending" | "in-progress" | "succeeded" | "failed" | "skipped";
    requestedAt: number;
    toDeploymentId: string;
    fromDeploymentId: string | null;
}

export interface VercelProject {
    id: string;
    name: string;
    accountId: string;
    /** The deployment serving each target; `production` is the one a rollback moves. */
    targets?: Record<string, VercelProjectDeployment | null>;
    lastAliasRequest?: VercelAliasRequest | null;
    /** False after an instant rollback: new production deployments wait to be promoted. */
    autoAssignCustomDomains?: boolean;
    latestDeployments?: VercelProjectDeployment[];
}

export interface VercelPagination {
    count: number;
    /** The `until` of the next page (a created timestamp); null on the last page. */
    next: number | null;
    prev: number | null;
}

/** What a VercelProjectDeployment says about times, in list-deployments' terms (for the pure planners). */
export function projectDeploymentTimes(d: VercelProjectDeployment): DeploymentTimes {
    return { uid: d.id, url: d.url, created: d.createdAt, ready: d.readyAt, readyState: d.readyState, target: d.target ?? "production" };
}

// ---- credentials -------------------------------------------------------------

export interface VercelCredentialSources {
    /** `keel:vercelApiToken` as read from the stack's config. */
    configApiToken?: string;
    /** A URL from config (tests point it at a fake). */
    configApiUrl?: string;
    env: Record<string, string | undefined>;
}

export interface VercelCredentials {
    token: string;
    baseUrl: string;
    /** Where the token came from, for messages (never the token itself). */
    source: "keel:vercelApiToken" | "VERCEL_API_TOKEN";
}

/** The token from config, else VERCEL_API_TOKEN; the base URL from config, else VERCEL_API_URL, else Vercel's. */
export function resolveVercelCredentials(sources: VercelCredentialSources): VercelCredentials {
    const { secret, baseUrl, source } = resolveCredential(
        {
            what: "Vercel API token",
            configKey: "keel:vercelApiToken",
            envKey: "VERCEL_API_TOKEN",
            urlEnvKey: "VERCEL_API_URL",
            defaultUrl: DEFAULT_VERCEL_API_URL,
            howToGet: "Create a token in Vercel (Account settings > Tokens) with access to the project's team",
        },
        sources.configApiToken,
        sources.configApiUrl,
        sources.env,
        (m) => new VercelCredentialsError(m),
    );
    return { token: secret, baseUrl, source };
}

// ---- errors ------------------------------------------------------------------

/** HTTP status of a Vercel API error, if it had a response. */
export function vercelErrorStatus(err: unknown): number | undefined {
    const s = (err as { status?: unknown } | undefined)?.status;
    return typeof s === "number" ? s : undefined;
}

/** What a failed attempt throws inside the retry loop (duck-typed by classifyHttpError). */

/** `{ error: { code, message } }`, Vercel's error body. */
function vercelError(data: unknown): { code?: string; message?: string } {
    const e = (data as { error?: unknown } | undefined)?.error;
    if (!e || typeof e !== "object") return typeof data === "string" && data.length < 500 ? { message: data } : {};
    const { code, message } = e as { code?: unknown; message?: unknown };
    return { code: typeof code === "string" ? code : undefined, message: typeof message === "string" ? message : undefined };
}

// ---- the client --------------------------------------------------------------

export interface VercelClientOptions {
    /** The API token; default VERCEL_API_TOKEN (from `env`). */
    token?: string;
    /** Where `token` came from, for messages (`keel:vercelApiToken`); "VERCEL_API_TOKEN" when the client read it from there. */
    tokenSource?: string;
    /** The team owning the project (sent as `teamId` on every request); none for a personal account. */
    teamId?: string;
    /** Default VERCEL_API_URL, else https://api.vercel.com. */
    baseUrl?: string;
    /** Where VERCEL_API_TOKEN and VERCEL_API_URL are read; default process.env. */
    env?: Record<string, string | undefined>;
    policy?: Partial<RetryPolicy>;
    /** Per-request timeout (ms); default 60 s. */
    timeoutMs?: number;
    /** `Vercel API GET /v6/deployments: retrying in 2s (429 Too Many Requests)`, and rollback progress. */
    onProgress?: (message: string) => void;
    /** Things to act on that are not errors (a rollback turned off automatic production domains). */
    onWarn?: (message: string) => void;
    /** Waits between retries and between rollback checks; default a timer. Tests pass one that moves a fake clock. */
    sleep?: (ms: number) => Promise<void>;
    /** The time (ms since epoch) for the retry budget and X-RateLimit-Reset; default Date.now. */
    now?: () => number;
    /** For jitter; default Math.random. */
    random?: () => number;
}

export interface RequestOptions {
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
    /** Default: true for everything but POST. */
    idempotent?: boolean;
    /** For messages: `list deployments`; default `METHOD path`. */
    operation?: string;
}

export interface VercelResponse<T> {
    status: number;
    data: T;
}

export interface ListDeploymentsOptions {
    /** Only deployments Vercel offers to roll back to (`rollbackCandidate=true`). */
    rollbackCandidate?: boolean;
    /** Deployments per page (Vercel allows up to 100); default 100. */
    pageSize?: number;
    /** Stop after this many pages (onWarn says so); default 100. */
    maxPages?: number;
}

export interface RollbackOptions {
    /** Reads of the project to confirm the rollback before giving up; default 30. */
    attempts?: number;
    /** Wait between reads (ms); default 2000. */
    intervalMs?: number;
}

const PAGE = 100;

/** A wait for people: `50min`, `2h 5min` past two minutes, else as formatDelay. */
function formatWait(ms: number): string {
    if (ms < 120_000) return formatDelay(ms);
    const min = Math.ceil(ms / 60_000);
    return min < 120 ? `${min}min` : `${Math.floor(min / 60)}h${min % 60 ? ` ${min % 60}min` : ""}`;
}

/**
 * A Vercel API client with retries: 429 waited out within the policy's budget
 * (Retry-After, else X-RateLimit-Reset; failing at once when Vercel asks for a
 * longer wait), 423, 5xx and network errors retried a few times (a POST only
 * when it cannot have been processed), everything else thrown at once as a
 * VercelApiError.
 */
export class VercelClient {
    readonly baseUrl: string;
    readonly teamId?: string;
    /** Private to the class (and left out of util.inspect): the token never reaches a message or a log. */
    readonly #token: string;
    readonly #tokenSource?: string;
    readonly #policy: RetryPolicy;
    readonly #timeoutMs: number;
    readonly #now: () => number;
    readonly #sleep: (ms: number) => Promise<void>;
    readonly #random?: () => number;
    readonly #onProgress?: (message: string) => void;
    readonly #onWarn?: (message: string) => void;

    constructor(options: VercelClientOptions = {}) {
        const env = options.env ?? process.env;
        let token = options.token?.trim() ?? "";
        let tokenSource = options.tokenSource;
        if (!token) {
            const creds = resolveVercelCredentials({ env });
            token = creds.token;
            tokenSource = options.tokenSource ?? creds.source;
        }
        this.#token = token;
        this.#tokenSource = tokenSource;
        this.baseUrl = (options.baseUrl ?? (env.VERCEL_API_URL?.trim() || DEFAULT_VERCEL_API_URL)).replace(/\/+$/, "");
        this.teamId = options.teamId?.trim() || undefined;
        this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
        this.#timeoutMs = options.timeoutMs ?? 60_000;
        this.#now = options.now ?? Date.now;
        this.#sleep = options.sleep ?? realSleep;
        this.#random = options.random;
        this.#onProgress = options.onProgress;
        this.#onWarn = options.onWarn;
    }

    /** Any request below the base URL, with retries and teamId; non-2xx answers throw VercelApiError. */
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<VercelResponse<T>> {
        method = method.toUpperCase();
        const idempotent = opts.idempotent ?? method !== "POST";
        const operation = opts.operation ?? `${method} ${path}`;
        const what = `Vercel API ${method} ${path}`;
        const policy = this.#policy;
        const classify = (err: unknown, nowMs: number) => this.classify(err, nowMs);
        let gaveUp: { reason: string; failure: Failure } | undefined;
        try {
            return await withRetry(
                () =>
                    jsonAttempt<T>(method, this.url(path, opts.query), { token: this.#token, body: opts.body, timeoutMs: this.#timeoutMs }),
                {
                    policy,
                    idempotent,
                    classify,
                    sleep: this.#sleep,
                    now: this.#now,
                    random: this.#random,
                    onRetry: (info) => this.progress(`${what}: ${info.message}`),
                    onGiveUp: (reason, failure) => (gaveUp = { reason, failure }),
                },
            );
        } catch (err) {
            const e = err as AttemptFailure;
            if (!e || typeof e !== "object" || (e.status === undefined && e.code === undefined && !("message" in e))) throw err;
            const failure = gaveUp?.failure ?? classify(err, this.#now());
            const { code, message } = vercelError(e.response?.data);
            const detail =
                e.status !== undefined
                    ? `${e.status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`
                    : `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ""}`;
            let tail = "";
            if (failure?.kind === "rate-limited") {
                const wait = failure.retryAfterMs;
                tail =
                    "; Vercel rate-limits API requests per token" +
                    (wait !== undefined && wait > policy.budgetMs
                        ? ` and asked to wait ${formatWait(wait)}, longer than the retry budget of ${formatWait(policy.budgetMs)}: run it again after that`
                        : `; gave up: ${gaveUp?.reason ?? "rate limited"}`);
            } else if (gaveUp) {
                tail = `; gave up: ${gaveUp.reason}`;
            }
            const lost = !!failure?.mayHaveBeenProcessed && !idempotent;
            const hint = lost ? " (it may have been carried out: read the project before trying again)" : "";
            const fix = this.fixFor(e.status, operation, path);
            throw new VercelApiError(
                this.redact(`Vercel API ${operation} (${method} ${path}): ${detail}${tail}${hint}${fix ? `. Fix: ${fix}.` : ""}`),
                operation,
                e.status,
                code,
                lost,
                failure?.kind === "rate-limited" ? failure.retryAfterMs : undefined,
            );
        }
    }

    async getProject(idOrName: string): Promise<VercelProject> {
        return (await this.request<VercelProject>("GET", `/v9/projects/${seg(idOrName)}`, { operation: "get project" })).data;
    }

    /** Every READY production deployment of the project, newest first (follows pagination.next as `until`). */
    async listProductionDeployments(projectId: string, opts: ListDeploymentsOptions = {}): Promise<VercelDeployment[]> {
        const limit = Math.min(PAGE, Math.max(1, opts.pageSize ?? PAGE));
        const maxPages = opts.maxPages ?? 100;
        const out: VercelDeployment[] = [];
        const seen = new Set<string>();
        let until: number | undefined;
        for (let page = 1; page <= maxPages; page++) {
            const { data } = await this.request<{ deployments?: VercelDeployment[]; pagination?: VercelPagination }>(
                "GET",
                "/v6/deployments",
                {
                    operation: "list deployments",
                    query: {
                        projectId,
                        target: "production",
                        state: "READY",
                        limit,
                        until,
                        rollbackCandidate: opts.rollbackCandidate ? "true" : undefined,
                    },
                },
            );
            const deployments = Array.isArray(data?.deployments) ? data.deployments : [];
            for (const d of deployments) {
                if (seen.has(d.uid)) continue;
                seen.add(d.uid);
                out.push(d);
            }
            const next = data?.pagination?.next;
            if (typeof next !== "number" || deployments.length === 0) return out;
            // A next page that does not move back in time would repeat forever.
            if (until !== undefined && next >= until) return out;
            until = next;
        }
        this.#onWarn?.(
            `Vercel project ${projectId}: stopped listing production deployments after ${maxPages} pages (${out.length} deployments); older ones were not read`,
        );
        return out;
    }

    /** The deployment serving production now (targets.production); undefined when there is none. */
    async productionDeployment(idOrName: string): Promise<VercelProjectDeployment | undefined> {
        return (await this.getProject(idOrName)).targets?.production ?? undefined;
    }

    /** Asks for an instant rollback (201, no body) and returns at once; rollback() also confirms it. */
    async requestRollback(projectId: string, deploymentId: string): Promise<void> {
        await this.request("POST", `/v9/projects/${seg(projectId)}/rollback/${seg(deploymentId)}`, { operation: "roll back", body: {} });
    }

    /**
     * Makes `deploymentId` production again with Vercel's instant rollback and
     * confirms it: reads the project until targets.production is that
     * deployment (returned), the rollback failed, or the attempts run out
     * (VercelRollbackError). Nothing is sent when it already serves production.
     */
    async rollback(projectId: string, deploymentId: string, opts: RollbackOptions = {}): Promise<VercelProject> {
        const attempts = Math.max(1, opts.attempts ?? 30);
        const intervalMs = opts.intervalMs ?? 2000;
        const what = `rollback of Vercel project ${projectId} to ${deploymentId}`;
        const before = await this.getProject(projectId);
        const from = before.targets?.production?.id;
        if (from === deploymentId) {
            this.progress(`${what}: it already serves production; nothing to do`);
            return before;
        }
        const earlier = JSON.stringify(before.lastAliasRequest ?? null);
        let lost: VercelApiError | undefined;
        try {
            await this.requestRollback(projectId, deploymentId);
            this.progress(`${what}: requested (production was ${from ?? "none"})`);
        } catch (err) {
            if (!(err instanceof VercelApiError) || !err.mayHaveBeenProcessed) throw err;
            lost = err;
            this.progress(`${what}: the answer to the request was lost; reading the project to see whether Vercel took it`);
        }
        let project = before;
        for (let check = 1; check <= attempts; check++) {
            project = await this.getProject(projectId);
            const production = project.targets?.production?.id;
            const req = project.lastAliasRequest;
            // Only a request made since `before` was read is about this rollback.
            const ours = req && JSON.stringify(req) !== earlier && req.toDeploymentId === deploymentId ? req : undefined;
            if (production === deploymentId) {
                this.progress(`${what}: confirmed, production is ${deploymentId} (check ${check} of ${attempts})`);
                if (project.autoAssignCustomDomains === false) {
                    this.#onWarn?.(
                        `Vercel turned off automatic assignment of production domains for project ${project.name} with this rollback: ` +
                            "new production deployments (a push to the production branch) will build but not go live until one is promoted " +
                            "(`vercel promote <deployment>`, or Promote in the dashboard), which turns it back on",
                    );
                }
                return project;
            }
            if (ours && (ours.jobStatus === "failed" || ours.jobStatus === "skipped")) {
                throw new VercelRollbackError(
                    `The ${what} ${ours.jobStatus}: production is still ${production ?? "none"}. ` +
                        "Look at the project's deployments in the Vercel dashboard (Instant Rollback shows which domains were not moved), then run the rollback again.",
                    project,
                );
            }
            if (lost && !ours && check === 1) {
                throw new VercelApiError(
                    `${lost.message.replace(/ \(it may have been carried out[^)]*\)/, "")}; Vercel shows no rollback to ${deploymentId}, so it was not carried out: run it again`,
                    lost.operation,
                    lost.status,
                    lost.code,
                    false,
                );
            }
            this.progress(
                `${what}: production is still ${production ?? "none"}${ours ? ` (${ours.jobStatus})` : ""}; check ${check} of ${attempts}`,
            );
            if (check < attempts) await this.#sleep(intervalMs);
        }
        throw new VercelRollbackError(
            `The ${what} is not confirmed after ${attempts} reads of the project ${formatDelay(intervalMs)} apart: production is still ` +
                `${project.targets?.production?.id ?? "none"}. It may still finish: look at the project in the Vercel dashboard ` +
                "(or run `vercel rollback` there for its status) before running the rollback again.",
            project,
        );
    }

    /** The fix for a failure, when one is known. */
    private fixFor(status: number | undefined, operation: string, path: string): string {
        if (status === 401 || status === 403) {
            return (
                `the Vercel API token${this.#tokenSource ? ` (from ${this.#tokenSource})` : ""} was refused: it may be revoked or expired` +
                `${this.teamId ? `, or have no access to team ${this.teamId}` : ", or the project may belong to a team (set keel:frontend.teamId)"}. ` +
                "Create a token in Vercel (Account settings > Tokens) scoped to the project's team, then `export VERCEL_API_TOKEN=...` " +
                "or `npm run pulumi -- config set --secret keel:vercelApiToken ...`"
            );
        }
        if (status === 404) {
            const what = operation === "roll back" ? "the project id and the deployment id" : "the project id or name";
            return (
                `check ${what} in ${path}` +
                `${this.teamId ? ` and that the project belongs to team ${this.teamId}` : "; a team's project also needs its teamId (keel:frontend.teamId)"}` +
                " (the stack output frontendProjectId is the project's id)"
            );
        }
        if (operation === "roll back" && status !== undefined && status >= 400 && status < 500 && status !== 429) {
            return (
                "on Vercel's Hobby plan only the previous production deployment can be rolled back to, and only deployments that served production are candidates: " +
                "check the target with frontendRollbackPlan before rolling back, move the team to the Pro plan, or run the rollback with --keep-frontend"
            );
        }
        return "";
    }

    private progress(message: string): void {
        this.#onProgress?.(message);
    }

    private redact(s: string): string {
        return s.split(this.#token).join("[redacted]");
    }

    private url(path: string, query: RequestOptions["query"]): string {
        const params: string[] = [];
        for (const [k, v] of Object.entries({ ...query, teamId: this.teamId })) {
            if (v === undefined) continue;
            params.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
        }
        return `${this.baseUrl}${path}${params.length ? `?${params.join("&")}` : ""}`;
    }

    /** classifyHttpError, with X-RateLimit-Reset standing in for a missing Retry-After on 429. */
    private classify(err: unknown, nowMs: number): Failure | undefined {
        const failure = classifyHttpError(err, nowMs);
        if (failure?.kind === "rate-limited" && failure.retryAfterMs === undefined) {
            const reset = Number((err as AttemptFailure).response?.headers.get("x-ratelimit-reset"));
            if (Number.isFinite(reset) && reset > 0) return { ...failure, retryAfterMs: Math.max(0, reset * 1000 - nowMs) };
        }
        return failure;
    }
}

const seg = encodeURIComponent;

/** A Vercel API client (the same as `new VercelClient(options)`). */
export function vercelClient(options: VercelClientOptions = {}): VercelClient {
    return new VercelClient(options);
}
