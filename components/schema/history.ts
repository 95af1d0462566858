/**
 * The migration history table: where it is, its DDL, reading it, its digest,
 * and starting it from another tool's history (schema:adopt).
 */
import { createHash } from "crypto";
import type { Client } from "pg";
import { MigrationHistoryError } from "../errors";
import { openClient, quoteIdent } from "../postgres/connection";
import type { HistoryRow } from "./plan";
import type { EngineSettings, Progress } from "./runner";
import { acquireLock, LockWaitHooks, lockName, releaseLock } from "./runnerLock";

/** The history table, quoted and schema-qualified. */
export function historyRef(s: EngineSettings): string {
    return `${quoteIdent(s.historySchema)}.${quoteIdent(s.historyTable)}`;
}

export function historyDigest(rows: HistoryRow[]): string {
    const h = createHash("sha256");
    for (const r of rows) h.update(`${r.version}:${r.checksum}:${r.status}\n`);
    return h.digest("hex");
}

/** Reads the history table; an absent table is an empty history. */
export async function readHistory(client: Client, s: EngineSettings): Promise<HistoryRow[]> {
    const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [historyRef(s)]);
    if (!exists.rows[0].present) return [];
    const res = await client.query(
        // Qualified: a bare 'version' here would sort by the text output column (1, 10, 2).
        `SELECT h.version::text AS version, h.name, h.checksum, h.status, h.applied_at, h.execution_ms, h.applied_by
         FROM ${historyRef(s)} h ORDER BY h.version`,
    );
    return res.rows.map((r) => ({
        version: r.version,
        name: r.name,
        checksum: r.checksum,
        status: r.status,
        appliedAt: new Date(r.applied_at).toISOString(),
        executionMs: r.execution_ms,
        appliedBy: r.applied_by,
    }));
}

/** The history table's CREATE TABLE statement (no trailing semicolon); bench:migrations' psql floor uses it too. */
export function historyTableDdl(s: EngineSettings): string {
    return `
        CREATE TABLE IF NOT EXISTS ${historyRef(s)} (
            version      bigint PRIMARY KEY,
            name         text NOT NULL,
            checksum     text NOT NULL,
            status       text NOT NULL CHECK (status IN ('applied', 'baseline', 'failed', 'running')),
            applied_at   timestamptz NOT NULL DEFAULT now(),
            execution_ms integer NOT NULL DEFAULT 0,
            applied_by   text NOT NULL
        )`;
}

export async function ensureHistoryTable(client: Client, s: EngineSettings): Promise<void> {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.historySchema)}`);
    await client.query(historyTableDdl(s));
}

/**
 * Starts Keel's history with rows adopted from another tool (schema:adopt):
 * under the runner lock, refused when keel_schema_history already has a row;
 * else the table is created and every row inserted in one transaction, and
 * `write` (which puts the migration files in place) runs inside it, so a
 * failure to write rolls the rows back. Runs nothing of the files.
 */
export async function recordAdoption(
    url: string,
    s: EngineSettings,
    rows: HistoryRow[],
    write: () => void | Promise<void>,
    options: {
        lockWait?: LockWaitHooks;
        progress?: Progress;
        /** Runs in the transaction before anything is written: the caller checks that what it planned from still holds. */
        verify?: (client: Client) => Promise<void>;
    } = {},
): Promise<void> {
    const client = await openClient(url, { applicationName: `keel-adopt (${s.appliedBy})` });
    try {
        await acquireLock(client, s, options.progress ?? (() => undefined), options.lockWait);
        try {
            const existing = await readHistory(client, s);
            if (existing.length) {
                throw new MigrationHistoryError(
                    `${lockName(s)} already has ${existing.length} row(s) (newest: version ${existing[existing.length - 1].version}): ` +
                        `Keel already keeps this database's history, and adopting starts one; nothing was written.`,
                );
            }
            await client.query("BEGIN");
            try {
                await options.verify?.(client);
                await ensureHistoryTable(client, s);
                if (rows.length) {
                    await client.query(
                        `INSERT INTO ${historyRef(s)} (version, name, checksum, status, applied_by)
                         SELECT v, n, c, st, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS r(v, n, c, st)`,
                        [
                            rows.map((r) => r.version),
                            rows.map((r) => r.name),
                            rows.map((r) => r.checksum),
                            rows.map((r) => r.status),
                            s.appliedBy,
                        ],
                    );
                }
                await write();
                await client.query("COMMIT");
            } catch (err) {
                await client.query("ROLLBACK").catch(() => undefined);
                throw err;
            }
        } finally {
            await releaseLock(client, s);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}
