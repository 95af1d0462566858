/**
 * The vendor retry policy as pure logic: a virtual clock, fixed randomness and
 * errors shaped like axios's. No HTTP here (test/vendors/neon.test.ts has it).
 */
import { strict as assert } from "assert";
import {
    backoffDelay,
    classifyHttpError,
    decide,
    DEFAULT_RETRY_POLICY,
    Failure,
    formatDelay,
    parseRetryAfter,
    RetryInfo,
    withRetry,
    WithRetryOptions,
} from "../../components/vendors/retry";

const NOW = Date.parse("2025-01-01T00:00:00Z");

function httpError(status: number, headers: Record<string, string> = {}): Error {
    return Object.assign(new Error(`Request failed with status code ${status}`), { response: { status, headers, data: { message: "x" } } });
}

function netError(code: string, message = code): Error {
    return Object.assign(new Error(message), { code });
}

/** A virtual clock: sleep() advances it instead of waiting. */
function clock(): {
    options: Required<Pick<WithRetryOptions, "now" | "sleep" | "random">>;
    slept: number[];
    retries: RetryInfo[];
    gaveUp: string[];
} {
    let t = NOW;
    const slept: number[] = [];
    return {
        options: {
            now: () => t,
            sleep: async (ms) => {
                slept.push(ms);
                t += ms;
            },
            random: () => 1,
        },
        slept,
        retries: [],
        gaveUp: [],
    };
}

/** fn that throws the given errors in turn, then returns "ok". */
function failing(...errors: Error[]): { fn: () => Promise<string>; calls: () => number } {
    let n = 0;
    return {
        fn: async () => {
            const e = errors[n++];
            if (e) throw e;
            return "ok";
        },
        calls: () => n,
    };
}

describe("vendor retry policy", () => {
    describe("parseRetryAfter", () => {
        it("reads delta-seconds, fractions and HTTP dates, and ignores what it cannot read", () => {
            assert.equal(parseRetryAfter("3", NOW), 3000);
            assert.equal(parseRetryAfter(" 0 ", NOW), 0);
            assert.equal(parseRetryAfter("1.5", NOW), 1500);
            assert.equal(parseRetryAfter(2, NOW), 2000);
            assert.equal(parseRetryAfter(["4"], NOW), 4000);
            assert.equal(parseRetryAfter(new Date(NOW + 7000).toUTCString(), NOW), 7000);
            assert.equal(parseRetryAfter(new Date(NOW - 7000).toUTCString(), NOW), 0, "a date in the past means now");
            assert.equal(parseRetryAfter("soon", NOW), undefined);
            assert.equal(parseRetryAfter(undefined, NOW), undefined);
            assert.equal(parseRetryAfter("", NOW), undefined);
        });
    });

    describe("classifyHttpError", () => {
        it("tells rate limits and locks (never processed) from server errors (maybe processed, except 503)", () => {
            const r429 = classifyHttpError(httpError(429, { "Retry-After": "2" }), NOW)!;
            assert.deepEqual(
                [r429.kind, r429.retryAfterMs, r429.mayHaveBeenProcessed, r429.label],
                ["rate-limited", 2000, false, "429 Too Many Requests"],
            );
            const r423 = classifyHttpError(httpError(423), NOW)!;
            assert.deepEqual([r423.kind, r423.retryAfterMs, r423.mayHaveBeenProcessed], ["locked", undefined, false]);
            assert.deepEqual(
                [classifyHttpError(httpError(500), NOW)!.kind, classifyHttpError(httpError(500), NOW)!.mayHaveBeenProcessed],
                ["server", true],
            );
            assert.equal(classifyHttpError(httpError(502), NOW)!.mayHaveBeenProcessed, true);
            assert.equal(classifyHttpError(httpError(503), NOW)!.mayHaveBeenProcessed, false);
            for (const s of [400, 401, 403, 404, 409, 412, 422])
                assert.equal(classifyHttpError(httpError(s), NOW)!.kind, "client", String(s));
        });

        it("reads Retry-After from header objects with get() (axios's AxiosHeaders)", () => {
            const headers = { get: (n: string) => (n === "retry-after" ? "5" : undefined) };
            const err = Object.assign(new Error("x"), { response: { status: 429, headers } });
            assert.equal(classifyHttpError(err, NOW)!.retryAfterMs, 5000);
        });

        it("tells network errors before sending (safe) from lost responses (maybe processed)", () => {
            for (const code of ["ECONNRESET", "ETIMEDOUT", "ECONNABORTED", "EPIPE"]) {
                const f = classifyHttpError(netError(code), NOW)!;
                assert.deepEqual([f.kind, f.mayHaveBeenProcessed], ["network", true], code);
            }
            const hangUp = classifyHttpError(new Error("socket hang up"), NOW)!;
            assert.deepEqual([hangUp.kind, hangUp.mayHaveBeenProcessed, hangUp.label], ["network", true, "socket hang up"]);
            for (const code of ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]) {
                const f = classifyHttpError(netError(code), NOW)!;
                assert.deepEqual([f.kind, f.mayHaveBeenProcessed], ["network", false], code);
            }
        });

        it("leaves errors that are not about HTTP alone (bugs are never retried)", () => {
            assert.equal(classifyHttpError(new TypeError("x is undefined"), NOW), undefined);
            assert.equal(classifyHttpError("boom", NOW), undefined);
            assert.equal(classifyHttpError(undefined, NOW), undefined);
        });
    });

    describe("backoff", () => {
        it("doubles from the base, jitters between half and all of it, and stops at the cap", () => {
            const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
            assert.deepEqual(
                [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p, 1)),
                [100, 200, 400, 800, 1000, 1000],
            );
            assert.deepEqual(
                [1, 2, 3].map((a) => backoffDelay(a, p, 0)),
                [50, 100, 200],
            );
            for (let i = 0; i < 50; i++) {
                const d = backoffDelay(3, p, Math.random());
                assert.ok(d >= 200 && d <= 400, String(d));
            }
        });

        it("formats delays for progress lines", () => {
            assert.equal(formatDelay(0), "0s");
            assert.equal(formatDelay(250), "250ms");
            assert.equal(formatDelay(1250), "1.3s");
            assert.equal(formatDelay(2000), "2s");
            assert.equal(formatDelay(61_400), "61s");
        });
    });

    describe("decide", () => {
        const state = { attempt: 1, startedMs: NOW, serverRetries: 0 };
        const opts = { idempotent: true, nowMs: NOW, random: 1 };
        const f = (kind: Failure["kind"], extra: Partial<Failure> = {}): Failure => ({
            kind,
            mayHaveBeenProcessed: false,
            label: kind,
            ...extra,
        });

        it("honours Retry-After over the backoff", () => {
            const d = decide(f("rate-limited", { retryAfterMs: 7000, label: "429 Too Many Requests" }), state, DEFAULT_RETRY_POLICY, opts);
            assert.deepEqual(d, { retry: true, delayMs: 7000, message: "retrying in 7s (429 Too Many Requests)" });
        });

        it("gives up on 429/423 when waiting would pass the budget, and says so", () => {
            const policy = { ...DEFAULT_RETRY_POLICY, budgetMs: 10_000 };
            const d = decide(f("locked", { retryAfterMs: 4000, label: "423 Locked" }), { ...state, attempt: 3 }, policy, {
                ...opts,
                nowMs: NOW + 8000,
            });
            assert.equal(d.retry, false);
            assert.match(
                (d as { reason: string }).reason,
                /still 423 Locked after 8s and 3 attempt\(s\); waiting 4s more would pass the retry budget of 10s/,
            );
        });

        it("never repeats a non-idempotent request that may have been processed, but does repeat one that was not", () => {
            const lost = decide(f("network", { mayHaveBeenProcessed: true, label: "ECONNRESET" }), state, DEFAULT_RETRY_POLICY, {
                ...opts,
                idempotent: false,
            });
            assert.equal(lost.retry, false);
            assert.match(
                (lost as { reason: string }).reason,
                /ECONNRESET after the request may have been processed; not repeating a non-idempotent request/,
            );
            assert.equal(
                decide(f("network", { label: "ECONNREFUSED" }), state, DEFAULT_RETRY_POLICY, { ...opts, idempotent: false }).retry,
                true,
            );
            assert.equal(decide(f("server", { status: 503 }), state, DEFAULT_RETRY_POLICY, { ...opts, idempotent: false }).retry, true);
            assert.equal(decide(f("rate-limited"), state, DEFAULT_RETRY_POLICY, { ...opts, idempotent: false }).retry, true);
        });

        it("bounds retries after server errors", () => {
            const policy = { ...DEFAULT_RETRY_POLICY, maxServerRetries: 2 };
            assert.equal(decide(f("server"), { ...state, serverRetries: 1 }, policy, opts).retry, true);
            const d = decide(f("server", { label: "500 Internal Server Error" }), { ...state, serverRetries: 2 }, policy, opts);
            assert.deepEqual(d, { retry: false, reason: "500 Internal Server Error after 2 retries" });
        });

        it("never retries other 4xx", () => {
            assert.deepEqual(decide(f("client", { label: "404" }), state, DEFAULT_RETRY_POLICY, opts), {
                retry: false,
                reason: "404 is not retried",
            });
        });
    });

    describe("withRetry", () => {
        it("waits out 429s as Retry-After asks and reports each retry", async () => {
            const c = clock();
            const f = failing(httpError(429, { "retry-after": "2" }), httpError(429, { "retry-after": "3" }));
            const result = await withRetry(f.fn, { ...c.options, onRetry: (i) => c.retries.push(i) });
            assert.equal(result, "ok");
            assert.equal(f.calls(), 3);
            assert.deepEqual(c.slept, [2000, 3000]);
            assert.deepEqual(
                c.retries.map((r) => [r.attempt, r.message]),
                [
                    [1, "retrying in 2s (429 Too Many Requests)"],
                    [2, "retrying in 3s (429 Too Many Requests)"],
                ],
            );
        });

        it("backs off exponentially on 423 without Retry-After", async () => {
            const c = clock();
            const f = failing(httpError(423), httpError(423), httpError(423));
            assert.equal(await withRetry(f.fn, { ...c.options, policy: { baseDelayMs: 100 } }), "ok");
            assert.deepEqual(c.slept, [100, 200, 400]);
        });

        it("gives up on 429 past the total budget and rethrows the last error unchanged", async () => {
            const c = clock();
            const last = httpError(429, { "retry-after": "60" });
            const f = failing(httpError(429, { "retry-after": "60" }), last, httpError(429));
            await assert.rejects(
                withRetry(f.fn, { ...c.options, policy: { budgetMs: 100_000 }, onGiveUp: (r) => c.gaveUp.push(r) }),
                (e) => e === last,
            );
            assert.equal(f.calls(), 2);
            assert.deepEqual(c.slept, [60_000]);
            assert.match(
                c.gaveUp[0],
                /still 429 Too Many Requests after 60s and 2 attempt\(s\); waiting 60s more would pass the retry budget of 100s/,
            );
        });

        it("retries 5xx and network errors a bounded number of times", async () => {
            const c = clock();
            const f = failing(httpError(500), netError("ECONNRESET", "socket hang up"), httpError(502), httpError(500), httpError(500));
            await assert.rejects(withRetry(f.fn, { ...c.options, policy: { maxServerRetries: 3, baseDelayMs: 10 } }), /status code 500/);
            assert.equal(f.calls(), 4, "the first try and three retries");
            assert.deepEqual(c.slept, [10, 20, 40]);

            const ok = failing(httpError(503), netError("ETIMEDOUT"));
            assert.equal(await withRetry(ok.fn, { ...clock().options }), "ok");
        });

        it("does not repeat a non-idempotent request whose response was lost", async () => {
            const c = clock();
            const f = failing(netError("ECONNRESET", "socket hang up"));
            await assert.rejects(withRetry(f.fn, { ...c.options, idempotent: false }), /socket hang up/);
            assert.equal(f.calls(), 1);
            const g = failing(httpError(500));
            await assert.rejects(withRetry(g.fn, { ...c.options, idempotent: false }), /500/);
            assert.equal(g.calls(), 1);
            const h = failing(netError("ECONNREFUSED"), httpError(429, { "retry-after": "0" }), httpError(503));
            assert.equal(
                await withRetry(h.fn, { ...c.options, idempotent: false }),
                "ok",
                "refused connections, 429 and 503 were never processed",
            );
        });

        it("never retries other 4xx or errors that are not about HTTP", async () => {
            for (const err of [httpError(400), httpError(404), httpError(409), new TypeError("bug")]) {
                const c = clock();
                const f = failing(err);
                await assert.rejects(withRetry(f.fn, { ...c.options, onGiveUp: (r) => c.gaveUp.push(r) }), (e) => e === err);
                assert.equal(f.calls(), 1);
                assert.deepEqual(c.slept, []);
                assert.deepEqual(c.gaveUp, [], "a 4xx is not a retry given up on");
            }
        });
    });
});
