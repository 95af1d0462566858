/**
 * What the commands the workflows run on a GitHub runner (the deploy watch, the
 * monitor, the drift issue) do to the world, behind one interface so tests give
 * them fakes: HTTP through `fetch`, pauses through `sleep` (a fake returns at
 * once: the watch counts probes, never the clock), programs (gh, npm) through
 * `run`, the job summary through `appendFile`.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { KeelError } from "../errors";
import type { KeelRecord } from "../records/record";

/** The part of a fetch Response the commands read. */
export interface HttpAnswer {
    status: number;
}

export interface HttpRequest {
    method?: "GET" | "POST";
    headers?: Record<string, string>;
    body?: string;
    /** Aborts a request that takes too long (curl's --max-time). */
    signal?: AbortSignal;
}

export interface CommandResult {
    /** The exit status; 127 when the program could not be started. */
    status: number;
    stdout: string;
    stderr: string;
    /** stdout and stderr interleaved as they came (what `2>&1 | tee` kept). */
    output: string;
}

export interface RunOptions {
    /** Given on stdin. */
    input?: string;
    /** Copies the program's output to `out` as it comes (a long command's progress in the job's log). */
    echo?: boolean;
}

export interface OperationsIo {
    env: Record<string, string | undefined>;
    /** The job's log (stdout): progress and the runner's `::error::` / `::warning::` annotations. */
    out(text: string): void;
    /** Follows redirects, as `curl --location`; rejects when nothing answers. */
    fetch(url: string, request: HttpRequest): Promise<HttpAnswer>;
    sleep(ms: number): Promise<void>;
    /** Runs a program from PATH in the checkout with `env`. */
    run(command: string, args: string[], options?: RunOptions): Promise<CommandResult>;
    /** Appends to a file (GITHUB_STEP_SUMMARY). */
    appendFile(file: string, text: string): void;
    /** A file's text, or undefined when it does not exist. */
    readFile(file: string): string | undefined;
    /** Keeps a record beside the stack's state (scripts/lib/records.ts); never throws. Absent: nothing is recorded. */
    record?(r: KeelRecord): Promise<void>;
}

/** The real world: Node's fetch, timers, child processes in `cwd`, the file system. */
export function processOperationsIo(cwd: string, env: Record<string, string | undefined>, out: (text: string) => void): OperationsIo {
    return {
        env,
        out,
        fetch: async (url, request) => {
            const res = await fetch(url, { ...request, redirect: "follow" });
            // The body is not read: free the connection.
            await res.body?.cancel().catch(() => undefined);
            return { status: res.status };
        },
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        run: (command, args, options = {}) => runCommand(cwd, env, out, command, args, options),
        appendFile: (file, text) => fs.appendFileSync(file, text),
        readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
    };
}

function runCommand(
    cwd: string,
    env: Record<string, string | undefined>,
    out: (text: string) => void,
    command: string,
    args: string[],
    options: RunOptions,
): Promise<CommandResult> {
    return new Promise((resolve) => {
        const result: CommandResult = { status: 0, stdout: "", stderr: "", output: "" };
        const child = spawn(command, args, {
            cwd,
            env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
            stdio: ["pipe", "pipe", "pipe"],
        });
        const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
            const text = chunk.toString("utf8");
            result[stream] += text;
            result.output += text;
            if (options.echo) out(text);
        };
        child.stdout.on("data", collect("stdout"));
        child.stderr.on("data", collect("stderr"));
        child.on("error", (err) => {
            result.stderr += `${command}: ${err.message}\n`;
            result.status = 127;
        });
        child.on("close", (status) => resolve({ ...result, status: result.status || (status ?? 1) }));
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.input ?? "");
    });
}

/**
 * Runs a command's work; a Keel error becomes the runner's `::error::` annotation
 * (one line, as the runner wants it) and exit 1, as the workflows' bash did.
 */
export async function annotatingErrors(io: OperationsIo, work: () => Promise<number>): Promise<number> {
    try {
        return await work();
    } catch (err) {
        if (!(err instanceof KeelError)) throw err;
        io.out(`::error::${err.message.replace(/\s*\n\s*/g, " ")}\n`);
        return 1;
    }
}
