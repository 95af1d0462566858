/**
 * Retry policy for vendor HTTP APIs (Neon now; Fly and Render later).
 *
 * - 429 (rate limited) and 423 (locked: another operation is running) were
 *   refused, not processed: they are retried with exponential backoff and
 *   jitter, honouring `Retry-After`, for as long as a total time budget allows.
 * - 5xx and network errors are retried a bounded number of times, but only
 *   where repeating the request cannot do the work twice: a POST that may have
 *   reached the server (connection reset after sending, 500, 502, 504) is not
 *   repeated here; the caller looks for what it tried to create instead. 503
 *   and refused connections are safe for every method.
 * - Other 4xx are the caller's mistake and are never retried.
 *
 * Pure logic: time, randomness and sleeping are injectable, so the policy is
 * tested without HTTP. Nothing here keeps state between calls.
 */

export interface RetryPolicy {
    /** How long 429 and 423 may be waited out in total, from the first attempt (ms). */
    budgetMs: number;
    /** First backoff delay (ms); doubles per attempt. */
    baseDelayMs: number;
    /** Largest backoff delay (ms); a longer `Retry-After` is still honoured within the budget. */
    maxDelayMs: number;
    /** Retries after 5xx or network errors before giving up. */
    maxServerRetries: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
    budgetMs: 5 * 60_000,
    baseDelayMs: 250,
    maxDelayMs: 20_000,
    maxServerRetries: 4,
};

export type FailureKind = "rate-limited" | "locked" | "server" | "network" | "client";

export interface Failure {
    kind: FailureKind;
    /** HTTP status, when there was a response. */
    status?: number;
    /** Network error code (ECONNRESET, ETIMEDOUT, ...), when there was none. */
    code?: string;
    /** What the server asked us to wait (`Retry-After`), in ms. */
    retryAfterMs?: number;
    /** True when the server may have processed the request (so repeating it could do the work twice). */
    mayHaveBeenProcessed: boolean;
    /** Short label for messages: `429 Too Many Requests`, `ECONNRESET`. */
    label: string;
}

export interface RetryState {
    /** Attempts made so far (1 after the first failure). */
    attempt: number;
    /** When the first attempt started (ms since epoch). */
    startedMs: number;
    /** Retries spent on 5xx and network errors. */
    serverRetries: number;
}

export type Decision = { retry: true; delayMs: number; message: string } | { retry: false; reason: string };

export interface DecideOptions {
    /** Whether the request can be repeated safely after it may have been processed (GET, PUT, DELETE...). */
    idempotent: boolean;
    nowMs: number;
    /** A number in [0, 1), for jitter. */
    random: number;
}

const STATUS_TEXT: Record<number, string> = {
    423: "Locked",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
};

/** Network errors raised before anything was sent: safe to repeat for any method. */
const NOT_SENT_CODES = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"];
/** Network errors that may come after the server got the request. */
const LOST_CODES = [
    "ECONNRESET",
    "ETIMEDOUT",
    "ECONNABORTED",
    "EPIPE",
    "ERR_SOCKET_CONNECTION_TIMEOUT",
    "UND_ERR_SOCKET",
    "ESOCKETTIMEDOUT",
];

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
    if (Array.isArray(value)) value = value[0];
    if (typeof value === "number") return value >= 0 ? value * 1000 : undefined;
    if (typeof value !== "string" || !value.trim()) return undefined;
    const v = value.trim();
    if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
    const date = Date.parse(v);
    if (Number.isNaN(date)) return undefined;
    return Math.max(0, date - nowMs);
}

function header(headers: unknown, name: string): unknown {
    if (!headers || typeof headers !== "object") return undefined;
    const h = headers as Record<string, unknown> & { get?: (n: string) => unknown };
    if (typeof h.get === "function") {
        const v = h.get(name);
        if (v !== undefined && v !== null) return v;
    }
    const key = Object.keys(h).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : h[key];
}

/**
 * Classifies an error thrown by an HTTP client (axios, fetch wrappers, node's
 * http): duck-typed on `response.status`/`status`, `response.headers` and `code`.
 * Returns undefined for errors that are not about HTTP at all (bugs), which are
 * never retried.
 */
export function classifyHttpError(err: unknown, nowMs: number): Failure | undefined {
    if (!err || typeof err !== "object") return undefined;
    const e = err as {
        response?: { status?: number; headers?: unknown };
        status?: unknown;
        statusCode?: unknown;
        code?: unknown;
        message?: unknown;
    };
    const status =
        typeof e.response?.status === "number"
            ? e.response.status
            : typeof e.status === "number"
              ? e.status
              : typeof e.statusCode === "number"
                ? e.statusCode
                : undefined;
    if (status !== undefined) {
        const label = `${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ""}`;
        const retryAfterMs = parseRetryAfter(header(e.response?.headers, "retry-after"), nowMs);
        if (status === 429) return { kind: "rate-limited", status, retryAfterMs, mayHaveBeenProcessed: false, label };
        if (status === 423) return { kind: "locked", status, retryAfterMs, mayHaveBeenProcessed: false, label };
        if (status >= 500) return { kind: "server", status, retryAfterMs, mayHaveBeenProcessed: status !== 503, label };
        return { kind: "client", status, mayHaveBeenProcessed: false, label };
    }
    const code = typeof e.code === "string" ? e.code : undefined;
    const message = typeof e.message === "string" ? e.message : "";
    if (code && NOT_SENT_CODES.includes(code)) return { kind: "network", code, mayHaveBeenProcessed: false, label: code };
    if ((code && LOST_CODES.includes(code)) || /socket hang up|timeout|network error|other side closed/i.test(message)) {
        const label = code ?? (/socket hang up/i.test(message) ? "socket hang up" : message);
        return { kind: "network", code, mayHaveBeenProcessed: true, label };
    }
    return undefined;
}

/** Exponential backoff with "equal jitter": between half and all of base * 2^(attempt-1), capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: number): number {
    const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * Math.pow(2, Math.max(0, attempt - 1)));
    return Math.round(exp / 2 + (exp / 2) * random);
}

export function formatDelay(ms: number): string {
    if (ms > 0 && ms < 1000) return `${Math.round(ms)}ms`;
    const s = ms / 1000;
    return `${s < 10 ? Number(s.toFixed(1)) : Math.round(s)}s`;
}

/** Whether to retry after `failure`, and after how long. */
export function decide(failure: Failure, state: RetryState, policy: RetryPolicy, opts: DecideOptions): Decision {
    const elapsed = Math.max(0, opts.nowMs - state.startedMs);
    switch (failure.kind) {
        case "client":
            return { retry: false, reason: `${failure.label} is not retried` };
        case "rate-limited":
        case "locked": {
            const delayMs = failure.retryAfterMs ?? backoffDelay(state.attempt, policy, opts.random);
            if (elapsed + delayMs > policy.budgetMs) {
                return {
                    retry: false,
                    reason: `still ${failure.label} after ${formatDelay(elapsed)} and ${state.attempt} attempt(s); waiting ${formatDelay(delayMs)} more would pass the retry budget of ${formatDelay(policy.budgetMs)}`,
                };
            }
            return { retry: true, delayMs, message: `retrying in ${formatDelay(delayMs)} (${failure.label})` };
        }
        case "server":
        case "network": {
            if (failure.mayHaveBeenProcessed && !opts.idempotent) {
                return {
                    retry: false,
                    reason: `${failure.label} after the request may have been processed; not repeating a non-idempotent request`,
                };
            }
            if (state.serverRetries >= policy.maxServerRetries) {
                return {
                    retry: false,
                    reason: `${failure.label} after ${state.serverRetries} retr${state.serverRetries === 1 ? "y" : "ies"}`,
                };
            }
            const backoff = backoffDelay(state.serverRetries + 1, policy, opts.random);
            const delayMs = Math.max(backoff, failure.retryAfterMs ?? 0);
            if (elapsed + delayMs > policy.budgetMs) {
                return { retry: false, reason: `${failure.label}; the retry budget of ${formatDelay(policy.budgetMs)} is spent` };
            }
            return { retry: true, delayMs, message: `retrying in ${formatDelay(delayMs)} (${failure.label})` };
        }
    }
}

/** The state after deciding to retry `failure`. */
export function nextState(state: RetryState, failure: Failure): RetryState {
    const server = failure.kind === "server" || failure.kind === "network";
    return { ...state, attempt: state.attempt + 1, serverRetries: state.serverRetries + (server ? 1 : 0) };
}

export interface RetryInfo {
    /** The attempt that failed (1 for the first). */
    attempt: number;
    delayMs: number;
    failure: Failure;
    /** `retrying in 2s (429 Too Many Requests)` */
    message: string;
}

export interface WithRetryOptions {
    policy?: Partial<RetryPolicy>;
    /** Default true. False for requests that must not be repeated once they may have been processed. */
    idempotent?: boolean;
    classify?: (err: unknown, nowMs: number) => Failure | undefined;
    onRetry?: (info: RetryInfo) => void;
    /** Called with the reason when a retryable failure is given up on; the error is rethrown as it was. */
    onGiveUp?: (reason: string, failure: Failure) => void;
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    random?: () => number;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs fn until it succeeds or the policy gives up; rethrows the last error unchanged. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: WithRetryOptions = {}): Promise<T> {
    const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
    const now = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    const wait = options.sleep ?? sleep;
    const classify = options.classify ?? classifyHttpError;
    let state: RetryState = { attempt: 1, startedMs: now(), serverRetries: 0 };
    for (;;) {
        try {
            return await fn(state.attempt);
        } catch (err) {
            const failure = classify(err, now());
            if (!failure) throw err;
            const decision = decide(failure, state, policy, { idempotent: options.idempotent ?? true, nowMs: now(), random: random() });
            if (!decision.retry) {
                if (failure.kind !== "client") options.onGiveUp?.(decision.reason, failure);
                throw err;
            }
            options.onRetry?.({ attempt: state.attempt, delayMs: decision.delayMs, failure, message: decision.message });
            await wait(decision.delayMs);
            state = nextState(state, failure);
        }
    }
}
