/** The suite's PostgreSQL cluster (tools/postgres.ts: the cluster itself, shared with the benchmarks). */
import { PostgresCluster } from "../../tools/postgres";

export { freePort, PostgresCluster, queryRows } from "../../tools/postgres";

let shared: Promise<PostgresCluster> | undefined;

/** The suite's cluster, started on first use and stopped by the root hook. */
export function testCluster(): Promise<PostgresCluster> {
    if (!shared) shared = PostgresCluster.start();
    return shared;
}

/** A fresh database on the suite's cluster. */
export async function freshDatabase(prefix?: string): Promise<string> {
    return (await testCluster()).createDatabase(prefix);
}

export async function stopTestCluster(): Promise<void> {
    if (shared) {
        const c = await shared.catch(() => undefined);
        shared = undefined;
        await c?.stop();
    }
}
