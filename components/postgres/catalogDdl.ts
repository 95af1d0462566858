/**
 * DDL from schema catalog entries: the statements that create objects one
 * database has and another lacks, written from the catalog's definitions as
 * `pg_dump --schema-only` writes them (names qualified and quoted as needed,
 * creation order: schemas, extensions, types, sequences, functions, tables,
 * sequence owners, columns, constraints, indexes, foreign keys, views,
 * triggers). A starting point for a migration file: nothing here runs
 * anything. What the catalog cannot say (a definition it keeps only as a
 * digest, a domain, a foreign table) comes out as a comment saying so. Pure.
 */
import { CatalogNames, ColumnDef, isDigest, parseColumnDef, parseKey, quoteIdentifier, splitSqlName } from "./catalog";
import {
    CatalogDiff,
    describeHistoryDifference,
    describeObjectDifference,
    HistoryDifference,
    indexTarget,
    SideLabels,
} from "./catalogDiff";

export interface DdlOutput {
    /** Statements, each ending with `;`, in the order they can run. */
    statements: string[];
    /** Objects not written, each with why: `-- <key>: <why>` lines for the script. */
    skipped: { key: string; why: string }[];
}

const CONSTRAINT_BACKED = /^(PRIMARY KEY|UNIQUE|EXCLUDE)\b/;

/** The identity or serial owner a full sequence definition names, and the options without it. */
export function sequenceParts(def: string): { options: string; identityOf?: string; ownedBy?: string } {
    const identity = / IDENTITY OF (.+)$/.exec(def);
    if (identity) return { options: def.slice(0, identity.index), identityOf: identity[1] };
    const owned = / OWNED BY (.+)$/.exec(def);
    if (owned) return { options: def.slice(0, owned.index), ownedBy: owned[1] };
    return { options: def };
}

/** A column as CREATE TABLE and ADD COLUMN write it; `identity` is the identity sequence's options, if any. */
export function columnSql(name: string, c: ColumnDef, identity?: string): string {
    let sql = `${quoteIdentifier(name)} ${c.type}`;
    if (c.collation) sql += ` COLLATE ${c.collation}`;
    if (c.generated !== undefined) sql += ` GENERATED ALWAYS AS (${c.generated}) STORED`;
    else if (c.default !== undefined) sql += ` DEFAULT ${c.default}`;
    if (c.notNull) sql += " NOT NULL";
    if (c.identity) sql += ` GENERATED ${c.identity === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY${identity ? ` (${identity})` : ""}`;
    return sql;
}

/** What the relation a definition names is: `table`, `unlogged table`, `table PARTITION OF … FOR VALUES …`, `table PARTITION BY …`. */
function tableShape(def: string): { unlogged: boolean; partitionOf?: string; partitionBy?: string } {
    const unlogged = def.startsWith("unlogged table");
    const of = / PARTITION OF (.+?)(?= PARTITION BY |$)/.exec(def);
    const by = / PARTITION BY (.+)$/.exec(def);
    return { unlogged, ...(of ? { partitionOf: of[1] } : {}), ...(by ? { partitionBy: by[1] } : {}) };
}

/** Orders views so that one comes after every view its definition names (a cycle keeps the catalog's order). */
function viewOrder(views: string[], source: Record<string, string>, names: CatalogNames): string[] {
    const sqlName = new Map(views.map((k) => [k, names.sql(parseKey(k).name)]));
    const mentions = (text: string, name: string) =>
        new RegExp(`(^|[^\\w".])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\w"])`).test(text);
    const out: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (k: string) => {
        if (state.get(k)) return;
        state.set(k, "visiting");
        for (const other of views) if (other !== k && mentions(source[k], sqlName.get(other)!)) visit(other);
        state.set(k, "done");
        out.push(k);
    };
    for (const k of views) visit(k);
    return out;
}

/**
 * The statements that create `keys` (catalog keys of `source`, typically what
 * diffCatalogs found only on that side, members included) on a database that
 * lacks them. `source` must be a full catalog (schemaCatalog with `full`);
 * definitions kept only as a digest are skipped with a note.
 */
export function createStatements(source: Record<string, string>, keys: Iterable<string>): DdlOutput {
    const names = new CatalogNames(source);
    const wanted = new Set([...keys].filter((k) => Object.prototype.hasOwnProperty.call(source, k)));
    const skipped: { key: string; why: string }[] = [];
    const skip = (key: string, why: string) => skipped.push({ key, why });
    const of = (kind: string) => [...wanted].filter((k) => parseKey(k).kind === kind);
    const inSourceOrder = (list: string[]) => {
        const order = new Map(Object.keys(source).map((k, i) => [k, i]));
        return list.sort((x, y) => order.get(x)! - order.get(y)!);
    };
    const sql = (name: string) => names.sql(name);
    const statements: string[] = [];

    const tables = new Set(of("table").map((k) => parseKey(k).name));
    /** A partition's parent, as a catalog name (`public.events`). */
    const parentOf = (relation: string): string | undefined => {
        const of = tableShape(source[`table ${relation}`] ?? "").partitionOf;
        const parts = of ? splitSqlName(of.replace(/ (FOR VALUES|DEFAULT)\b.*$/s, "")) : undefined;
        return parts ? parts.join(".") : undefined;
    };
    const partitions = new Set(
        Object.keys(source)
            .filter((k) => parseKey(k).kind === "table" && tableShape(source[k]).partitionOf)
            .map((k) => parseKey(k).name),
    );
    /** Sequences by the column they are the identity of (`app.orders.id`, as SQL). */
    const identitySequences = new Map<string, string>();
    for (const k of Object.keys(source)) {
        if (parseKey(k).kind !== "sequence") continue;
        const parts = sequenceParts(source[k]);
        if (parts.identityOf) identitySequences.set(parts.identityOf, k);
    }
    const identityOptions = (relation: string, column: string): string | undefined => {
        const [schema, rel] = names.splitSchema(relation);
        const seq = identitySequences.get(`${quoteIdentifier(schema)}.${quoteIdentifier(rel)}.${quoteIdentifier(column)}`);
        if (!seq) return undefined;
        const options = sequenceParts(source[seq]).options.replace(/^AS \S+ /, "");
        return `SEQUENCE NAME ${sql(parseKey(seq).name)} ${options}`;
    };

    for (const k of of("schema")) statements.push(`CREATE SCHEMA ${quoteIdentifier(parseKey(k).name)};`);
    for (const k of of("extension")) statements.push(`CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(parseKey(k).name)};`);

    for (const k of of("type")) {
        const m = /^enum \((.*)\)$/s.exec(source[k]);
        if (m && (m[1] === "" || m[1].startsWith("'"))) statements.push(`CREATE TYPE ${sql(parseKey(k).name)} AS ENUM (${m[1]});`);
        else skip(k, "the catalog keeps this type's labels unquoted (not a full catalog): write it by hand");
    }

    const ownedBy: string[] = [];
    for (const k of of("sequence")) {
        const def = source[k];
        const parts = sequenceParts(def);
        if (parts.identityOf) {
            // Made by its identity column (below), with these options, when that column is created here.
            const column = splitSqlName(parts.identityOf);
            const created =
                column &&
                column.length === 3 &&
                (wanted.has(`column ${column.join(".")}`) || wanted.has(`table ${column[0]}.${column[1]}`));
            if (!created)
                skip(
                    k,
                    `the sequence of the identity column ${parts.identityOf}, which differs on the two sides: make that column an identity column`,
                );
            continue;
        }
        if (def === "sequence") statements.push(`CREATE SEQUENCE ${sql(parseKey(k).name)};`);
        else statements.push(`CREATE SEQUENCE ${sql(parseKey(k).name)} ${parts.options};`);
        if (parts.ownedBy) ownedBy.push(`ALTER SEQUENCE ${sql(parseKey(k).name)} OWNED BY ${parts.ownedBy};`);
    }

    let functions = 0;
    for (const k of [...of("function"), ...of("procedure")]) {
        if (/^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE) /.test(source[k])) {
            statements.push(`${source[k].replace(/;?\s*$/, "")};`);
            functions++;
        } else
            skip(k, "the catalog keeps only a digest of its definition: write it by hand (pg_get_functiondef on the first side shows it)");
    }

    /** Columns of a relation, in the catalog's order (a table's own order when read from a database). */
    const columnsOf = (relation: string) =>
        Object.keys(source).filter((k) => parseKey(k).kind === "column" && names.splitMember(parseKey(k).name)?.[0] === relation);

    const createdTables = new Set<string>();
    for (const k of inSourceOrder(of("table"))) {
        const name = parseKey(k).name;
        const shape = tableShape(source[k]);
        if (shape.partitionOf) {
            statements.push(`CREATE TABLE ${sql(name)} PARTITION OF ${shape.partitionOf};`);
            createdTables.add(name);
            continue;
        }
        const columns = columnsOf(name);
        const digests = columns.filter((c) => isDigest(source[c]));
        if (digests.length) {
            skip(k, `the catalog keeps only a digest of ${digests.map((c) => parseKey(c).name).join(", ")}: write it by hand`);
            continue;
        }
        const lines = columns.map((c) => {
            const column = names.splitMember(parseKey(c).name)![1];
            const def = parseColumnDef(source[c]);
            return `    ${columnSql(column, def, def.identity ? identityOptions(name, column) : undefined)}`;
        });
        statements.push(
            `CREATE ${shape.unlogged ? "UNLOGGED " : ""}TABLE ${sql(name)} (${lines.length ? `\n${lines.join(",\n")}\n` : ""})` +
                `${shape.partitionBy ? ` PARTITION BY ${shape.partitionBy}` : ""};`,
        );
        createdTables.add(name);
    }
    for (const k of of("foreign table")) skip(k, "foreign tables are not written (their server and options are not in the catalog)");
    statements.push(...ownedBy);

    for (const k of inSourceOrder(of("column"))) {
        const member = names.splitMember(parseKey(k).name);
        if (!member) {
            skip(k, "its relation is not in the catalog");
            continue;
        }
        const [relation, column] = member;
        if (createdTables.has(relation) || tables.has(relation)) continue; // in its CREATE TABLE (or skipped with it)
        if (!names.isRelation(relation) || !Object.prototype.hasOwnProperty.call(source, `table ${relation}`)) continue; // a view's column: the view makes it
        if (partitions.has(relation)) {
            skip(k, "a partition's columns come from its parent");
            continue;
        }
        if (isDigest(source[k])) {
            skip(k, "the catalog keeps only a digest of its definition: write it by hand");
            continue;
        }
        const def = parseColumnDef(source[k]);
        statements.push(
            `ALTER TABLE ${sql(relation)} ADD COLUMN ${columnSql(column, def, def.identity ? identityOptions(relation, column) : undefined)};`,
        );
    }

    const foreignKeys: string[] = [];
    for (const k of inSourceOrder(of("constraint"))) {
        const member = names.splitMember(parseKey(k).name);
        const def = source[k];
        if (!member || !Object.prototype.hasOwnProperty.call(source, `table ${member[0]}`)) {
            skip(k, "a constraint of a domain or of a relation that is not a table: write it by hand");
            continue;
        }
        if (isDigest(def)) {
            skip(k, "the catalog keeps only a digest of its definition: write it by hand");
            continue;
        }
        if (/^(TRIGGER|NOT NULL)\b/.test(def)) continue; // made by its trigger, or by the column's NOT NULL
        if (partitions.has(member[0])) {
            // PostgreSQL gives a partition its parent's constraints itself (under the partition's own names).
            const parent = parentOf(member[0]);
            const inherited = Object.keys(source).some(
                (c) => parseKey(c).kind === "constraint" && names.splitMember(parseKey(c).name)?.[0] === parent && source[c] === def,
            );
            if (!inherited)
                skip(k, "a constraint of a partition that its parent does not have: add it by hand after the partition is attached");
            continue;
        }
        const statement = `ALTER TABLE ${sql(member[0])} ADD CONSTRAINT ${quoteIdentifier(member[1])} ${def};`;
        if (def.startsWith("FOREIGN KEY")) foreignKeys.push(statement);
        else statements.push(statement);
    }

    const backed = new Set(
        Object.keys(source)
            .filter((k) => parseKey(k).kind === "constraint" && CONSTRAINT_BACKED.test(source[k]))
            .map((k) => {
                const [schema] = names.splitSchema(parseKey(k).name);
                const member = names.splitMember(parseKey(k).name);
                return member ? `${schema}.${member[1]}` : "";
            }),
    );
    const viewIndexes: string[] = [];
    const partitionIndexes: string[] = [];
    for (const k of inSourceOrder(of("index"))) {
        const def = source[k];
        if (backed.has(parseKey(k).name)) continue; // its constraint makes it
        if (isDigest(def) || !def.startsWith("CREATE ")) {
            skip(k, "the catalog keeps only a digest of its definition: write it by hand");
            continue;
        }
        const target = indexTarget(def);
        if (target && partitions.has(target))
            partitionIndexes.push(`${def.replace(/^CREATE (UNIQUE )?INDEX /, "CREATE $1INDEX IF NOT EXISTS ")};`);
        else if (target && !Object.prototype.hasOwnProperty.call(source, `table ${target}`)) viewIndexes.push(`${def};`);
        else if (target && tableShape(source[`table ${target}`]).partitionBy)
            // ON ONLY would leave the partitions without it; PostgreSQL makes (and attaches) theirs when it is made on the parent.
            statements.push(`${def.replace(/ ON ONLY /, " ON ")};`);
        else statements.push(`${def};`);
    }
    statements.push(...partitionIndexes, ...foreignKeys);

    const views = [...of("view"), ...of("materialized view")];
    for (const k of viewOrder(inSourceOrder(views), source, names)) {
        const { kind, name } = parseKey(k);
        const def = source[k];
        if (isDigest(def)) {
            skip(k, "the catalog keeps only a digest of its definition: write it by hand");
            continue;
        }
        const body = def.replace(/;\s*$/, "");
        statements.push(
            kind === "view"
                ? `CREATE VIEW ${sql(name)} AS\n ${body};`
                : `CREATE MATERIALIZED VIEW ${sql(name)} AS\n ${body}\n  WITH NO DATA;`,
        );
    }
    statements.push(...viewIndexes);

    for (const k of inSourceOrder(of("trigger"))) {
        if (/^CREATE (CONSTRAINT )?TRIGGER /.test(source[k])) statements.push(`${source[k]};`);
        else skip(k, "the catalog keeps only a digest of its definition: write it by hand");
    }
    // As pg_dump: a function's body may name tables created after it.
    if (functions) statements.unshift("SET check_function_bodies = false;");
    return { statements, skipped };
}

/**
 * The script `schema:diff --sql` prints: what creates the first side's
 * objects on the second, then, as comments, what it does not do (objects that
 * differ, objects only on the second side, history), to start a migration file from.
 */
export function migrationScript(
    source: Record<string, string>,
    diff: CatalogDiff,
    history: HistoryDifference[],
    labels: SideLabels,
    command: string,
): string {
    const keys = diff.onlyA.flatMap((d) => [d.key, ...(d.members ?? [])]);
    const { statements, skipped } = createStatements(source, keys);
    const out: string[] = [
        `-- ${command}`,
        `-- Creates on ${labels.b} what ${labels.a} has and ${labels.b} lacks, written from ${labels.a}'s schema catalog.`,
        "-- A starting point for a migration file: review it; nothing has been applied.",
        "",
    ];
    if (!statements.length) out.push(`-- Nothing to create: ${labels.b} has every object ${labels.a} has.`, "");
    for (const s of statements) out.push(s, "");
    const comment = (heading: string, lines: string[]) => {
        if (!lines.length) return;
        out.push(`-- ${heading}`);
        for (const l of lines) out.push(`--   ${l.replace(/\n/g, " ")}`);
        out.push("");
    };
    comment(
        "Not written (write these by hand):",
        skipped.map((s) => `${s.key}: ${s.why}`),
    );
    comment(
        `Different on the two sides (not changed by this script):`,
        diff.differ.map((d) => describeObjectDifference(d, labels)),
    );
    comment(
        `Only on ${labels.b} (not dropped by this script):`,
        diff.onlyB.map((d) => describeObjectDifference(d, labels)),
    );
    comment(
        "Migration history:",
        history.map((h) => describeHistoryDifference(h, labels)),
    );
    return `${out.join("\n").replace(/\n+$/, "")}\n`;
}
