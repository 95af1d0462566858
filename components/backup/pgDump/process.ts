/** Running pg_dump and pg_restore with progress, and what is said about their files (size, sha256). */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";

export type BackupProgress = (message: string) => void;

interface RunResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a tool; while it runs, `tick(elapsedMs)` every intervalMs. */
export function runTool(
    exe: string,
    args: string[],
    env: Record<string, string>,
    tick?: (elapsedMs: number) => void,
    intervalMs = 5000,
): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const child = spawn(exe, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => {
            // Keep the tail: a failing restore can print a lot.
            stderr = (stderr + d).slice(-20000);
        });
        const timer = tick ? setInterval(() => tick(Date.now() - started), intervalMs) : undefined;
        child.on("error", (err) => {
            if (timer) clearInterval(timer);
            reject(err);
        });
        child.on("close", (code) => {
            if (timer) clearInterval(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

export function tail(text: string, lines = 12): string {
    const all = text.trim().split("\n");
    return (all.length > lines ? ["…", ...all.slice(-lines)] : all).join("\n");
}

export function formatBytes(n: number): string {
    if (n < 1024) return `${n} B`;
    const units = ["KB", "MB", "GB", "TB"];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)}s`;
}

export function fileSize(file: string): number {
    try {
        return fs.statSync(file).size;
    } catch {
        return 0;
    }
}

export async function sha256File(file: string): Promise<string> {
    const hash = createHash("sha256");
    await new Promise<void>((resolve, reject) => {
        fs.createReadStream(file, { highWaterMark: 1 << 20 })
            .on("data", (d) => hash.update(d))
            .on("end", () => resolve())
            .on("error", reject);
    });
    return hash.digest("hex");
}
