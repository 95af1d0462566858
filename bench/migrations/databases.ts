/** The bench's own queries on the cluster: checking what a tool applied, dropping a run's database. */
import type { PostgresCluster } from "../../tools/postgres";

/** pg is loaded lazily, so that the probes below load it where the engine does. */
export async function query<T = any>(url: string, sql: string): Promise<T[]> {
    const { Client } = await import("pg");
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(sql)).rows as T[];
    } finally {
        await c.end();
    }
}

/** Checks that the tool really created every table and index; outside the timing. */
export async function verifyApplied(url: string, count: number, history: string, label: string): Promise<void> {
    const [r] = await query<{ tables: string; indexes: string; history: string }>(
        url,
        `SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^t_[0-9]+$') AS tables,
                (SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relname ~ '^t_[0-9]+_name_idx$') AS indexes,
                (SELECT count(*) FROM ${history}) AS history`,
    );
    if (Number(r.tables) !== count || Number(r.indexes) !== count || Number(r.history) !== count) {
        throw new Error(`${label}: expected ${count} tables, indexes and history rows; found ${r.tables}, ${r.indexes}, ${r.history}`);
    }
}

export async function dropDatabase(cluster: PostgresCluster, url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    await query(cluster.url("postgres"), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
