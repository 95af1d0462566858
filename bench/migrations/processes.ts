/** Whole processes, timed from spawn to exit (under GNU time for CPU and max RSS when it is there). */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../tools/repoRoot";

export { ROOT };
export const GNU_TIME = "/usr/bin/time";

export interface Timed {
    seconds: number;
    /** User + system CPU of the process and its children, when GNU time is there. */
    cpu?: number;
    /** Max RSS in MB of the largest process in the tree (npm or the node it starts), when GNU time is there. */
    rssMb?: number;
    /** CPU seconds the PostgreSQL server spent on the process's sessions, when /proc tells (see ServerCpu). */
    serverCpu?: number;
    stdout: string;
    stderr: string;
}

/** Where GNU time's reports and other scratch files go: the run's temporary directory once it has one. */
let scratch = os.tmpdir();

export function useScratchDir(dir: string): void {
    scratch = dir;
}

export function scratchDir(): string {
    return scratch;
}

/**
 * Runs a whole process to exit and times it with hrtime around spawnSync;
 * throws with its output when it fails. With `usage`, the process runs under
 * GNU time (which adds one fork/exec, the same for every tool) to report CPU
 * and max RSS.
 */
export function timeProcess(label: string, cmd: string, args: string[], env: Record<string, string> = {}, usage = false): Timed {
    const usageFile = usage && fs.existsSync(GNU_TIME) ? path.join(scratch, `usage-${process.pid}.txt`) : undefined;
    if (usageFile) {
        args = ["-f", "%U %S %M", "-o", usageFile, cmd, ...args];
        cmd = GNU_TIME;
    }
    const started = process.hrtime.bigint();
    const res = spawnSync(cmd, args, {
        cwd: ROOT,
        env: { ...process.env, ...env },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 1024 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (res.error || res.status !== 0) {
        const tail = (s: string | undefined) => (s ?? "").split("\n").slice(-30).join("\n");
        throw new Error(
            `${label} failed (${res.error?.message ?? `exit ${res.status}${res.signal ? `, ${res.signal}` : ""}`}): ` +
                `${cmd} ${args.join(" ")}\n--- stderr ---\n${tail(res.stderr)}\n--- stdout ---\n${tail(res.stdout)}`,
        );
    }
    const timed: Timed = { seconds, stdout: res.stdout, stderr: res.stderr };
    if (usageFile) {
        const last = fs.readFileSync(usageFile, "utf8").trim().split("\n").pop() ?? "";
        const [user, sys, kb] = last.split(" ").map(Number);
        if ([user, sys, kb].every(Number.isFinite)) Object.assign(timed, { cpu: user + sys, rssMb: kb / 1024 });
    }
    return timed;
}
