/**
 * The Neon API client as Keel uses it: `@neondatabase/api-client` with the
 * vendor retry policy (components/vendors/retry.ts) installed on its axios
 * instance, errors that say what failed without the API key, a wait for the
 * `operations[]` every mutation returns, and the API key's resolution
 * (provider config `keel:neonApiKey`, else `NEON_API_KEY`).
 */
import { createApiClient } from "@neondatabase/api-client";
import type { Api as GeneratedApi, Operation } from "@neondatabase/api-client";
import { KeelError } from "../errors";
import { resolveCredential } from "./credentials";
import { classifyHttpError, decide, DEFAULT_RETRY_POLICY, formatDelay, nextState, RetryPolicy, RetryState, sleep } from "./retry";

/** The generated client, as createApiClient returns it. */
export type Api = GeneratedApi<unknown>;

export const DEFAULT_NEON_API_URL = "https://console.neon.tech/api/v2";

/** A Neon API request that failed (after the retries the policy allows). */
export class NeonApiError extends KeelError {
    constructor(
        message: string,
        readonly status?: number,
        /** True when a mutation may have been carried out although its response was lost. */
        readonly mayHaveBeenProcessed = false,
    ) {
        super(message, "NeonApiError");
    }
}

/** A Neon operation that ended in `failed`, `error` or `cancelled`, or did not finish in time. */
export class NeonOperationError extends KeelError {
    constructor(message: string) {
        super(message, "NeonOperationError");
    }
}

/** No Neon API key where Keel looks for one. */
export class NeonCredentialsError extends KeelError {
    constructor(message: string) {
        super(message, "NeonCredentialsError");
    }
}

/** HTTP status of a Neon API error (ours or axios's), if it had a response. */
export function neonErrorStatus(err: unknown): number | undefined {
    const e = err as { status?: unknown; response?: { status?: unknown } } | undefined;
    if (typeof e?.status === "number") return e.status;
    if (typeof e?.response?.status === "number") return e.response.status;
    return undefined;
}

export function isNotFound(err: unknown): boolean {
    return neonErrorStatus(err) === 404;
}

/** A mutation whose response was lost: it may or may not have happened. */
export function mayHaveBeenProcessed(err: unknown): boolean {
    return !!(err as { mayHaveBeenProcessed?: unknown } | undefined)?.mayHaveBeenProcessed;
}

export interface NeonCredentialSources {
    /** `keel:neonApiKey` as the dynamic provider's configure() read it. */
    configApiKey?: string;
    /** `keel:neonApiUrl`, likewise (tests point it at a fake). */
    configApiUrl?: string;
    env: Record<string, string | undefined>;
}

export interface NeonCredentials {
    apiKey: string;
    baseUrl: string;
    /** Where the key came from, for messages (never the key itself). */
    source: "keel:neonApiKey" | "NEON_API_KEY";
}

/** The key from provider config, else NEON_API_KEY; the base URL from config, else NEON_API_URL, else Neon's. */
export function resolveNeonCredentials(sources: NeonCredentialSources): NeonCredentials {
    const { secret, baseUrl, source } = resolveCredential(
        {
            what: "Neon API key",
            configKey: "keel:neonApiKey",
            envKey: "NEON_API_KEY",
            urlEnvKey: "NEON_API_URL",
            defaultUrl: DEFAULT_NEON_API_URL,
            howToGet: "Create a key in the Neon console (Account settings > API keys)",
        },
        sources.configApiKey,
        sources.configApiUrl,
        sources.env,
        (m) => new NeonCredentialsError(m),
    );
    return { apiKey: secret, baseUrl, source };
}

export interface NeonClientOptions {
    apiKey: string;
    /** Default https://console.neon.tech/api/v2. */
    baseUrl?: string;
    policy?: Partial<RetryPolicy>;
    /** Per-request timeout (ms); default 60 s. */
    timeoutMs?: number;
    /** `Neon API POST /projects/…/branches: retrying in 2s (429 Too Many Requests)` */
    onProgress?: (message: string) => void;
}

/** Request config extras the interceptors read (axios keeps unknown config keys). */
interface KeelRequestConfig {
    method?: string;
    url?: string;
    /** Marks a POST as safe to repeat after its response was lost. */
    keelIdempotent?: boolean;
    keelRetry?: RetryState;
}

/** Pass as the last argument of a POST that is safe to repeat (reset_password, start). */
export const IDEMPOTENT = { keelIdempotent: true } as Record<string, unknown>;

function describeRequest(config: KeelRequestConfig | undefined): string {
    const method = (config?.method ?? "GET").toUpperCase();
    const url = (config?.url ?? "").split("?")[0];
    return `${method} ${url}`;
}

function isIdempotent(config: KeelRequestConfig | undefined): boolean {
    const method = (config?.method ?? "get").toLowerCase();
    // PATCH sets absolute values and DELETE answers 404/204 once done: both are safe to repeat here.
    return method !== "post" || config?.keelIdempotent === true;
}

/** Turns an axios error into a NeonApiError whose message names the request and never the key. */
export function toNeonApiError(err: unknown, apiKey: string, reason?: string): NeonApiError {
    const e = err as { config?: KeelRequestConfig; response?: { status?: number; data?: any }; code?: string; message?: string };
    const failure = classifyHttpError(err, Date.now());
    const status = e?.response?.status;
    const data = e?.response?.data;
    const neonMessage =
        data && typeof data === "object" && typeof data.message === "string"
            ? data.message
            : typeof data === "string" && data.length < 500
              ? data
              : "";
    const what =
        status !== undefined
            ? `${status}${neonMessage ? ` ${neonMessage}` : ""}`
            : `${e?.message ?? String(err)}${e?.code && !String(e?.message).includes(e.code) ? ` (${e.code})` : ""}`;
    const requestId = data && typeof data === "object" && typeof data.request_id === "string" ? ` [request_id ${data.request_id}]` : "";
    let message = `Neon API ${describeRequest(e?.config)}: ${what}${requestId}${reason ? `; ${reason}` : ""}`;
    if (apiKey) message = message.split(apiKey).join("[redacted]");
    const lost = !!failure?.mayHaveBeenProcessed && !isIdempotent(e?.config);
    return new NeonApiError(message, status, lost);
}

/**
 * A Neon API client with retries: 429/423 waited out within the policy's
 * budget, 5xx and network errors retried a few times (POSTs only when they
 * cannot have been processed, or are marked IDEMPOTENT), everything else
 * thrown at once as a NeonApiError.
 */
export function neonClient(options: NeonClientOptions): Api {
    const apiKey = options.apiKey;
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
    const api = createApiClient({ apiKey, baseURL: options.baseUrl ?? DEFAULT_NEON_API_URL, timeout: options.timeoutMs ?? 60_000 });
    api.instance.interceptors.request.use((config) => {
        const c = config as typeof config & KeelRequestConfig;
        if (!c.keelRetry) c.keelRetry = { attempt: 1, startedMs: Date.now(), serverRetries: 0 };
        return config;
    });
    api.instance.interceptors.response.use(undefined, async (err: any) => {
        const config = err?.config as KeelRequestConfig | undefined;
        const failure = classifyHttpError(err, Date.now());
        if (!config || !failure) throw toNeonApiError(err, apiKey);
        const state = config.keelRetry ?? { attempt: 1, startedMs: Date.now(), serverRetries: 0 };
        const decision = decide(failure, state, policy, { idempotent: isIdempotent(config), nowMs: Date.now(), random: Math.random() });
        if (!decision.retry) throw toNeonApiError(err, apiKey, failure.kind === "client" ? undefined : `gave up: ${decision.reason}`);
        options.onProgress?.(`Neon API ${describeRequest(config)}: ${decision.message}`);
        await sleep(decision.delayMs);
        config.keelRetry = nextState(state, failure);
        return api.instance.request(config as any);
    });
    return api;
}

export interface WaitOptions {
    /** First poll interval (ms, default 100); grows by half each poll up to maxPollMs (default 3 s). */
    pollMs?: number;
    maxPollMs?: number;
    /** Give up after this long (ms); default 15 min. */
    timeoutMs?: number;
    onProgress?: (message: string) => void;
}

const DONE = ["finished", "skipped"];
const FAILED = ["failed", "error", "cancelled"];

function describeOperation(op: Operation): string {
    const on = [op.branch_id ? `branch ${op.branch_id}` : "", op.endpoint_id ? `endpoint ${op.endpoint_id}` : ""]
        .filter(Boolean)
        .join(", ");
    return `${op.action} (operation ${op.id}${on ? `, ${on}` : ""})`;
}

/**
 * Polls getProjectOperation until every operation is finished (or skipped).
 * A failed, errored or cancelled operation is an error naming its action and
 * Neon's error text.
 */
export async function waitForOperations(
    api: Api,
    projectId: string,
    operations: Operation[] | undefined,
    options: WaitOptions = {},
): Promise<Operation[]> {
    const timeoutMs = options.timeoutMs ?? 15 * 60_000;
    const maxPollMs = options.maxPollMs ?? 3000;
    let pollMs = options.pollMs ?? 100;
    const started = Date.now();
    let lastReport = started;
    const latest = new Map<string, Operation>((operations ?? []).map((op) => [op.id, op]));
    const check = (op: Operation) => {
        if (FAILED.includes(op.status)) {
            throw new NeonOperationError(
                `Neon operation ${describeOperation(op)} in project ${projectId} ${op.status}: ${op.error || "Neon gave no error text"}. ` +
                    `Look at the project's operations in the Neon console; once the cause is fixed, run 'pulumi up' again.`,
            );
        }
    };
    for (;;) {
        const pending = [...latest.values()].filter((op) => !DONE.includes(op.status));
        pending.forEach(check);
        if (!pending.length) return [...latest.values()];
        const elapsed = Date.now() - started;
        if (elapsed > timeoutMs) {
            throw new NeonOperationError(
                `Neon operation(s) ${pending.map((op) => `${describeOperation(op)}: ${op.status}`).join("; ")} in project ${projectId} did not finish within ${formatDelay(timeoutMs)}. ` +
                    `They may still finish: run 'pulumi refresh', then 'pulumi up' again.`,
            );
        }
        if (Date.now() - lastReport >= 15_000) {
            lastReport = Date.now();
            options.onProgress?.(
                `waiting for Neon: ${pending.map((op) => `${op.action} ${op.status}`).join(", ")} (${formatDelay(elapsed)})`,
            );
        }
        await sleep(pollMs);
        pollMs = Math.min(maxPollMs, Math.round(pollMs * 1.5));
        for (const op of pending) {
            const { data } = await api.getProjectOperation(projectId, op.id);
            latest.set(op.id, data.operation);
        }
    }
}

/**
 * Waits for operations already running on a branch or endpoint (for example
 * those of a create whose response was lost, before adopting what it made).
 */
export async function waitForRunningOperations(
    api: Api,
    projectId: string,
    on: { branchId?: string; endpointId?: string },
    options: WaitOptions = {},
): Promise<void> {
    const { data } = await api.listProjectOperations({ projectId, limit: 50 });
    const running = (data.operations ?? []).filter(
        (op: Operation) =>
            !DONE.includes(op.status) &&
            !FAILED.includes(op.status) &&
            ((on.branchId !== undefined && op.branch_id === on.branchId) ||
                (on.endpointId !== undefined && op.endpoint_id === on.endpointId)),
    );
    if (running.length) await waitForOperations(api, projectId, running, options);
}
