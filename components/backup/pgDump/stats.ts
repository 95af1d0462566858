/**
 * What a database holds, to compare a dump's snapshot with a restored copy:
 * schema fingerprint, rows (and data checksums) per table, sequence values.
 */
import type { Client } from "pg";
import { HISTORY_TABLE } from "../../schema/historyTable";
import { schemaFingerprint } from "../../postgres/fingerprint";
import { connect, quoteIdent } from "./connection";

/** Per table (`schema.table`): rows, and a data checksum when asked for. */
export type TableStats = Record<string, { rows: number; checksum?: string }>;

/** What the snapshot of a dump held, besides the file. */
export interface DumpStats {
    fingerprint: string;
    tables: TableStats;
    /** `schema.sequence` -> last value (`unset` before the first nextval). */
    sequences: Record<string, string>;
    /** The statistics were read in the very snapshot pg_dump used. */
    consistent: boolean;
}

const USER_TABLES = `
    SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2`;

/**
 * Row counts of every user table (and, with `checksums`, an order-independent
 * checksum of its rows: the sum of 60 bits of each row's md5), and the
 * sequences' values. Runs in the client's current transaction.
 */
export async function readTableStats(
    client: Client,
    checksums: boolean,
): Promise<{ tables: TableStats; sequences: Record<string, string> }> {
    const rels = (await client.query(USER_TABLES)).rows as { schema: string; name: string; kind: string }[];
    const tables: TableStats = {};
    const sequences: Record<string, string> = {};
    const plain = rels.filter((r) => r.kind === "r");
    // A few hundred tables per round trip.
    for (let i = 0; i < plain.length; i += 200) {
        const chunk = plain.slice(i, i + 200);
        const sql = chunk
            .map((t, j) => {
                return tableStatsQuery(t.schema, t.name, checksums).replace(/^SELECT /, `SELECT ${j} AS i, `);
            })
            .join("\nUNION ALL\n");
        for (const r of (await client.query(sql)).rows) {
            const t = chunk[r.i];
            tables[`${t.schema}.${t.name}`] = { rows: Number(r.n), ...(checksums ? { checksum: `${r.n}:${r.h}` } : {}) };
        }
    }
    for (const s of rels.filter((r) => r.kind === "S")) {
        const ref = `${quoteIdent(s.schema)}.${quoteIdent(s.name)}`;
        const r = (await client.query(`SELECT last_value::text AS v, is_called FROM ${ref}`)).rows[0];
        sequences[`${s.schema}.${s.name}`] = r.is_called ? r.v : `unset (${r.v})`;
    }
    return { tables, sequences };
}

export async function readStats(client: Client, historySchema: string, checksums: boolean, consistent: boolean): Promise<DumpStats> {
    const fp = await schemaFingerprint(client, historySchema, HISTORY_TABLE);
    const { tables, sequences } = await readTableStats(client, checksums);
    return { fingerprint: fp.hash, tables, sequences, consistent };
}

function tableStatsQuery(schema: string, name: string, checksums: boolean): string {
    const ref = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    const sum = checksums ? `coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)::text` : `NULL::text`;
    return `SELECT count(*)::bigint AS n, ${sum} AS h FROM ${ref} t`;
}

/**
 * Statistics of a database nobody writes to (a restored copy): the fingerprint
 * on one connection while the tables, biggest first, are read on a few others.
 */
export async function statsOf(url: string, historySchema: string, checksums: boolean, parallel = 3): Promise<DumpStats> {
    const main = await connect(url, "keel-restore-check");
    const workers: Client[] = [];
    try {
        const rels = (
            await main.query(
                `SELECT r.schema, r.name, r.kind, c.relpages FROM (${USER_TABLES}) r
                 JOIN pg_namespace n ON n.nspname = r.schema JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.name
                 ORDER BY c.relpages DESC, 1, 2`,
            )
        ).rows as { schema: string; name: string; kind: string }[];
        const queue = rels.filter((r) => r.kind === "r");
        for (let i = 0; i < Math.min(parallel, queue.length); i++) workers.push(await connect(url, "keel-restore-check"));
        const tables: TableStats = {};
        const drain = async (c: Client) => {
            for (let t = queue.shift(); t; t = queue.shift()) {
                const r = (await c.query(tableStatsQuery(t.schema, t.name, checksums))).rows[0];
                tables[`${t.schema}.${t.name}`] = { rows: Number(r.n), ...(checksums ? { checksum: `${r.n}:${r.h}` } : {}) };
            }
        };
        const fp = schemaFingerprint(main, historySchema, HISTORY_TABLE);
        await Promise.all([fp, ...workers.map(drain)]);
        const sequences: Record<string, string> = {};
        for (const q of rels.filter((r) => r.kind === "S")) {
            const r = (await main.query(`SELECT last_value::text AS v, is_called FROM ${quoteIdent(q.schema)}.${quoteIdent(q.name)}`))
                .rows[0];
            sequences[`${q.schema}.${q.name}`] = r.is_called ? r.v : `unset (${r.v})`;
        }
        const sorted = Object.fromEntries(
            Object.keys(tables)
                .sort()
                .map((k) => [k, tables[k]]),
        );
        return { fingerprint: (await fp).hash, tables: sorted, sequences, consistent: true };
    } finally {
        for (const c of [main, ...workers]) await c.end().catch(() => undefined);
    }
}
