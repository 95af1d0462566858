/** How a Fly Machines API call fails: the errors, and the message that names the request and Fly's text, never the token. */
import { KeelError } from "../../errors";
import { classifyHttpError } from "../retry";

/** A Fly Machines API request that failed (after the retries the policy allows). */
export class FlyApiError extends KeelError {
    constructor(
        message: string,
        readonly status?: number,
        /** True when a mutation may have been carried out although its response was lost. */
        readonly mayHaveBeenProcessed = false,
        /** Fly's own error text (`error` of the ErrorResponse), if any. */
        readonly flyError?: string,
    ) {
        super(message, "FlyApiError");
    }
}

/** A machine that did not reach a state (or pass its checks) in time. */
export class FlyWaitError extends KeelError {
    constructor(message: string) {
        super(message, "FlyWaitError");
    }
}

/** No Fly API token where Keel looks for one. */
export class FlyCredentialsError extends KeelError {
    constructor(message: string) {
        super(message, "FlyCredentialsError");
    }
}

export function flyErrorStatus(err: unknown): number | undefined {
    const s = (err as { status?: unknown } | undefined)?.status;
    return typeof s === "number" ? s : undefined;
}

export function isFlyNotFound(err: unknown): boolean {
    return flyErrorStatus(err) === 404;
}

/** The request an error came from, for its message. */
export interface RequestInfo {
    method: string;
    path: string;
}

/** An HTTP failure as classifyHttpError reads it. */
export interface HttpFailure {
    status: number;
    response: { status: number; headers: Record<string, string>; data: unknown };
    request: RequestInfo;
}

function flyErrorText(data: unknown): string {
    if (data && typeof data === "object") {
        const e = (data as { error?: unknown }).error;
        if (typeof e === "string") return e;
        const m = (data as { message?: unknown }).message;
        if (typeof m === "string") return m;
    }
    return typeof data === "string" && data.length < 500 ? data.trim() : "";
}

/** The fetch error's cause code (undici puts ECONNRESET etc. on `cause`). */
export function networkCode(err: unknown): { code?: string; message: string } {
    const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown }; name?: unknown };
    const code = typeof e?.cause?.code === "string" ? e.cause.code : typeof e?.code === "string" ? e.code : undefined;
    const message = typeof e?.cause?.message === "string" ? e.cause.message : typeof e?.message === "string" ? e.message : String(err);
    if (e?.name === "TimeoutError" || e?.name === "AbortError") return { code: code ?? "ETIMEDOUT", message: "request timed out" };
    return { code, message };
}

/** Turns a failure into a FlyApiError naming the request and Fly's text, never the token. */
export function toFlyApiError(
    err: unknown,
    request: RequestInfo,
    token: string,
    options: { reason?: string; idempotent?: boolean } = {},
): FlyApiError {
    const e = err as Partial<HttpFailure>;
    let status: number | undefined;
    let flyText = "";
    let what: string;
    let lost = false;
    if (typeof e?.status === "number") {
        status = e.status;
        flyText = flyErrorText(e.response?.data);
        what = `${status}${flyText ? ` ${flyText}` : ""}`;
        lost = status >= 500 && status !== 503 && !options.idempotent;
    } else {
        const { code, message } = networkCode(err);
        what = `${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
        const failure = classifyHttpError({ code, message }, Date.now());
        lost = !!failure?.mayHaveBeenProcessed && !options.idempotent;
    }
    let message = `Fly API ${request.method} ${request.path}: ${what}${options.reason ? `; ${options.reason}` : ""}`;
    if (token) {
        message = message.split(token).join("[redacted]");
        flyText = flyText.split(token).join("[redacted]");
    }
    return new FlyApiError(message, status, lost, flyText || undefined);
}
