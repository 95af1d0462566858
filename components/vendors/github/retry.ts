/**
 * Retrying GitHub REST requests as GitHub asks: 5xx and network failures
 * with backoff; 429 and 403 rate limits (primary: x-ratelimit-remaining 0,
 * wait until x-ratelimit-reset; secondary: wait Retry-After, else at least a
 * minute) honouring what GitHub says to wait. Unlike the time budget of the
 * shared policy (../retry.ts), attempts are counted, so a test's sleep that
 * takes no time still ends, and one wait longer than maxDelayMs (a primary
 * limit resetting in half an hour) gives up at once instead of holding the
 * deploy job. The sleep, clock and jitter are injectable.
 */
import { backoffDelay, DEFAULT_RETRY_POLICY, formatDelay, parseRetryAfter, sleep as realSleep } from "../retry";
import { type FailureContext, GithubApiError, toGithubApiError } from "./errors";

export interface GithubRetryOptions {
    /** Attempts in all, the first included; default 5. */
    maxAttempts?: number;
    /** First backoff (ms), doubled per retry, with jitter; default 1000. */
    baseDelayMs?: number;
    /** The longest wait before one retry (ms): when GitHub asks for more, Keel gives up at once; default 90 s. */
    maxDelayMs?: number;
    sleep?: (ms: number) => Promise<void>;
    /** For x-ratelimit-reset (epoch seconds); default Date.now. */
    now?: () => number;
    /** In [0, 1), for jitter; default Math.random. */
    random?: () => number;
    /** `retrying in 2s (500)`, once per retry. */
    onRetry?: (message: string) => void;
}

/** GitHub's advice for a secondary rate limit without Retry-After: wait at least a minute. */
const SECONDARY_WAIT_MS = 60_000;

export type GithubFailureKind = "server" | "network" | "rate-limited" | "client";

export interface GithubFailure {
    kind: GithubFailureKind;
    status?: number;
    /** What GitHub asked to wait (Retry-After, or until x-ratelimit-reset), ms. */
    askedMs?: number;
    /** The wait when GitHub asked none (a secondary limit's minute); the backoff otherwise. */
    minimumMs?: number;
    label: string;
}

function headerOf(err: unknown, name: string): string | undefined {
    const headers = (err as { response?: { headers?: Record<string, unknown> } })?.response?.headers ?? {};
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    const v = key === undefined ? undefined : headers[key];
    return v === undefined || v === null ? undefined : String(v);
}

/** How an octokit error should be treated; a value that is no HTTP failure at all (a bug) is "client": not retried. */
export function classifyGithubError(err: unknown, nowMs: number): GithubFailure {
    const e = err as { status?: unknown; response?: { status?: number; data?: unknown }; message?: unknown };
    // octokit wraps network failures as status 500 without a response.
    if (!e?.response)
        return typeof e?.status === "number"
            ? { kind: "network", label: String(e.message ?? "network error") }
            : { kind: "client", label: String(err) };
    const status = e.response.status ?? (e.status as number);
    const retryAfterMs = parseRetryAfter(headerOf(err, "retry-after"), nowMs);
    const remaining = headerOf(err, "x-ratelimit-remaining");
    const reset = Number(headerOf(err, "x-ratelimit-reset"));
    const text = String((e.response.data as { message?: unknown })?.message ?? "");
    if (status === 429 || status === 403) {
        if (retryAfterMs !== undefined) return { kind: "rate-limited", status, askedMs: retryAfterMs, label: `${status} rate limited` };
        if (remaining === "0" && Number.isFinite(reset))
            return { kind: "rate-limited", status, askedMs: Math.max(0, reset * 1000 - nowMs), label: `${status} rate limit spent` };
        if (/secondary rate limit|abuse/i.test(text) || status === 429)
            return { kind: "rate-limited", status, minimumMs: SECONDARY_WAIT_MS, label: `${status} secondary rate limit` };
        return { kind: "client", status, label: String(status) };
    }
    if (status >= 500) return { kind: "server", status, askedMs: retryAfterMs, label: String(status) };
    return { kind: "client", status, label: String(status) };
}

/**
 * Runs fn until it succeeds, retrying what classifyGithubError says may be
 * retried, up to maxAttempts; the last failure is thrown as a GithubApiError
 * (ctx says what was being done). fn must be safe to run again: callers look
 * for what a lost create made before creating again.
 */
export async function withGithubRetry<T>(
    ctx: FailureContext,
    fn: (attempt: number) => Promise<T>,
    options: GithubRetryOptions = {},
): Promise<T> {
    const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: options.baseDelayMs ?? 1000, maxDelayMs: options.maxDelayMs ?? 90_000 };
    const now = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    const wait = options.sleep ?? realSleep;
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn(attempt);
        } catch (err) {
            if (err instanceof GithubApiError) throw err;
            const failure = classifyGithubError(err, now());
            const rateLimited = failure.kind === "rate-limited";
            // Not an HTTP failure at all (a bug): thrown as it is.
            if (failure.kind === "client") throw failure.status === undefined ? err : toGithubApiError(err, ctx);
            const backoff = backoffDelay(attempt, policy, random());
            const delayMs = failure.askedMs ?? Math.max(backoff, failure.minimumMs ?? 0);
            if (attempt >= maxAttempts)
                throw toGithubApiError(
                    err,
                    { ...ctx, gaveUp: `still failing after ${attempt} attempt${attempt === 1 ? "" : "s"}` },
                    { rateLimited },
                );
            if (delayMs > policy.maxDelayMs)
                throw toGithubApiError(
                    err,
                    {
                        ...ctx,
                        gaveUp: `GitHub asks to wait ${formatDelay(delayMs)}, more than the ${formatDelay(policy.maxDelayMs)} Keel waits`,
                    },
                    { rateLimited },
                );
            options.onRetry?.(`retrying in ${formatDelay(delayMs)} (${failure.label})`);
            await wait(delayMs);
        }
    }
}
