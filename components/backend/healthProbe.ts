/**
 * The health gate's probing loop: GET a URL until it answers 2xx or the time
 * runs out. Plain functions with no Pulumi import, so tests can drive them
 * directly (with an injected clock and sleep when the wall clock does not
 * matter).
 *
 * Nothing here throws for an unhealthy service: the result says what the last
 * attempt saw, and the caller decides what that means. Messages never contain
 * the URL's query string or userinfo (see redactUrl).
 */

export interface ProbeOptions {
    /** Absolute http(s) URL. Userinfo, if any, is sent as basic auth (fetch refuses it in the URL). */
    url: string;
    /** Total time to wait for a 2xx, in seconds. */
    timeoutSeconds: number;
    /** Pause between attempts, in seconds (at least 0.05 is used). */
    intervalSeconds: number;
    /** Stop after this many attempts even if time remains (read() probes once). */
    maxAttempts?: number;
    /** One line per failed attempt, without a prefix: `https://… answered 503 (attempt 3, 12s of 120s); retrying in 5s`. */
    onProgress?: (message: string) => void;
    /** Defaults to a setTimeout promise. */
    sleep?: (ms: number) => Promise<void>;
    /** Defaults to Date.now. */
    now?: () => number;
    /** Defaults to the global fetch. */
    fetch?: typeof fetch;
}

/** What one GET saw: a status (with a body snippet), or a network error. */
export interface ProbeAttempt {
    /** HTTP status, or 0 when there was no answer. */
    status: number;
    statusText: string;
    /** At most 200 characters of the body, whitespace collapsed (non-2xx answers only). */
    body: string;
    /** Why there was no answer: `connection refused (ECONNREFUSED)`, `no answer within 10s (timeout)`, ... */
    error?: string;
    latencyMs: number;
}

export interface ProbeResult {
    ok: boolean;
    attempts: number;
    elapsedMs: number;
    /** The last attempt (the successful one when ok). */
    last: ProbeAttempt;
}

/** Per-attempt timeout ceiling. */
export const MAX_ATTEMPT_MS = 10_000;
/** A final attempt right at the deadline still gets this long (or the whole timeout if shorter). */
export const MIN_ATTEMPT_MS = 1_000;
/** The most of a body shown in messages. */
export const SNIPPET_CHARS = 200;

/** The URL without userinfo, query or fragment, for messages. Never throws. */
export function redactUrl(url: string): string {
    try {
        const u = new URL(url);
        return `${u.origin === "null" ? `${u.protocol}//${u.host}` : u.origin}${u.pathname}`;
    } catch {
        return String(url)
            .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, "$1")
            .replace(/[?#].*$/s, "");
    }
}

/** `12s`, `1.5s`, `0.25s`. */
export function formatSeconds(ms: number): string {
    const s = Math.max(0, ms) / 1000;
    return `${s < 1 ? Number(s.toFixed(2)) : s < 10 ? Number(s.toFixed(1)) : Math.round(s)}s`;
}

/** Whitespace collapsed, cut to SNIPPET_CHARS with an ellipsis. */
export function bodySnippet(text: string): string {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS - 1)}…` : flat;
}

/** A fetch failure in words, naming the code: refused, DNS, timeout, reset, TLS. */
export function describeFetchError(err: unknown, timeoutMs: number): string {
    const e = err as
        { name?: unknown; code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown; name?: unknown } } | undefined;
    if (e?.name === "TimeoutError" || e?.name === "AbortError" || e?.cause?.name === "TimeoutError") {
        return `no answer within ${formatSeconds(timeoutMs)} (timeout)`;
    }
    const code = typeof e?.cause?.code === "string" ? e.cause.code : typeof e?.code === "string" ? e.code : undefined;
    const detail = typeof e?.cause?.message === "string" ? e.cause.message : typeof e?.message === "string" ? e.message : String(err);
    switch (code) {
        case "ECONNREFUSED":
            return `connection refused (ECONNREFUSED)`;
        case "ENOTFOUND":
        case "EAI_AGAIN":
        case "EAI_NONAME":
            return `DNS lookup failed (${code})`;
        case "ECONNRESET":
        case "UND_ERR_SOCKET":
            return `connection reset (${code})`;
        case "ETIMEDOUT":
        case "UND_ERR_CONNECT_TIMEOUT":
        case "UND_ERR_HEADERS_TIMEOUT":
            return `no answer within ${formatSeconds(timeoutMs)} (timeout, ${code})`;
        default:
            return code && !detail.includes(code) ? `${detail} (${code})` : detail;
    }
}

/** Reads at most a few KB of the body (a streaming endpoint must not hold the attempt). */
async function readSnippet(res: Response): Promise<string> {
    const stream = res.body;
    if (!stream) return "";
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
        while (size < 4096) {
            const { done, value } = await reader.read();
            if (done) break;
            chunks.push(value);
            size += value.length;
        }
    } catch {
        // Keep what arrived before the error or the attempt's timeout.
    } finally {
        reader.cancel().catch(() => undefined);
    }
    return bodySnippet(Buffer.concat(chunks).toString("utf8"));
}

/** One GET with its own timeout. Never throws. */
export async function probeOnce(
    url: string,
    timeoutMs: number,
    options: { fetch?: typeof fetch; now?: () => number } = {},
): Promise<ProbeAttempt> {
    const now = options.now ?? Date.now;
    const doFetch = options.fetch ?? fetch;
    const headers: Record<string, string> = { accept: "*/*", "user-agent": "keel-health-gate", "cache-control": "no-cache" };
    let target = url;
    try {
        const u = new URL(url);
        if (u.username || u.password) {
            const user = decodeURIComponent(u.username);
            const password = decodeURIComponent(u.password);
            headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
            u.username = "";
            u.password = "";
            target = u.toString();
        }
    } catch {
        // fetch reports the invalid URL below.
    }
    const started = now();
    let res: Response;
    try {
        res = await doFetch(target, {
            method: "GET",
            headers,
            redirect: "follow",
            signal: AbortSignal.timeout(Math.max(1, Math.round(timeoutMs))),
        });
    } catch (err) {
        return { status: 0, statusText: "", body: "", error: describeFetchError(err, timeoutMs), latencyMs: now() - started };
    }
    const latencyMs = now() - started;
    if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel().catch(() => undefined);
        return { status: res.status, statusText: res.statusText, body: "", latencyMs };
    }
    return { status: res.status, statusText: res.statusText, body: await readSnippet(res), latencyMs };
}

/** `503 Service Unavailable: "body…"` or the network error. */
export function describeAttempt(a: ProbeAttempt): string {
    if (a.status === 0) return a.error ?? "no answer";
    const head = `${a.status}${a.statusText ? ` ${a.statusText}` : ""}`;
    return a.body ? `${head}: "${a.body}"` : head;
}

/**
 * GETs opts.url until a 2xx, at most timeoutSeconds in all, pausing
 * intervalSeconds between attempts. Each attempt waits at most
 * min(10s, the time remaining) for an answer (but at least 1 s, so a last
 * attempt at the deadline is a real one).
 */
export async function probeHealth(opts: ProbeOptions): Promise<ProbeResult> {
    const now = opts.now ?? Date.now;
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const totalMs = Math.max(0, opts.timeoutSeconds) * 1000;
    const intervalMs = Math.max(50, opts.intervalSeconds * 1000);
    const maxAttempts = opts.maxAttempts ?? Infinity;
    const shown = redactUrl(opts.url);
    const started = now();
    const deadline = started + totalMs;
    let attempts = 0;
    while (true) {
        attempts++;
        const remaining = deadline - now();
        const attemptMs = Math.min(MAX_ATTEMPT_MS, Math.max(remaining, Math.min(MIN_ATTEMPT_MS, totalMs || MIN_ATTEMPT_MS)));
        const last = await probeOnce(opts.url, attemptMs, { fetch: opts.fetch, now });
        const elapsedMs = now() - started;
        if (last.status >= 200 && last.status < 300) return { ok: true, attempts, elapsedMs, last };
        const left = deadline - now();
        if (left <= 0 || attempts >= maxAttempts) return { ok: false, attempts, elapsedMs, last };
        const waitMs = Math.min(intervalMs, left);
        const what = last.status === 0 ? `did not answer: ${last.error ?? "no answer"}` : `answered ${last.status}`;
        opts.onProgress?.(
            `${shown} ${what} (attempt ${attempts}, ${formatSeconds(elapsedMs)} of ${formatSeconds(totalMs)}); retrying in ${formatSeconds(waitMs)}`,
        );
        await sleep(waitMs);
    }
}
