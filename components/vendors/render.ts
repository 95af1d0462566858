/**
 * The Render API client as Keel uses it: a small typed client over Node's
 * global fetch for services, env vars, deploys, rollback and custom domains,
 * with the vendor retry policy (components/vendors/retry.ts), errors that name
 * the request and Render's message but never the API key, and a wait for a
 * deploy to go live.
 *
 * Render's limits (from its documentation): service creation 20 an hour,
 * deploys 10 a minute per service. A 429 whose Retry-After is longer than the
 * retry budget fails at once, saying how long Render asked to wait.
 */
import { KeelError } from "../errors";
import { resolveCredential } from "./credentials";
import { AttemptFailure, jsonAttempt } from "./http";
import { classifyHttpError, DEFAULT_RETRY_POLICY, Failure, formatDelay, RetryPolicy, sleep, withRetry } from "./retry";

export const DEFAULT_RENDER_API_URL = "https://api.render.com/v1";

/** A Render API request that failed (after the retries the policy allows). */
export class RenderApiError extends KeelError {
    constructor(
        message: string,
        readonly status?: number,
        /** True when a POST may have been carried out although its response was lost. */
        readonly mayHaveBeenProcessed = false,
        /** For 429: how long Render asked to wait (ms). */
        readonly retryAfterMs?: number,
    ) {
        super(message, "RenderApiError");
    }
}

/** A deploy that ended in a failure status, or did not end in time. */
export class RenderDeployError extends KeelError {
    constructor(
        message: string,
        /** The deploy as last read (undefined if it could never be read). */
        readonly deploy?: Deploy,
    ) {
        super(message, "RenderDeployError");
    }
}

/** No Render API key where Keel looks for one. */
export class RenderCredentialsError extends KeelError {
    constructor(message: string) {
        super(message, "RenderCredentialsError");
    }
}

// ---- shapes (the parts of render.openapi.json Keel reads) --------------------

export type ServiceType = "static_site" | "web_service" | "private_service" | "background_worker" | "cron_job";
export type Runtime = "docker" | "elixir" | "go" | "node" | "python" | "ruby" | "rust" | "image";
export type DeployStatus =
    | "created"
    | "queued"
    | "build_in_progress"
    | "update_in_progress"
    | "live"
    | "deactivated"
    | "build_failed"
    | "update_failed"
    | "canceled"
    | "pre_deploy_in_progress"
    | "pre_deploy_failed";

export interface Service {
    id: string;
    name: string;
    ownerId: string;
    type: ServiceType;
    autoDeploy: "yes" | "no";
    suspended: "suspended" | "not_suspended";
    suspenders: string[];
    slug: string;
    dashboardUrl: string;
    rootDir: string;
    repo?: string;
    branch?: string;
    imagePath?: string;
    environmentId?: string;
    createdAt: string;
    updatedAt: string;
    serviceDetails: Record<string, any> & { url?: string; plan?: string; region?: string; runtime?: Runtime; numInstances?: number };
}

export interface ImageSource {
    ownerId: string;
    imagePath: string;
    registryCredentialId?: string;
}

export type EnvVarInput = { key: string; value: string } | { key: string; generateValue: true };

export interface ServiceCreate {
    type: ServiceType;
    name: string;
    ownerId: string;
    repo?: string;
    branch?: string;
    image?: ImageSource;
    autoDeploy?: "yes" | "no";
    rootDir?: string;
    envVars?: EnvVarInput[];
    environmentId?: string;
    serviceDetails?: Record<string, unknown>;
}

export interface ServiceUpdate {
    name?: string;
    autoDeploy?: "yes" | "no";
    repo?: string;
    branch?: string;
    image?: ImageSource;
    rootDir?: string;
    serviceDetails?: Record<string, unknown>;
}

export interface EnvVar {
    key: string;
    value: string;
}

export interface Deploy {
    id: string;
    status?: DeployStatus;
    trigger?: string;
    commit?: { id?: string; message?: string; createdAt?: string };
    image?: { ref?: string; sha?: string; registryCredential?: string };
    startedAt?: string;
    finishedAt?: string;
    createdAt?: string;
    updatedAt?: string;
}

export interface DeployCreate {
    clearCache?: "clear" | "do_not_clear";
    commitId?: string;
    imageUrl?: string;
}

export interface CustomDomain {
    id: string;
    name: string;
    domainType: "apex" | "subdomain";
    publicSuffix: string;
    redirectForName: string;
    verificationStatus: "verified" | "unverified";
    createdAt: string;
    server?: { id?: string; name?: string };
}

export interface ListServicesFilter {
    name?: string;
    type?: ServiceType[];
    ownerId?: string;
    suspended?: "suspended" | "not_suspended";
}

/** Statuses a deploy ends in without going live. */
export const DEPLOY_FAILURE_STATUSES: DeployStatus[] = ["build_failed", "update_failed", "pre_deploy_failed", "canceled", "deactivated"];

// ---- credentials -------------------------------------------------------------

export interface RenderCredentialSources {
    /** `keel:renderApiKey` as a dynamic provider's configure() read it. */
    configApiKey?: string;
    /** `keel:renderApiUrl`, likewise (tests point it at a fake). */
    configApiUrl?: string;
    env: Record<string, string | undefined>;
}

export interface RenderCredentials {
    apiKey: string;
    baseUrl: string;
    /** Where the key came from, for messages (never the key itself). */
    source: "keel:renderApiKey" | "RENDER_API_KEY";
}

/** The key from provider config, else RENDER_API_KEY; the base URL from config, else RENDER_API_URL, else Render's. */
export function resolveRenderCredentials(sources: RenderCredentialSources): RenderCredentials {
    const { secret, baseUrl, source } = resolveCredential(
        {
            what: "Render API key",
            configKey: "keel:renderApiKey",
            envKey: "RENDER_API_KEY",
            urlEnvKey: "RENDER_API_URL",
            defaultUrl: DEFAULT_RENDER_API_URL,
            howToGet: "Create a key in the Render dashboard (Account settings > API keys)",
        },
        sources.configApiKey,
        sources.configApiUrl,
        sources.env,
        (m) => new RenderCredentialsError(m),
    );
    return { apiKey: secret, baseUrl, source };
}

// ---- errors ------------------------------------------------------------------

/** HTTP status of a Render API error, if it had a response. */
export function renderErrorStatus(err: unknown): number | undefined {
    const e = err as { status?: unknown } | undefined;
    return typeof e?.status === "number" ? e.status : undefined;
}

export function isRenderNotFound(err: unknown): boolean {
    return renderErrorStatus(err) === 404;
}

/** What a failed attempt throws inside the retry loop (duck-typed by classifyHttpError). */

/** A wait for people: `50min`, `2h 5min` past two minutes, else as formatDelay. */
function formatWait(ms: number): string {
    if (ms < 120_000) return formatDelay(ms);
    const min = Math.ceil(ms / 60_000);
    return min < 120 ? `${min}min` : `${Math.floor(min / 60)}h${min % 60 ? ` ${min % 60}min` : ""}`;
}

/** The limit behind a 429 on this request, for messages. */
function rateLimitHint(method: string, path: string): string {
    if (method === "POST" && /^\/services$/.test(path)) return "Render allows 20 service creations an hour";
    if (method === "POST" && /^\/services\/[^/]+\/(deploys|rollback)$/.test(path)) return "Render allows 10 deploys a minute per service";
    return "Render rate-limits API requests per key";
}

// ---- the client --------------------------------------------------------------

export interface RenderClientOptions {
    apiKey: string;
    /** Default https://api.render.com/v1. */
    baseUrl?: string;
    policy?: Partial<RetryPolicy>;
    /** Per-request timeout (ms); default 60 s. */
    timeoutMs?: number;
    /** `Render API POST /services: retrying in 2s (429 Too Many Requests)` */
    onProgress?: (message: string) => void;
}

export interface RequestOptions {
    query?: Record<string, string | number | string[] | undefined>;
    body?: unknown;
    /** Default: true for everything but POST. */
    idempotent?: boolean;
}

export interface RenderResponse<T> {
    status: number;
    data: T;
}

const PAGE = 100;

/** Any value, or `value` when the request answers 404. */
async function notFoundIs<T>(p: Promise<T>, value: T): Promise<T> {
    try {
        return await p;
    } catch (err) {
        if (isRenderNotFound(err)) return value;
        throw err;
    }
}

const seg = encodeURIComponent;

/**
 * A Render API client with retries: 429 waited out within the policy's budget
 * (failing at once when Render asks for a longer wait), 5xx and network errors
 * retried a few times (a POST only when it cannot have been processed: 503 or
 * a refused connection), everything else thrown at once as a RenderApiError.
 */
export class RenderClient {
    readonly baseUrl: string;
    /** Private to the class (and left out of util.inspect): the key never reaches a message or a log. */
    readonly #apiKey: string;
    readonly #policy: RetryPolicy;
    readonly #timeoutMs: number;
    readonly #onProgress?: (message: string) => void;

    constructor(options: RenderClientOptions) {
        this.#apiKey = options.apiKey;
        this.baseUrl = (options.baseUrl ?? DEFAULT_RENDER_API_URL).replace(/\/+$/, "");
        this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
        this.#timeoutMs = options.timeoutMs ?? 60_000;
        this.#onProgress = options.onProgress;
    }

    /** Any request below the base URL, with retries; non-2xx answers throw RenderApiError. */
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<RenderResponse<T>> {
        method = method.toUpperCase();
        const idempotent = opts.idempotent ?? method !== "POST";
        const what = `Render API ${method} ${path}`;
        const policy = this.#policy;
        let gaveUp: { reason: string; failure: Failure } | undefined;
        try {
            return await withRetry(
                () =>
                    jsonAttempt<T>(method, this.url(path, opts.query), {
                        token: this.#apiKey,
                        body: opts.body,
                        timeoutMs: this.#timeoutMs,
                    }),
                {
                    policy,
                    idempotent,
                    onRetry: (info) => this.#onProgress?.(`${what}: ${info.message}`),
                    onGiveUp: (reason, failure) => (gaveUp = { reason, failure }),
                },
            );
        } catch (err) {
            const e = err as AttemptFailure;
            if (!e || typeof e !== "object" || (e.status === undefined && e.code === undefined && !("message" in e))) throw err;
            const failure = gaveUp?.failure ?? classifyHttpError(err, Date.now());
            const data = e.response?.data as { message?: unknown; id?: unknown } | string | undefined;
            const renderMessage =
                data && typeof data === "object" && typeof data.message === "string"
                    ? data.message
                    : typeof data === "string" && data.length < 500
                      ? data
                      : "";
            const detail =
                e.status !== undefined
                    ? `${e.status}${renderMessage ? ` ${renderMessage}` : ""}`
                    : `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ""}`;
            let tail = "";
            if (failure?.kind === "rate-limited") {
                const wait = failure.retryAfterMs;
                tail =
                    `; ${rateLimitHint(method, path)}` +
                    (wait !== undefined && wait > policy.budgetMs
                        ? ` and asked to wait ${formatWait(wait)} (Retry-After), longer than the retry budget of ${formatWait(policy.budgetMs)}: run it again after that`
                        : `; gave up: ${gaveUp?.reason ?? "rate limited"}`);
            } else if (gaveUp) {
                tail = `; gave up: ${gaveUp.reason}`;
            }
            const lost = !!failure?.mayHaveBeenProcessed && !idempotent;
            const hint = lost ? " (it may have been carried out: look for what it was to create before trying again)" : "";
            throw new RenderApiError(
                this.redact(`${what}: ${detail}${tail}${hint}`),
                e.status,
                lost,
                failure?.kind === "rate-limited" ? failure.retryAfterMs : undefined,
            );
        }
    }

    async createService(body: ServiceCreate): Promise<{ service: Service; deployId?: string }> {
        const { data } = await this.request<{ service: Service; deployId?: string }>("POST", "/services", { body });
        return data;
    }

    async getService(serviceId: string): Promise<Service> {
        return (await this.request<Service>("GET", `/services/${seg(serviceId)}`)).data;
    }

    async updateService(serviceId: string, patch: ServiceUpdate): Promise<Service> {
        return (await this.request<Service>("PATCH", `/services/${seg(serviceId)}`, { body: patch })).data;
    }

    /** True if it was deleted, false if it was already gone (404). */
    deleteService(serviceId: string): Promise<boolean> {
        return notFoundIs(
            this.request("DELETE", `/services/${seg(serviceId)}`).then(() => true),
            false,
        );
    }

    /** Every page of list-services (the API answers `[{ service, cursor }]`). */
    listServices(filter: ListServicesFilter = {}): Promise<Service[]> {
        return this.paged<{ service: Service }, Service>(
            "/services",
            {
                name: filter.name ? [filter.name] : undefined,
                type: filter.type,
                ownerId: filter.ownerId ? [filter.ownerId] : undefined,
                suspended: filter.suspended ? [filter.suspended] : undefined,
            },
            (w) => w.service,
        );
    }

    /** Services whose name is exactly `name` (list-services?name=…, then an exact match). */
    async findServicesByName(name: string, ownerId?: string): Promise<Service[]> {
        return (await this.listServices({ name, ownerId })).filter((s) => s.name === name);
    }

    getEnvVars(serviceId: string): Promise<EnvVar[]> {
        return this.paged<{ envVar: EnvVar }, EnvVar>(`/services/${seg(serviceId)}/env-vars`, {}, (w) => w.envVar);
    }

    /** PUT: replaces the whole list (a key left out is deleted). */
    async replaceEnvVars(serviceId: string, vars: EnvVarInput[]): Promise<EnvVar[]> {
        const { data } = await this.request<{ envVar: EnvVar }[]>("PUT", `/services/${seg(serviceId)}/env-vars`, { body: vars });
        return (data ?? []).map((w) => w.envVar);
    }

    /** undefined when the key is not set. */
    getEnvVar(serviceId: string, key: string): Promise<EnvVar | undefined> {
        return notFoundIs(
            this.request<EnvVar>("GET", `/services/${seg(serviceId)}/env-vars/${seg(key)}`).then((r) => r.data),
            undefined,
        );
    }

    async setEnvVar(serviceId: string, key: string, value: string): Promise<EnvVar> {
        return (await this.request<EnvVar>("PUT", `/services/${seg(serviceId)}/env-vars/${seg(key)}`, { body: { value } })).data;
    }

    /** True if it was deleted, false if it was not set. */
    deleteEnvVar(serviceId: string, key: string): Promise<boolean> {
        return notFoundIs(
            this.request("DELETE", `/services/${seg(serviceId)}/env-vars/${seg(key)}`).then(() => true),
            false,
        );
    }

    /** The new deploy, or undefined when Render answered 202 (queued behind another deploy, no id given). */
    async createDeploy(serviceId: string, body: DeployCreate = {}): Promise<Deploy | undefined> {
        const { status, data } = await this.request<Deploy>("POST", `/services/${seg(serviceId)}/deploys`, { body });
        return status === 202 || !data ? undefined : data;
    }

    listDeploys(serviceId: string, opts: { status?: DeployStatus[]; limit?: number } = {}): Promise<Deploy[]> {
        return this.paged<{ deploy: Deploy }, Deploy>(
            `/services/${seg(serviceId)}/deploys`,
            { status: opts.status },
            (w) => w.deploy,
            opts.limit,
        );
    }

    async getDeploy(serviceId: string, deployId: string): Promise<Deploy> {
        return (await this.request<Deploy>("GET", `/services/${seg(serviceId)}/deploys/${seg(deployId)}`)).data;
    }

    async cancelDeploy(serviceId: string, deployId: string): Promise<Deploy> {
        // Cancelling twice cancels once: safe to repeat.
        return (await this.request<Deploy>("POST", `/services/${seg(serviceId)}/deploys/${seg(deployId)}/cancel`, { idempotent: true }))
            .data;
    }

    /** A new deploy of an earlier one's build; auto-deploy stays as it was. */
    async rollback(serviceId: string, deployId: string): Promise<Deploy> {
        return (await this.request<Deploy>("POST", `/services/${seg(serviceId)}/rollback`, { body: { deployId } })).data;
    }

    /** Render answers with every domain it added (an apex domain brings its www redirect). */
    async createCustomDomain(serviceId: string, name: string): Promise<CustomDomain[]> {
        return (await this.request<CustomDomain[]>("POST", `/services/${seg(serviceId)}/custom-domains`, { body: { name } })).data;
    }

    listCustomDomains(serviceId: string): Promise<CustomDomain[]> {
        return this.paged<{ customDomain: CustomDomain }, CustomDomain>(
            `/services/${seg(serviceId)}/custom-domains`,
            {},
            (w) => w.customDomain,
        );
    }

    /** undefined when there is no such domain. */
    getCustomDomain(serviceId: string, idOrName: string): Promise<CustomDomain | undefined> {
        return notFoundIs(
            this.request<CustomDomain>("GET", `/services/${seg(serviceId)}/custom-domains/${seg(idOrName)}`).then((r) => r.data),
            undefined,
        );
    }

    deleteCustomDomain(serviceId: string, idOrName: string): Promise<boolean> {
        return notFoundIs(
            this.request("DELETE", `/services/${seg(serviceId)}/custom-domains/${seg(idOrName)}`).then(() => true),
            false,
        );
    }

    async verifyCustomDomain(serviceId: string, idOrName: string): Promise<void> {
        await this.request("POST", `/services/${seg(serviceId)}/custom-domains/${seg(idOrName)}/verify`, { idempotent: true });
    }

    private redact(s: string): string {
        return this.#apiKey ? s.split(this.#apiKey).join("[redacted]") : s;
    }

    private url(path: string, query?: RequestOptions["query"]): string {
        const params: string[] = [];
        for (const [k, v] of Object.entries(query ?? {})) {
            if (v === undefined) continue;
            // form style, explode false: name=a,b
            const value = Array.isArray(v) ? v.map(encodeURIComponent).join(",") : encodeURIComponent(String(v));
            params.push(`${encodeURIComponent(k)}=${value}`);
        }
        return `${this.baseUrl}${path}${params.length ? `?${params.join("&")}` : ""}`;
    }

    /** Follows cursors: each item of a page is `{ <wrapper>: item, cursor }`. */
    private async paged<W, T>(path: string, query: RequestOptions["query"], unwrap: (w: W) => T, max = Infinity): Promise<T[]> {
        const out: T[] = [];
        let cursor: string | undefined;
        for (;;) {
            const limit = Math.min(PAGE, max - out.length);
            const { data } = await this.request<(W & { cursor?: string })[]>("GET", path, { query: { ...query, limit, cursor } });
            const page = Array.isArray(data) ? data : [];
            out.push(...page.map(unwrap));
            if (page.length < limit || out.length >= max) return out;
            cursor = page[page.length - 1].cursor;
            if (!cursor) return out;
        }
    }
}

/** A Render API client (the same as `new RenderClient(options)`). */
export function renderClient(options: RenderClientOptions): RenderClient {
    return new RenderClient(options);
}

// ---- waiting for a deploy -----------------------------------------------------

export interface WaitForDeployOptions {
    /** Give up after this long (seconds); default 20 min. */
    timeoutS?: number;
    /** First poll interval (ms, default 1 s); grows by half each poll up to maxPollMs (default 10 s). */
    pollMs?: number;
    maxPollMs?: number;
    /** Called when the status changes: `deploy dep-… of srv-…: build_in_progress (12s)`. */
    onProgress?: (message: string, deploy: Deploy) => void;
}

/**
 * Polls retrieve-deploy until the deploy is `live` (returned) or ends in
 * build_failed, update_failed, pre_deploy_failed, canceled or deactivated
 * (a RenderDeployError naming the status and what to look at).
 */
export async function waitForDeploy(
    client: RenderClient,
    serviceId: string,
    deployId: string,
    options: WaitForDeployOptions = {},
): Promise<Deploy> {
    const timeoutMs = (options.timeoutS ?? 20 * 60) * 1000;
    const maxPollMs = options.maxPollMs ?? 10_000;
    let pollMs = options.pollMs ?? 1000;
    const started = Date.now();
    let last: Deploy | undefined;
    for (;;) {
        const deploy = await client.getDeploy(serviceId, deployId);
        const elapsed = Date.now() - started;
        if (deploy.status !== last?.status)
            options.onProgress?.(`deploy ${deployId} of ${serviceId}: ${deploy.status ?? "unknown"} (${formatDelay(elapsed)})`, deploy);
        last = deploy;
        if (deploy.status === "live") return deploy;
        if (deploy.status && DEPLOY_FAILURE_STATUSES.includes(deploy.status)) {
            const why: Record<string, string> = {
                build_failed: "the build failed: read the deploy's build logs in the Render dashboard",
                update_failed: "the new instances did not become healthy: read the service's logs and its health check",
                pre_deploy_failed: "the pre-deploy command failed: read the deploy's logs",
                canceled: "it was canceled (by someone, or by a newer deploy)",
                deactivated: "a newer deploy replaced it before it went live",
            };
            throw new RenderDeployError(
                `Render deploy ${deployId} of service ${serviceId} ended ${deploy.status}: ${why[deploy.status]}.`,
                deploy,
            );
        }
        if (elapsed >= timeoutMs) {
            throw new RenderDeployError(
                `Render deploy ${deployId} of service ${serviceId} is still ${deploy.status ?? "unknown"} after ${formatDelay(timeoutMs)}; it may still finish: look at it in the Render dashboard, then run 'pulumi up' again.`,
                deploy,
            );
        }
        await sleep(Math.min(pollMs, Math.max(0, timeoutMs - elapsed)));
        pollMs = Math.min(maxPollMs, Math.round(pollMs * 1.5));
    }
}
