/**
 * INVALID indexes left by a no-transaction migration. A CREATE INDEX
 * CONCURRENTLY that fails (duplicate rows for a unique index, a timeout) or
 * whose backend is killed leaves its index in the catalog marked INVALID:
 * PostgreSQL maintains it on every write and never uses it, and an
 * `IF NOT EXISTS` rerun skips it silently. REINDEX CONCURRENTLY leaves an
 * INVALID `<name>_ccnew` copy the same way; a killed DROP INDEX CONCURRENTLY
 * an INVALID index. Only these CONCURRENTLY statements can leave one (the
 * others are atomic), so the tables a file's CONCURRENTLY statements work on
 * are where its INVALID indexes can be: their names come from the statement
 * AST (the real parser), the tables from the catalog.
 */
import type { Client } from "pg";
import type { InvalidIndex } from "./plan";
import { loadSqlParser, refusedInTransaction } from "./sql";

/** What a CONCURRENTLY statement builds, rebuilds or drops indexes on. */
export type IndexTarget =
    { kind: "table" | "index"; schema?: string; name: string } | { kind: "schema"; name: string } | { kind: "database" };

/**
 * The targets of the CONCURRENTLY index statements in `text`: the tables of
 * CREATE INDEX, the indexes of REINDEX INDEX and DROP INDEX, the tables,
 * schemas or database of REINDEX. Undefined when the text does not parse.
 */
export async function concurrentIndexTargets(text: string): Promise<IndexTarget[] | undefined> {
    let stmts: { stmt: Record<string, any> }[];
    try {
        stmts = (await loadSqlParser()).parseSync(text).stmts ?? [];
    } catch {
        return undefined;
    }
    const targets: IndexTarget[] = [];
    const relation = (kind: "table" | "index", rel: { schemaname?: string; relname: string }): IndexTarget => ({
        kind,
        ...(rel.schemaname ? { schema: rel.schemaname } : {}),
        name: rel.relname,
    });
    for (const raw of stmts) {
        const kind = Object.keys(raw.stmt)[0];
        const node = raw.stmt[kind];
        if (!refusedInTransaction(kind, node)) continue;
        if (kind === "IndexStmt" && node.relation) targets.push(relation("table", node.relation));
        else if (kind === "ReindexStmt") {
            if (node.kind === "REINDEX_OBJECT_INDEX" && node.relation) targets.push(relation("index", node.relation));
            else if (node.kind === "REINDEX_OBJECT_TABLE" && node.relation) targets.push(relation("table", node.relation));
            else if (node.kind === "REINDEX_OBJECT_SCHEMA" && node.name) targets.push({ kind: "schema", name: node.name });
            else targets.push({ kind: "database" });
        } else if (kind === "DropStmt" && node.removeType === "OBJECT_INDEX") {
            for (const o of node.objects ?? []) {
                const parts: string[] = (o.List?.items ?? []).map((i: any) => i.String?.sval);
                if (parts.length === 0 || parts.some((p) => typeof p !== "string")) continue;
                const name = parts[parts.length - 1];
                targets.push({ kind: "index", ...(parts.length > 1 ? { schema: parts[parts.length - 2] } : {}), name });
            }
        }
    }
    return targets;
}

/**
 * INVALID indexes on the targets' tables (their partitions and TOAST tables
 * too), or in the whole database for "all". Unqualified names resolve through
 * the connection's search_path, as when the file ran. Partitioned indexes are
 * left out: `CREATE INDEX ON ONLY` makes them invalid on purpose until every
 * partition's index is attached.
 */
export async function findInvalidIndexes(client: Client, targets: IndexTarget[] | "all"): Promise<InvalidIndex[]> {
    if (targets !== "all" && targets.length === 0) return [];
    const everywhere = targets === "all" || targets.some((t) => t.kind === "database");
    const list = targets === "all" ? [] : targets.filter((t) => t.kind !== "database");
    const kinds = list.map((t) => t.kind);
    const schemas = list.map((t) => ("schema" in t ? (t.schema ?? null) : null));
    const names = list.map((t) => ("name" in t ? t.name : null));
    const res = await client.query(
        `WITH target AS (
             SELECT t.kind, CASE WHEN t.schema IS NULL THEN format('%I', t.name) ELSE format('%I.%I', t.schema, t.name) END AS ref, t.name
             FROM unnest($1::text[], $2::text[], $3::text[]) AS t(kind, schema, name)
         ), tables AS (
             SELECT to_regclass(ref) AS rel FROM target WHERE kind = 'table'
             UNION SELECT x.indrelid FROM target JOIN pg_index x ON x.indexrelid = to_regclass(target.ref) WHERE target.kind = 'index'
             UNION SELECT c.oid FROM target JOIN pg_namespace n ON n.nspname = target.name JOIN pg_class c ON c.relnamespace = n.oid
                   WHERE target.kind = 'schema' AND c.relkind IN ('r', 'm', 'p')
         ), leaves AS (
             -- pg_partition_tree lists nothing for a table that is not partitioned.
             SELECT rel AS relid FROM tables WHERE rel IS NOT NULL
             UNION SELECT p.relid FROM tables, LATERAL pg_partition_tree(tables.rel) p WHERE tables.rel IS NOT NULL
         ), scope AS (
             SELECT relid FROM leaves
             UNION SELECT c.reltoastrelid FROM leaves JOIN pg_class c ON c.oid = leaves.relid WHERE c.reltoastrelid <> 0
         )
         SELECT format('%I.%I', n.nspname, c.relname) AS index, format('%I.%I', tn.nspname, t.relname) AS table
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
         WHERE NOT x.indisvalid AND c.relkind = 'i'
           AND ($4 AND tn.nspname NOT IN ('pg_catalog', 'information_schema') OR x.indrelid IN (SELECT relid FROM scope))
         ORDER BY 1`,
        [kinds, schemas, names, everywhere],
    );
    return res.rows.map((r) => ({ index: r.index, table: r.table, drop: `DROP INDEX CONCURRENTLY ${r.index};` }));
}

/**
 * The INVALID indexes a failed or interrupted no-transaction file may have
 * left: on the tables its CONCURRENTLY statements work on. Without the file's
 * text (a missing file, or one that no longer parses) every INVALID index of
 * the database is listed, since any of them may be its (`searchedDatabase`).
 */
export async function invalidIndexesOf(
    client: Client,
    file: { text?: string } | undefined,
): Promise<{ indexes: InvalidIndex[]; searchedDatabase: boolean }> {
    const targets = typeof file?.text === "string" ? await concurrentIndexTargets(file.text) : undefined;
    return { indexes: await findInvalidIndexes(client, targets ?? "all"), searchedDatabase: targets === undefined };
}
