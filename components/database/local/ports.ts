/**
 * Whether a local database's port is free, and when it is not, who holds it:
 * from /proc (the socket's inode among the processes' open files), else `ss`,
 * else `lsof`, so that the message can name the process to stop.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { LocalPostgresError } from "./binaries";

/** Where every local database listens (never a Unix socket, never another interface). */
export const LOCAL_HOST = "127.0.0.1";

/** Whether 127.0.0.1:port can be listened on now. */
export function portIsFree(port: number, host: string = LOCAL_HOST): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.unref();
        srv.once("error", () => resolve(false));
        srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
    });
}

export interface PortOwner {
    pid: number;
    /** Its command line (or name). */
    command: string;
}

/** Inodes of the listening sockets on a port in /proc/net/tcp or tcp6 text. Pure. */
export function listeningInodes(procNetTcp: string, port: number): number[] {
    const inodes: number[] = [];
    for (const line of procNetTcp.split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 10) continue;
        const local = cols[1];
        const state = cols[3];
        const localPort = parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
        if (state === "0A" && localPort === port) inodes.push(Number(cols[9]));
    }
    return inodes;
}

/** The processes `ss -Hltnp` names for listeners (`users:(("postgres",pid=12,fd=5))`). Pure. */
export function ssListeners(ssOutput: string): PortOwner[] {
    const owners: PortOwner[] = [];
    for (const m of ssOutput.matchAll(/\("([^"]*)",pid=(\d+)/g)) owners.push({ pid: Number(m[2]), command: m[1] });
    return owners;
}

/**
 * The process listening on a port, when this process may know: from /proc
 * (the socket's inode among the processes' open files), else `ss`, else `lsof`.
 */
export function findPortOwner(port: number): PortOwner | undefined {
    const inodes = new Set<number>();
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        try {
            for (const i of listeningInodes(fs.readFileSync(f, "utf8"), port)) inodes.add(i);
        } catch {
            // no /proc
        }
    }
    if (inodes.size) {
        let pids: string[] = [];
        try {
            pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
        } catch {
            pids = [];
        }
        for (const pid of pids) {
            let fds: string[];
            try {
                fds = fs.readdirSync(`/proc/${pid}/fd`);
            } catch {
                continue; // another user's process
            }
            for (const fd of fds) {
                let link: string;
                try {
                    link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
                } catch {
                    continue;
                }
                const m = /^socket:\[(\d+)\]$/.exec(link);
                if (m && inodes.has(Number(m[1]))) return { pid: Number(pid), command: commandOf(Number(pid)) };
            }
        }
    }
    const ss = spawnSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
    if (ss.status === 0) {
        const [owner] = ssListeners(ss.stdout);
        if (owner) return { pid: owner.pid, command: commandOf(owner.pid) || owner.command };
    }
    const lsof = spawnSync("lsof", ["-nP", `-iTCP:${port}`, "-sTCP:LISTEN", "-Fpc"], { encoding: "utf8" });
    if (lsof.status === 0) {
        const pid = /^p(\d+)$/m.exec(lsof.stdout)?.[1];
        const name = /^c(.*)$/m.exec(lsof.stdout)?.[1];
        if (pid) return { pid: Number(pid), command: commandOf(Number(pid)) || name || "?" };
    }
    return undefined;
}

function commandOf(pid: number): string {
    try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        if (cmd) return cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd;
    } catch {
        // not Linux, or gone
    }
    return "";
}

/** Port taken: who has it (when known) and how to move this stack's database. */
export function portTakenMessage(port: number, stack: string, owner: PortOwner | undefined): string {
    const who = owner
        ? `process ${owner.pid}${owner.command ? ` (${owner.command})` : ""}`
        : "another process (its owner is not visible to this user; try: ss -ltnp or lsof -i :" + port + ")";
    return (
        `port ${port} on ${LOCAL_HOST} is taken by ${who}, so the ${stack} stack's PostgreSQL cannot listen there. ` +
        `Stop that process, or give this stack's database another port: npm run pulumi -- config set --path keel:database.local.port ${port === 65535 ? port - 1 : port + 1} --stack ${stack}, then npm run up`
    );
}

/** Throws the port-taken message (naming the holder when it can) unless 127.0.0.1:port is free. */
export async function requireFreePort(port: number, stack: string): Promise<void> {
    if (await portIsFree(port)) return;
    throw new LocalPostgresError(portTakenMessage(port, stack, findPortOwner(port)));
}
