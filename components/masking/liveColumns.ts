/**
 * The columns a live database has, from its catalog, and the masking rules
 * against them. The migration files alone miss columns (a database adopted or
 * baselined, DO/EXECUTE, CREATE TABLE AS or LIKE, partitions: migrationColumns.ts
 * reports those statements and cannot tell their columns), so a copy checks the
 * source's own catalog before it reads a row.
 *
 * What counts is what a copy carries: ordinary and partitioned tables in user
 * schemas. Leaf partitions are no tables of their own: their rows are the
 * partitioned root's and so are their columns (rules name the root). Views and
 * materialized views hold no rows of their own; foreign tables hold none here;
 * tables an extension creates are the extension's, made again by CREATE EXTENSION.
 */
import type { Client } from "pg";
import { describeTarget } from "../postgres/connection";
import { HISTORY_TABLE } from "../schema/historyTable";
import { checkExhaustive, Exhaustiveness, MaskingCoverageError } from "./exhaustive";
import type { ColumnInfo } from "./guess";
import type { MaskingRules } from "./rules";

/** A column of the live catalog; `table` is the name rules use (`accounts` in public, `app.audit` elsewhere). */
export interface LiveColumn extends ColumnInfo {
    schema: string;
    /** The relation's own name, without its schema. */
    relation: string;
    /** As format_type gives it: `text`, `character varying(80)`, `timestamp with time zone`, `jsonb`. */
    type: string;
}

export interface LiveColumnsOptions {
    /** keel:migrations.historySchema: where Keel's history table is (default public). */
    historySchema?: string;
}

/** The columns of every user table, partitions folded into their root, in schema, table and column order. */
export async function readLiveColumns(client: Client, options: LiveColumnsOptions = {}): Promise<LiveColumn[]> {
    const res = await client.query<{ schema: string; relation: string; column: string; type: string }>(
        `SELECT n.nspname AS schema, c.relname AS relation, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relkind IN ('r', 'p')
           AND NOT c.relispartition
           AND a.attnum > 0 AND NOT a.attisdropped
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
           -- Keel's own bookkeeping (the migration history): copied as it is, never masked, so no rule names it.
           AND NOT (n.nspname = $1 AND c.relname = $2)
         ORDER BY n.nspname, c.relname, a.attnum`,
        [options.historySchema ?? "public", HISTORY_TABLE],
    );
    return res.rows.map((r) => ({
        schema: r.schema,
        relation: r.relation,
        table: r.schema === "public" ? r.relation : `${r.schema}.${r.relation}`,
        column: r.column,
        type: r.type,
    }));
}

/** `the live catalog of host:5432/app`; a URL is cut to its host and database, never its credentials. */
export function liveOrigin(where: string): string {
    return `the live catalog of ${where.includes("://") ? describeTarget(where) : where}`;
}

/** The rules against the live columns: what no rule classifies (with the line to add), and rules the database has nothing for. */
export function checkLiveCoverage(columns: ColumnInfo[], rules: MaskingRules, where: string): Exhaustiveness & { origin: string } {
    return { ...checkExhaustive(columns, rules), origin: liveOrigin(where) };
}

/** Throws {@link MaskingCoverageError} (naming the live catalog of `where`) unless the rules match the live columns exactly. */
export function assertLiveCoverage(columns: ColumnInfo[], rules: MaskingRules, where: string): void {
    const result = checkLiveCoverage(columns, rules, where);
    if (result.unclassified.length > 0 || result.stale.length > 0) throw new MaskingCoverageError(result, rules.file, result.origin);
}
