/** The source's tables, columns, foreign keys and sequences, read in the copy's snapshot. */
import type { Client } from "pg";
import type { SourceCatalog, SourceTable } from "./copyPlan";

/** System schemas and tables that belong to an extension are not the application's. */
const USER_RELATION = `
    n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

export async function readSourceCatalog(client: Client): Promise<SourceCatalog> {
    const tables = await client.query(`
        SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.reltuples::float8 AS estimated,
               coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
                         FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), '[]') AS columns
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_RELATION}
        ORDER BY n.nspname, c.relname`);
    const fks = await client.query(`
        SELECT con.conname AS name, fn.nspname || '.' || f.relname AS "from", tn.nspname || '.' || t.relname AS "to"
        FROM pg_constraint con
        JOIN pg_class f ON f.oid = con.conrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
        JOIN pg_class t ON t.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE con.contype = 'f' AND con.conparentid = 0
        ORDER BY 1`);
    return {
        tables: tables.rows.map(
            (r): SourceTable => ({
                schema: r.schema,
                name: r.name,
                kind: r.kind === "p" ? "partitioned" : "table",
                columns: r.columns,
                estimatedRows: r.estimated,
            }),
        ),
        foreignKeys: fks.rows,
    };
}

export interface SequenceValue {
    /** The quoted, qualified name. */
    sqlName: string;
    lastValue: string | null;
}

/** Every sequence's position (NULL when never used), to set on the target after the rows. */
export async function readSequences(client: Client): Promise<SequenceValue[]> {
    const res = await client.query(`
        SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS "sqlName", last_value::text AS "lastValue"
        FROM pg_sequences s
        WHERE NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                          WHERE c.relname = s.sequencename AND d.classid = 'pg_class'::regclass AND d.deptype = 'e')`);
    return res.rows;
}
