/** A health URL probed once (the deploy watch) or with retries (the monitor), as the workflows' curl did. */
import { OperationsIo } from "./io";
import { HealthUrlVariable, STEP_ENV } from "./stepEnv";

export interface ProbeOptions {
    /** Attempts after the first while the answer is not 2xx (curl --retry --retry-all-errors). */
    retries: number;
    retryDelayMs: number;
    /** Per attempt (curl --max-time). */
    timeoutMs: number;
}

/** The deploy watch: one attempt, 10 s. */
export const WATCH_PROBE: ProbeOptions = { retries: 0, retryDelayMs: 0, timeoutMs: 10_000 };
/** The monitor: three attempts 5 s apart, 10 s each, so a blip does not page anyone. */
export const MONITOR_PROBE: ProbeOptions = { retries: 2, retryDelayMs: 5_000, timeoutMs: 10_000 };

/** What a URL answered: its HTTP status, or undefined when nothing answered (refused, timed out). */
export async function answerOf(url: string, timeoutMs: number, io: OperationsIo): Promise<number | undefined> {
    try {
        return (await io.fetch(url, { method: "GET", signal: AbortSignal.timeout(timeoutMs) })).status;
    } catch {
        return undefined;
    }
}

export function isHealthy(status: number | undefined): boolean {
    return status !== undefined && status >= 200 && status < 300;
}

/**
 * The problem line of an unhealthy URL, `backend (https://…) answered 503`, or undefined when it answered 2xx.
 * No answer at all reads `answered 000`, as curl's status said in the workflows before.
 */
export async function probe(what: string, url: string, options: ProbeOptions, io: OperationsIo): Promise<string | undefined> {
    let status = await answerOf(url, options.timeoutMs, io);
    for (let retry = 0; retry < options.retries && !isHealthy(status); retry++) {
        await io.sleep(options.retryDelayMs);
        status = await answerOf(url, options.timeoutMs, io);
    }
    return isHealthy(status) ? undefined : `${what} (${url}) answered ${status ?? "000"}`;
}

/** Problems joined as the job's log shows them: `a; b`. */
export function problemSummary(problems: string[]): string {
    return problems.join("; ");
}

/** What the watch and the monitor check: a deployed stack's health URLs, and where its alerts go. */
export interface HealthCheckTarget {
    stack: string;
    /** The stack's GitHub environment (named in the errors). */
    environment: string;
    /** The branch that deploys the stack (the Rollback workflow runs from it). */
    branch: string;
    /** Probe BACKEND_HEALTH_URL. */
    backend: boolean;
    /** Probe FRONTEND_HEALTH_URL. */
    frontend: boolean;
    /** The project posts to Slack (SLACK_WEBHOOK_URL). */
    slack: boolean;
}

/** The URLs a command probes, in order, from its --backend / --frontend flags: [what, the env variable holding it]. */
export function healthUrls(o: { backend: boolean; frontend: boolean }): [string, HealthUrlVariable][] {
    const urls: [string, HealthUrlVariable][] = [];
    if (o.backend) urls.push(["backend", STEP_ENV.backendHealthUrl]);
    if (o.frontend) urls.push(["frontend", STEP_ENV.frontendHealthUrl]);
    return urls;
}
