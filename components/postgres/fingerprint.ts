/**
 * The schema fingerprint: the catalog (tables, columns and types, constraints,
 * indexes, views, functions, triggers, enum types, sequences, extensions)
 * reduced to a map of object -> definition and one sha256 over it, so that a
 * manual change shows up as a readable difference. The same catalog read whole
 * (schemaCatalog with `full`) is what schema:diff compares between two
 * databases and writes DDL from (catalogDiff.ts, catalogDdl.ts).
 */
import { createHash } from "crypto";
import { deflateRawSync, inflateRawSync } from "zlib";
import type { Client } from "pg";
import { ColumnDef, formatColumnDef } from "./catalog";

export interface SchemaFingerprint {
    /** sha256 over every object and its definition. */
    hash: string;
    /** `table public.users` -> definition (long definitions are hashed). */
    objects: Record<string, string>;
}

const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;
const NOT_FROM_EXTENSION = (classTable: string, oid: string) =>
    `NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '${classTable}'::regclass AND dep.objid = ${oid} AND dep.deptype = 'e')`;

function short(def: string): string {
    return def.length <= 80 ? def : `sha256:${createHash("sha256").update(def).digest("hex").slice(0, 16)}`;
}

/** Reads the fingerprint; the history table (schema.table) is left out. */
export async function schemaFingerprint(client: Client, historySchema: string, historyTable: string): Promise<SchemaFingerprint> {
    const objects = await schemaCatalog(client, historySchema, historyTable);
    return { hash: fingerprintHash(objects), objects };
}

export interface CatalogOptions {
    /**
     * Whole definitions, for comparing two databases and writing DDL (schema:diff):
     * names qualified (read with an empty search_path), long definitions and
     * function bodies whole, sequences with their options and owner, enum labels
     * quoted, column collations, unlogged and partitioned tables. The fingerprint
     * (and the catalog the state keeps) is the short form: never full.
     */
    full?: boolean;
}

/**
 * The catalog: object -> definition, user schemas only, objects that belong to
 * an extension and the history table (schema.table) left out. Read-only.
 */
export async function schemaCatalog(
    client: Client,
    historySchema: string,
    historyTable: string,
    options: CatalogOptions = {},
): Promise<Record<string, string>> {
    if (!options.full) return readCatalog(client, historySchema, historyTable, false);
    // Every name in every definition qualified, as pg_dump writes them: the DDL does not depend on a search_path.
    await client.query("BEGIN READ ONLY");
    try {
        await client.query("SET LOCAL search_path = ''");
        return await readCatalog(client, historySchema, historyTable, true);
    } finally {
        await client.query("ROLLBACK").catch(() => undefined);
    }
}

async function readCatalog(client: Client, historySchema: string, historyTable: string, full: boolean): Promise<Record<string, string>> {
    const objects: Record<string, string> = {};
    const history = `${historySchema}.${historyTable}`;
    const def = (text: string) => (full ? text : short(text));

    const relations = await client.query(`
        SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS viewdef,
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
               CASE WHEN c.relispartition THEN (SELECT format('%I.%I', pn.nspname, p.relname) FROM pg_inherits i
                    JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid) END AS parent,
               CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_NAMESPACE} AND ${NOT_FROM_EXTENSION("pg_class", "c.oid")}
        ORDER BY 1, 2`);
    const kindName: Record<string, string> = {
        r: "table",
        p: "table",
        v: "view",
        m: "materialized view",
        S: "sequence",
        f: "foreign table",
    };
    for (const r of relations.rows) {
        const name = `${r.schema}.${r.name}`;
        if (name === history) continue;
        const kind = kindName[r.kind];
        let text: string = r.viewdef ? def(r.viewdef.trim()) : kind;
        if (full && kind === "table") {
            if (r.persistence === "u") text = "unlogged table";
            if (r.parent) text += ` PARTITION OF ${r.parent} ${r.bound}`;
            if (r.partkey) text += ` PARTITION BY ${r.partkey}`;
        }
        objects[`${kind} ${name}`] = text;
    }

    if (full) {
        // A sequence's options and what owns it: a serial column (OWNED BY) or an identity column.
        const sequences = await client.query(`
            SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
                   s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle,
                   (SELECT CASE d.deptype WHEN 'i' THEN 'IDENTITY OF ' ELSE 'OWNED BY ' END || format('%I.%I.%I', tn.nspname, t.relname, a.attname)
                    FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                      AND d.deptype IN ('a', 'i') LIMIT 1) AS owner
            FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE ${USER_NAMESPACE} AND ${NOT_FROM_EXTENSION("pg_class", "c.oid")}`);
        for (const s of sequences.rows) {
            const key = `sequence ${s.schema}.${s.name}`;
            if (!(key in objects)) continue;
            objects[key] =
                `AS ${s.type} START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}` +
                (s.cycle ? " CYCLE" : "") +
                (s.owner ? ` ${s.owner}` : "");
        }
    }

    const columns = await client.query(`
        SELECT n.nspname AS schema, c.relname AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
               a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS identity, a.attgenerated AS generated,
               CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
                    (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN format('%I', co.collname) ELSE format('%I.%I', cn.nspname, co.collname) END
                     FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_NAMESPACE}
          AND ${NOT_FROM_EXTENSION("pg_class", "c.oid")}
        ORDER BY n.nspname, c.relname, a.attnum`);
    for (const c of columns.rows) {
        if (`${c.schema}.${c.rel}` === history) continue;
        const column: ColumnDef = {
            type: c.type,
            ...(full && c.collation ? { collation: c.collation } : {}),
            notNull: c.notnull,
            ...(c.identity ? { identity: c.identity === "a" ? "always" : "by default" } : {}),
            ...(c.def ? (c.generated === "s" ? { generated: c.def } : { default: c.def }) : {}),
        };
        objects[`column ${c.schema}.${c.rel}.${c.name}`] = def(formatColumnDef(column));
    }

    const constraints = await client.query(`
        SELECT n.nspname AS schema, coalesce(cl.relname, t.typname) AS rel, co.conname AS name, pg_get_constraintdef(co.oid) AS def
        FROM pg_constraint co
        JOIN pg_namespace n ON n.oid = co.connamespace
        LEFT JOIN pg_class cl ON cl.oid = co.conrelid
        LEFT JOIN pg_type t ON t.oid = co.contypid
        WHERE ${USER_NAMESPACE} AND ${NOT_FROM_EXTENSION("pg_constraint", "co.oid")}
        ORDER BY 1, 2, 3`);
    for (const c of constraints.rows) {
        if (`${c.schema}.${c.rel}` === history) continue;
        objects[`constraint ${c.schema}.${c.rel}.${c.name}`] = def(c.def);
    }

    const indexes = await client.query(`
        SELECT n.nspname AS schema, t.relname AS rel, i.relname AS name, pg_get_indexdef(i.oid) AS def
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE ${USER_NAMESPACE} AND ${NOT_FROM_EXTENSION("pg_class", "i.oid")}
        ORDER BY 1, 3`);
    for (const i of indexes.rows) {
        if (`${i.schema}.${i.rel}` === history) continue;
        objects[`index ${i.schema}.${i.name}`] = def(i.def);
    }

    const functions = await client.query(`
        SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
               ${full ? "pg_get_functiondef(p.oid)" : "md5(pg_get_functiondef(p.oid))"} AS body, p.prokind AS kind
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p') AND ${USER_NAMESPACE} AND ${NOT_FROM_EXTENSION("pg_proc", "p.oid")}
        ORDER BY 1, 2, 3`);
    for (const f of functions.rows) {
        objects[`${f.kind === "p" ? "procedure" : "function"} ${f.schema}.${f.name}(${f.args})`] = full ? f.body.trim() : `md5:${f.body}`;
    }

    const triggers = await client.query(`
        SELECT n.nspname AS schema, c.relname AS rel, tg.tgname AS name, pg_get_triggerdef(tg.oid) AS def
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND ${USER_NAMESPACE}
        ORDER BY 1, 2, 3`);
    for (const t of triggers.rows) objects[`trigger ${t.schema}.${t.rel}.${t.name}`] = def(t.def);

    const enums = await client.query(`
        SELECT n.nspname AS schema, t.typname AS name,
               string_agg(${full ? "quote_literal(e.enumlabel)" : "e.enumlabel"}, ', ' ORDER BY e.enumsortorder) AS labels
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE ${USER_NAMESPACE} GROUP BY 1, 2 ORDER BY 1, 2`);
    for (const e of enums.rows) objects[`type ${e.schema}.${e.name}`] = def(`enum (${e.labels})`);

    const schemas = await client.query(`
        SELECT n.nspname AS name FROM pg_namespace n
        WHERE ${USER_NAMESPACE} AND ${NOT_FROM_EXTENSION("pg_namespace", "n.oid")} ORDER BY 1`);
    for (const s of schemas.rows) objects[`schema ${s.name}`] = "schema";

    const extensions = await client.query(`SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`);
    for (const e of extensions.rows) objects[`extension ${e.extname}`] = e.extversion;

    return objects;
}

export function fingerprintHash(objects: Record<string, string>): string {
    const h = createHash("sha256");
    for (const key of Object.keys(objects).sort()) h.update(`${key}\u0000${objects[key]}\u0000`);
    return h.digest("hex");
}

/** A readable list of what differs between two fingerprints' objects; empty when equal. */
export function describeSchemaDrift(before: Record<string, string>, after: Record<string, string>): string[] {
    const lines: string[] = [];
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of [...keys].sort()) {
        const a = before[key];
        const b = after[key];
        if (a === b) continue;
        if (a === undefined) lines.push(`+ ${key}${b === key.split(" ")[0] ? "" : `: ${b}`} (added outside migrations)`);
        else if (b === undefined) lines.push(`- ${key} (removed outside migrations)`);
        else lines.push(`~ ${key}: ${a} -> ${b}`);
    }
    return lines;
}

const PACKED = "deflate-json:";

/**
 * The object map as the state keeps it: one compressed string. The whole map
 * stays (drift is described from the definitions, as readable as ever), but a
 * 60-table schema costs a few kilobytes of state instead of hundreds.
 */
export function packCatalog(objects: Record<string, string>): string {
    const sorted = Object.fromEntries(
        Object.keys(objects)
            .sort()
            .map((k) => [k, objects[k]]),
    );
    return PACKED + deflateRawSync(Buffer.from(JSON.stringify(sorted)), { level: 9 }).toString("base64");
}

export function unpackCatalog(packed: string): Record<string, string> {
    if (!packed.startsWith(PACKED)) throw new Error(`not a packed schema catalog (expected the prefix ${PACKED})`);
    return JSON.parse(inflateRawSync(Buffer.from(packed.slice(PACKED.length), "base64")).toString("utf8"));
}
