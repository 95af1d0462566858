/** The bench's cluster: in RAM when there is room, with the server's CPU measured where /proc allows. */
import * as fs from "fs";
import * as os from "os";
import { performance } from "perf_hooks";
import type { PostgresCluster } from "../../tools/postgres";
import { query } from "./databases";
import type { Options } from "./options";
import { ServerCpu } from "./serverCpu";

export const SHM = "/dev/shm";

/** /dev/shm when it has room (the 10k database takes ~1 GB), unless --disk; else the usual temp dir. */
function clusterTmpDir(opts: Options): string {
    if (opts.disk) return os.tmpdir();
    try {
        const st = fs.statfsSync(SHM);
        if (st.bavail * st.bsize >= 4 * 1024 ** 3) {
            fs.accessSync(SHM, fs.constants.W_OK);
            return SHM;
        }
    } catch {
        // no /dev/shm here
    }
    return os.tmpdir();
}

/** Starts the cluster (its data where clusterTmpDir says) and says what it is. */
export async function startCluster(opts: Options, out: (line?: string) => void): Promise<{ cluster: PostgresCluster; server?: ServerCpu }> {
    const t = performance.now();
    // Loaded here, not at the top: pg comes with it, and the child probes time loading pg themselves.
    const { PostgresCluster } = await import("../../tools/postgres");
    const dataIn = clusterTmpDir(opts);
    const savedTmpDir = process.env.TMPDIR;
    process.env.TMPDIR = dataIn; // os.tmpdir(), where PostgresCluster puts its data, follows TMPDIR
    let cluster: PostgresCluster;
    try {
        cluster = await PostgresCluster.start();
    } finally {
        if (savedTmpDir === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = savedTmpDir;
    }
    try {
        const [{ server_version: version }] = await query<{ server_version: string }>(cluster.url("postgres"), "SHOW server_version");
        out(
            `cluster: PostgreSQL ${version} on 127.0.0.1:${cluster.port} (fsync off), started in ${((performance.now() - t) / 1000).toFixed(2)} s; one fresh database per tool and run`,
        );
        out(
            `cluster data in ${cluster.dir}` +
                (dataIn === SHM
                    ? " (RAM: creating and dropping ~5 files per table on a shared disk made runs vary 2-3x; --disk to use the temp dir)"
                    : ""),
        );
        const server = ServerCpu.open(cluster.dataDir);
        out(
            server
                ? "server CPU: user+system CPU of the postmaster and the backends it reaped during each run, from /proc (sessions one after another: a lower bound on wall time)"
                : "server CPU: not available here (no /proc or postmaster.pid); the psql floor's wall time stands in for the server's work",
        );
        return { cluster, server };
    } catch (err) {
        await cluster.stop();
        throw err;
    }
}
