/**
 * How to read the schema catalog's entries (fingerprint.ts): `<kind> <name>` ->
 * definition. Pure: the kind of a key, names split into their schema and
 * object (names may hold dots, so against the schemas and relations the
 * catalog itself lists), identifiers quoted as PostgreSQL's quote_ident and
 * pg_dump quote them, and a column's definition written and read back.
 */

/** Every kind of object the catalog holds, in the order DDL creates them. */
export const OBJECT_KINDS = [
    "schema",
    "extension",
    "type",
    "sequence",
    "function",
    "procedure",
    "table",
    "foreign table",
    "column",
    "constraint",
    "index",
    "view",
    "materialized view",
    "trigger",
] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** Kinds whose name is `<schema>.<relation>` and that own columns, constraints, triggers (and indexes). */
export const RELATION_KINDS: readonly ObjectKind[] = ["table", "foreign table", "view", "materialized view"];

export interface CatalogKey {
    kind: ObjectKind | string;
    /** As the catalog writes it: `public.orders`, `public.orders.note`, `public.f(integer)`. */
    name: string;
}

/** `materialized view public.v` -> { kind: "materialized view", name: "public.v" }. */
export function parseKey(key: string): CatalogKey {
    for (const kind of ["materialized view", "foreign table"])
        if (key.startsWith(`${kind} `)) return { kind, name: key.slice(kind.length + 1) };
    const at = key.indexOf(" ");
    return at < 0 ? { kind: key, name: "" } : { kind: key.slice(0, at), name: key.slice(at + 1) };
}

/**
 * Keywords that quote_ident quotes (every category but unreserved), PostgreSQL 15's
 * (`SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'`) and those later
 * versions added; quoting one more word than needed changes nothing.
 */
const QUOTED_KEYWORDS = new Set(
    (
        "all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast char character " +
        "check coalesce collate collation column concurrently constraint create cross current_catalog current_date current_role " +
        "current_schema current_time current_timestamp current_user dec decimal default deferrable desc distinct do else end except " +
        "exists extract false fetch float for foreign freeze from full grant greatest group grouping having ilike in initially inner " +
        "inout int integer intersect interval into is isnull join lateral leading least left like limit localtime localtimestamp " +
        "national natural nchar none normalize not notnull null nullif numeric offset on only or order out outer overlaps overlay " +
        "placing position precision primary real references returning right row select session_user setof similar smallint some " +
        "substring symmetric table tablesample then time timestamp to trailing treat trim true union unique user using values varchar " +
        "variadic verbose when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi " +
        "xmlroot xmlserialize xmltable " +
        // PostgreSQL 16 and 17
        "json_array json_arrayagg json_exists json_object json_objectagg json_query json_scalar json_serialize json_table json_value " +
        "merge_action system_user json"
    ).split(" "),
);

/** An identifier as pg_dump writes it: bare when PostgreSQL reads it back unchanged, else double-quoted. */
export function quoteIdentifier(name: string): string {
    if (/^[a-z_][a-z0-9_]*$/.test(name) && !QUOTED_KEYWORDS.has(name)) return name;
    return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.name`, each part quoted as needed. */
export function qualified(schema: string, name: string): string {
    return `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}

/** The identifiers of a dotted SQL name (`app."Audit Log"` -> ["app", "Audit Log"]); undefined when it is not one. */
export function splitSqlName(text: string): string[] | undefined {
    const parts: string[] = [];
    const re = /\s*(?:"((?:[^"]|"")*)"|([^\s."(),]+))\s*(\.|$)/y;
    let at = 0;
    while (at < text.length) {
        re.lastIndex = at;
        const m = re.exec(text);
        if (!m) return undefined;
        parts.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
        at = re.lastIndex;
        if (m[3] === "") break;
    }
    return parts.length ? parts : undefined;
}

/**
 * What the catalog knows of names: its schemas and relations, to split
 * `public.orders.note` into schema, relation and member whatever dots the
 * names hold.
 */
export class CatalogNames {
    private readonly schemas: string[];
    private readonly relations: string[];

    constructor(...catalogs: Record<string, string>[]) {
        const schemas = new Set<string>();
        const relations = new Set<string>();
        for (const catalog of catalogs) {
            for (const key of Object.keys(catalog)) {
                const { kind, name } = parseKey(key);
                if (kind === "schema") schemas.add(name);
                else if (RELATION_KINDS.includes(kind as ObjectKind)) relations.add(name);
            }
        }
        // Longest first: `a.b` before `a` when both are schemas.
        this.schemas = [...schemas].sort((a, b) => b.length - a.length);
        this.relations = [...relations].sort((a, b) => b.length - a.length);
    }

    /** `app.orders` -> ["app", "orders"]: the longest known schema that prefixes it, else up to the first dot. */
    splitSchema(name: string): [string, string] {
        const schema = this.schemas.find((s) => name.startsWith(`${s}.`) && name.length > s.length + 1);
        if (schema) return [schema, name.slice(schema.length + 1)];
        const at = name.indexOf(".");
        return at < 0 ? ["public", name] : [name.slice(0, at), name.slice(at + 1)];
    }

    /** `public.orders.note` -> ["public.orders", "note"] when public.orders is a relation of the catalog. */
    splitMember(name: string): [string, string] | undefined {
        const relation = this.relations.find((r) => name.startsWith(`${r}.`) && name.length > r.length + 1);
        return relation ? [relation, name.slice(relation.length + 1)] : undefined;
    }

    /** `app.Audit Log` -> `app."Audit Log"`. */
    sql(name: string): string {
        const [schema, rest] = this.splitSchema(name);
        return qualified(schema, rest);
    }

    isRelation(name: string): boolean {
        return this.relations.includes(name);
    }
}

/** A column's definition, as the catalog writes it: `integer not null default 0`. */
export interface ColumnDef {
    /** format_type: `integer`, `character varying(20)`, `public.mood`, `"My Type"[]`. */
    type: string;
    /** A collation other than the type's default (full catalogs only), as SQL: `"C"`. */
    collation?: string;
    notNull: boolean;
    identity?: "always" | "by default";
    /** The default expression. */
    default?: string;
    /** A stored generated column's expression. */
    generated?: string;
}

export function formatColumnDef(c: ColumnDef): string {
    let def = c.type;
    if (c.collation) def += ` collate ${c.collation}`;
    if (c.notNull) def += " not null";
    if (c.identity) def += c.identity === "always" ? " generated always as identity" : " generated by default as identity";
    if (c.generated !== undefined) def += ` generated always as (${c.generated})`;
    else if (c.default !== undefined) def += ` default ${c.default}`;
    return def;
}

const COLUMN_MARKERS = [
    " collate ",
    " not null",
    " generated always as identity",
    " generated by default as identity",
    " default ",
    " generated always as (",
];

/** Where the type ends: the first marker outside double quotes. */
function typeEnd(def: string): number {
    let quoted = false;
    for (let i = 0; i < def.length; i++) {
        if (def[i] === '"') quoted = !quoted;
        else if (!quoted && def[i] === " " && COLUMN_MARKERS.some((m) => def.startsWith(m, i))) return i;
    }
    return def.length;
}

/** Reads back what formatColumnDef wrote. */
export function parseColumnDef(def: string): ColumnDef {
    const end = typeEnd(def);
    const c: ColumnDef = { type: def.slice(0, end), notNull: false };
    let rest = def.slice(end);
    if (rest.startsWith(" collate ")) {
        // A collation is one (possibly qualified, quoted) name: up to the next marker outside quotes.
        const after = rest.slice(" collate ".length);
        const stop = typeEnd(`x${after}`) - 1;
        c.collation = after.slice(0, stop);
        rest = after.slice(stop);
    }
    const take = (marker: string): boolean => {
        if (!rest.startsWith(marker)) return false;
        rest = rest.slice(marker.length);
        return true;
    };
    if (take(" not null")) c.notNull = true;
    if (take(" generated always as identity")) c.identity = "always";
    else if (take(" generated by default as identity")) c.identity = "by default";
    if (rest.startsWith(" generated always as (") && rest.endsWith(")")) c.generated = rest.slice(" generated always as (".length, -1);
    else if (take(" default ")) c.default = rest;
    return c;
}

/** Whether a definition is only a digest of the real one (the fingerprint's short form). */
export function isDigest(def: string): boolean {
    return /^(sha256|md5):[0-9a-f]+$/.test(def);
}
