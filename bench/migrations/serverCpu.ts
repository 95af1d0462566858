/** The CPU the PostgreSQL server spends on a tool's sessions, from /proc (Linux). */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Titles of the server's own processes; any other child of the postmaster serves a connection.
const PG_AUXILIARY =
    /^postgres: (checkpointer|background writer|walwriter|autovacuum launcher|autovacuum worker|logical replication launcher|archiver|stats collector|startup|walsender|walreceiver)\b/;

/**
 * The server's CPU for a tool's run: user + system time of the postmaster and
 * of the children it has reaped (the backends that served the connections;
 * an autovacuum worker that ends meanwhile is counted too), from /proc. Each
 * backend runs its session's statements one after another, so its CPU is a
 * lower bound on the wall time of any client that sends it the same work.
 */
export class ServerCpu {
    private constructor(
        private readonly postmaster: number,
        private readonly hz: number,
    ) {}

    /** Undefined where /proc or the postmaster's pid cannot be read (not Linux, another user's cluster). */
    static open(dataDir: string): ServerCpu | undefined {
        try {
            const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
            const hz = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;
            const cpu = new ServerCpu(pid, hz);
            cpu.ticks();
            cpu.sessions();
            return cpu;
        } catch {
            return undefined;
        }
    }

    /** utime + stime + cutime + cstime: fields 14 to 17 of /proc/<pid>/stat, counted from after the command name. */
    private ticks(): number {
        const stat = fs.readFileSync(`/proc/${this.postmaster}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }

    /** Children serving a connection, including exited ones not reaped yet (a zombie has an empty title). */
    private sessions(): number {
        const kids = fs
            .readFileSync(`/proc/${this.postmaster}/task/${this.postmaster}/children`, "utf8")
            .trim()
            .split(/\s+/)
            .filter(Boolean);
        let n = 0;
        for (const kid of kids) {
            let title: string;
            try {
                title = fs.readFileSync(`/proc/${kid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
            } catch {
                continue; // gone since the listing
            }
            if (!PG_AUXILIARY.test(title)) n++;
        }
        return n;
    }

    /** The counter in seconds, once every session that ended has been reaped into it (waits up to 5 s). */
    async seconds(): Promise<number> {
        const deadline = Date.now() + 5000;
        while (this.sessions() > 0 && Date.now() < deadline) await sleep(2);
        return this.ticks() / this.hz;
    }
}
