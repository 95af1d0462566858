import { spawn } from "child_process";
import * as path from "path";

/**
 * What every benchmark shares: the median the figures are reported by, and running a tool. Their options are
 * keel bench's (cli/bench/): --help answered, a wrong or non-positive value a usage error with exit 2.
 */
export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a tool to its end; rejects with its stderr when it fails. */
export function runProcess(exe: string, args: string[], env: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(exe, args, { env, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(exe)} exited ${code}: ${err}`))));
    });
}
