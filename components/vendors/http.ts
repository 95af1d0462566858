/**
 * One JSON request to a vendor's REST API, as the thin clients (Render, Vercel)
 * send it: bearer token, JSON body, a timeout. A network error or a non-2xx
 * answer is thrown as an AttemptFailure, which the shared retry policy
 * (retry.ts) classifies; the client turns the last one into its own error.
 */
import { formatDelay } from "./retry";

export interface AttemptFailure {
    status?: number;
    response?: { status: number; headers: Headers; data: unknown };
    code?: string;
    message: string;
}

export interface JsonResponse<T> {
    status: number;
    data: T;
}

/** An answer's body: its JSON, else its text (an error page), else undefined when empty. */
export function parseBody(text: string): unknown {
    if (!text) return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

export async function jsonAttempt<T>(
    method: string,
    url: string,
    o: { token: string; body?: unknown; timeoutMs: number },
): Promise<JsonResponse<T>> {
    let res: Response;
    try {
        res = await fetch(url, {
            method,
            headers: {
                authorization: `Bearer ${o.token}`,
                accept: "application/json",
                ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
            },
            body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
            signal: AbortSignal.timeout(o.timeoutMs),
        });
    } catch (err) {
        // undici: TypeError("fetch failed") with the socket error as its cause.
        const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
        const code = e.cause?.code ?? e.code;
        const message =
            e.name === "TimeoutError" ? `timeout after ${formatDelay(o.timeoutMs)}` : (e.cause?.message ?? e.message ?? String(err));
        const failure: AttemptFailure = { code, message };
        throw failure;
    }
    const data = parseBody(await res.text().catch(() => ""));
    if (!res.ok) {
        const failure: AttemptFailure = {
            status: res.status,
            response: { status: res.status, headers: res.headers, data },
            message: `HTTP ${res.status}`,
        };
        throw failure;
    }
    return { status: res.status, data: data as T };
}
