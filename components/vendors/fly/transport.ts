/**
 * One Fly Machines API request with the vendor retry policy: 429 waited out
 * (honouring Retry-After), 409 on a leased machine retried for the lease
 * conflict budget, 5xx and network errors retried a bounded number of times
 * unless a POST may have been processed and is not idempotent.
 */
import { classifyHttpError, decide, DEFAULT_RETRY_POLICY, Failure, nextState, RetryPolicy, RetryState, sleep } from "../retry";
import { parseBody } from "../http";
import { DEFAULT_FLY_API_URL } from "./credentials";
import { HttpFailure, networkCode, toFlyApiError } from "./errors";

export const LEASE_NONCE_HEADER = "fly-machine-lease-nonce";

/** Paths of one machine (and its lease, start, stop...): where a 409 means a lease conflict. */
const LEASED_PATH = /^\/apps\/[^/]+\/machines\/[^/?]+/;

export interface FlyClientOptions {
    token: string;
    /** Default https://api.machines.dev/v1. */
    baseUrl?: string;
    policy?: Partial<RetryPolicy>;
    /** How long 409 lease conflicts are retried before they are thrown (ms); default 60 s. */
    leaseConflictBudgetMs?: number;
    /** Per-request timeout (ms); default 60 s (Machines_wait gets its own timeout plus 15 s). */
    timeoutMs?: number;
    /** `Fly API POST /apps/a/machines/m: retrying in 2s (429 Too Many Requests)` */
    onProgress?: (message: string) => void;
}

export interface RequestOptions {
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
    /** The lease nonce, sent as fly-machine-lease-nonce. */
    nonce?: string;
    /** A POST that is safe to repeat after it may have been processed. */
    idempotent?: boolean;
    timeoutMs?: number;
}

export interface FlyResponse<T> {
    status: number;
    data: T;
}

/** Appends the query string (undefined values left out) to a path. */
function withQuery(path: string, query: RequestOptions["query"]): string {
    const parts = Object.entries(query ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    return parts.length ? `${path}?${parts.join("&")}` : path;
}

/** A path segment, URI-encoded. */
export function seg(s: string): string {
    return encodeURIComponent(s);
}

export function machinePath(app: string, id: string): string {
    return `/apps/${seg(app)}/machines/${seg(id)}`;
}

/** Requests below the base URL (`/apps/a/machines`), with the token; the typed calls are in FlyClient. */
export class FlyTransport {
    readonly baseUrl: string;
    /** Private to the class (and left out of util.inspect): the token never reaches a message or a log. */
    readonly #token: string;
    readonly #policy: RetryPolicy;
    readonly #leaseBudgetMs: number;
    readonly #defaultTimeoutMs: number;
    protected readonly onProgress?: (message: string) => void;

    constructor(options: FlyClientOptions) {
        this.#token = options.token;
        this.onProgress = options.onProgress;
        this.baseUrl = (options.baseUrl ?? DEFAULT_FLY_API_URL).replace(/\/+$/, "");
        this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
        this.#leaseBudgetMs = options.leaseConflictBudgetMs ?? 60_000;
        this.#defaultTimeoutMs = options.timeoutMs ?? 60_000;
    }

    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<FlyResponse<T>> {
        method = method.toUpperCase();
        const info = { method, path };
        const idempotent = method !== "POST" || opts.idempotent === true;
        let state: RetryState = { attempt: 1, startedMs: Date.now(), serverRetries: 0 };
        for (;;) {
            let err: unknown;
            try {
                return await this.once<T>(method, path, opts);
            } catch (e) {
                err = e;
            }
            const now = Date.now();
            let failure: Failure | undefined;
            const status = (err as Partial<HttpFailure>)?.status;
            if (typeof status === "number") {
                failure = classifyHttpError(err, now);
                // A lease held by someone else (or a mutation racing one) on an existing machine: waited out
                // like 423, within its own budget. Other 409s (a name taken) are the caller's to handle.
                if (status === 409 && LEASED_PATH.test(path)) {
                    failure = { kind: "locked", status, mayHaveBeenProcessed: false, label: "409 Conflict" };
                }
            } else {
                const { code, message } = networkCode(err);
                failure = classifyHttpError({ code, message }, now);
                if (!failure && (err as { name?: unknown })?.name === "TypeError") {
                    // fetch failed without a code we know: treat as a lost connection.
                    failure = { kind: "network", code, mayHaveBeenProcessed: true, label: code ?? message };
                }
            }
            if (!failure) throw toFlyApiError(err, info, this.#token, { idempotent });
            const decision = decide(
                failure,
                state,
                failure.status === 409 && failure.kind === "locked" ? { ...this.#policy, budgetMs: this.#leaseBudgetMs } : this.#policy,
                { idempotent, nowMs: now, random: Math.random() },
            );
            if (!decision.retry)
                throw toFlyApiError(err, info, this.#token, {
                    idempotent,
                    reason: failure.kind === "client" ? undefined : `gave up: ${decision.reason}`,
                });
            this.onProgress?.(`Fly API ${method} ${path}: ${decision.message}`);
            await sleep(decision.delayMs);
            state = nextState(state, failure);
        }
    }

    /** A request's answer body. */
    protected async data<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
        return (await this.request<T>(method, path, opts)).data;
    }

    private async once<T>(method: string, path: string, opts: RequestOptions): Promise<FlyResponse<T>> {
        const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: "application/json" };
        if (opts.body !== undefined) headers["content-type"] = "application/json";
        if (opts.nonce) headers[LEASE_NONCE_HEADER] = opts.nonce;
        const res = await fetch(this.baseUrl + withQuery(path, opts.query), {
            method,
            headers,
            body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
            signal: AbortSignal.timeout(opts.timeoutMs ?? this.#defaultTimeoutMs),
        });
        const data = parseBody(await res.text());
        if (res.status >= 400) {
            const h: Record<string, string> = {};
            res.headers.forEach((v, k) => (h[k] = v));
            const failure: HttpFailure = {
                status: res.status,
                response: { status: res.status, headers: h, data },
                request: { method, path },
            };
            throw failure;
        }
        return { status: res.status, data: data as T };
    }
}
