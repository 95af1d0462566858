/**
 * The columns Keel's migration files leave behind: the files replayed in order
 * over their parse trees (libpg-query, the real PostgreSQL parser), each column
 * with the file and line that added it, for the masking exhaustiveness check.
 *
 * Followed: CREATE TABLE (its columns), ALTER TABLE … ADD COLUMN / DROP COLUMN /
 * ALTER COLUMN … TYPE, RENAME COLUMN, ALTER TABLE … RENAME TO, ALTER TABLE … SET
 * SCHEMA, DROP TABLE. What the files cannot tell (CREATE TABLE AS, SELECT INTO,
 * LIKE, INHERITS, OF <type>, PARTITION OF, DO, EXECUTE, CALL, a table altered that
 * no file created) is reported with its file and line, never guessed: the live
 * catalog must be checked for those. Keel's own history table is left out.
 * Pure apart from {@link loadMigrationColumns}, which reads the files.
 */
import { HISTORY_TABLE } from "../schema/historyTable";
import { MigrationSource, parseMigrations, readMigrationDir } from "../schema/migrationSet";
import { loadSqlParser, SqlStatement } from "../schema/sql";
import { nameList } from "../schema/statementRules";
import { ColumnInfo } from "./guess";

/** A statement whose effect on the columns the files cannot tell. */
export interface UnknownColumns {
    file: string;
    line: number;
    /** What the statement does, for example `CREATE TABLE report AS …`. */
    what: string;
}

export interface MigrationColumns {
    /** The columns after every file, tables in order of creation, columns in order of addition. */
    columns: ColumnInfo[];
    /** Statements whose columns only the live catalog can tell. */
    unknown: UnknownColumns[];
}

/** What the replay needs of a migration file: its display path and statements (as migrationSet parses them). */
export interface MigrationStatements {
    path: string;
    statements: Pick<SqlStatement, "sql" | "line">[];
}

/** Parses one statement's text into its node (the parser's `parseSync`). */
export type ParseStatement = (sql: string) => { kind: string; node: any } | undefined;

/** Sentence used for every statement the files cannot tell. */
export const CANNOT_TELL = "the files cannot tell: check the live catalog";

interface TableState {
    name: string;
    columns: Map<string, { type: string; source: { file: string; line: number } }>;
}

/** A table key as PostgreSQL resolves it for Keel's migrations: `public.` dropped. */
function tableName(rel: { schemaname?: string; relname?: string } | undefined): string | undefined {
    if (!rel?.relname) return undefined;
    return rel.schemaname && rel.schemaname !== "public" ? `${rel.schemaname}.${rel.relname}` : rel.relname;
}

function bare(name: string): string {
    return name.startsWith("public.") ? name.slice("public.".length) : name;
}

function isHistoryTable(name: string): boolean {
    return name === HISTORY_TABLE || name.endsWith(`.${HISTORY_TABLE}`);
}

/** A column's type as written: `text`, `varchar(80)`, `jsonb`, `int4[]` (pg_catalog left out). */
export function typeText(typeName: any): string {
    const names: string[] = (typeName?.names ?? []).map((n: any) => n.String?.sval).filter((s: unknown) => typeof s === "string");
    const shown = names.filter((n, i) => !(i === 0 && n === "pg_catalog") || names.length === 1).join(".");
    const mods = (typeName?.typmods ?? [])
        .map((m: any) => m.A_Const?.ival?.ival ?? m.A_Const?.ival ?? m.A_Const?.sval?.sval)
        .filter((v: unknown) => v !== undefined && typeof v !== "object");
    const bounds = (typeName?.arrayBounds ?? []).map(() => "[]").join("");
    return `${shown || "?"}${mods.length ? `(${mods.join(",")})` : ""}${bounds}`;
}

/** The line of a byte offset within a statement that starts on `line`. */
function lineAt(sql: string, startLine: number, byteOffset: number | undefined): number {
    if (byteOffset === undefined || byteOffset < 0) return startLine;
    const before = Buffer.from(sql, "utf8").subarray(0, byteOffset).toString("utf8");
    return startLine + (before.match(/\r\n|\n|\r/g)?.length ?? 0);
}

/** The columns the files leave behind, replayed in order; `parse` turns a statement's text into its node. */
export function replayColumns(files: MigrationStatements[], parse: ParseStatement): MigrationColumns {
    const tables = new Map<string, TableState>();
    const unknown: UnknownColumns[] = [];
    const notCreated = new Set<string>();

    for (const f of files) {
        for (const st of f.statements) {
            const parsed = parse(st.sql);
            if (!parsed) continue;
            const { kind, node } = parsed;
            const at = (offset?: number) => ({ file: f.path, line: lineAt(st.sql, st.line, offset) });
            const cannot = (what: string) => unknown.push({ ...at(), what: `${what}: ${CANNOT_TELL}` });
            /** The table an ALTER names; a table no file created is reported once and followed from then on. */
            const altered = (name: string): TableState => {
                let t = tables.get(name);
                if (!t) {
                    t = { name, columns: new Map() };
                    tables.set(name, t);
                    if (!notCreated.has(name)) {
                        notCreated.add(name);
                        cannot(`${name} is altered but no earlier file creates it, so its other columns are unknown`);
                    }
                }
                return t;
            };
            const addColumn = (t: TableState, def: any) => {
                if (!def?.colname || t.columns.has(def.colname)) return;
                t.columns.set(def.colname, { type: typeText(def.typeName), source: at(def.location) });
            };

            switch (kind) {
                case "CreateStmt": {
                    const name = tableName(node.relation);
                    if (!name || isHistoryTable(name)) break;
                    if (tables.has(name) && node.if_not_exists) break;
                    const t: TableState = { name, columns: new Map() };
                    tables.delete(name);
                    tables.set(name, t);
                    if (node.partbound) cannot(`CREATE TABLE ${name} PARTITION OF ${tableName(node.inhRelations?.[0]?.RangeVar) ?? "?"}`);
                    else if (node.inhRelations?.length) cannot(`CREATE TABLE ${name} … INHERITS (…)`);
                    if (node.ofTypename) cannot(`CREATE TABLE ${name} OF ${typeText(node.ofTypename)}`);
                    for (const e of node.tableElts ?? []) {
                        if (e.ColumnDef) addColumn(t, e.ColumnDef);
                        else if (e.TableLikeClause) cannot(`CREATE TABLE ${name} (LIKE ${tableName(e.TableLikeClause.relation) ?? "?"} …)`);
                    }
                    break;
                }
                case "CreateTableAsStmt": {
                    const name = tableName(node.into?.rel) ?? "?";
                    const what = node.objtype === "OBJECT_MATVIEW" ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE";
                    if (what === "CREATE TABLE") cannot(`${what} ${name} AS …`);
                    break;
                }
                case "SelectStmt":
                    if (node.intoClause) cannot(`SELECT … INTO ${tableName(node.intoClause.rel) ?? "?"}`);
                    break;
                case "DoStmt":
                    cannot("DO block");
                    break;
                case "ExecuteStmt":
                    cannot(`EXECUTE ${node.name ?? ""}`.trim());
                    break;
                case "CallStmt":
                    cannot("CALL of a procedure");
                    break;
                case "AlterTableStmt": {
                    if (node.objtype && node.objtype !== "OBJECT_TABLE") break;
                    const name = tableName(node.relation);
                    if (!name || isHistoryTable(name)) break;
                    for (const c of node.cmds ?? []) {
                        const cmd = c.AlterTableCmd;
                        if (!cmd) continue;
                        if (cmd.subtype === "AT_AddColumn") addColumn(altered(name), cmd.def?.ColumnDef);
                        else if (cmd.subtype === "AT_DropColumn") tables.get(name)?.columns.delete(cmd.name);
                        else if (cmd.subtype === "AT_AlterColumnType") {
                            const col = tables.get(name)?.columns.get(cmd.name);
                            if (col) col.type = typeText(cmd.def?.ColumnDef?.typeName);
                        }
                    }
                    break;
                }
                case "RenameStmt": {
                    const name = tableName(node.relation);
                    if (!name || isHistoryTable(name)) break;
                    if (node.renameType === "OBJECT_COLUMN" && node.relationType === "OBJECT_TABLE") {
                        const t = altered(name);
                        const col = t.columns.get(node.subname);
                        t.columns.delete(node.subname);
                        // The column keeps where it was added; a column never seen is known from here on.
                        t.columns.set(node.newname, col ?? { type: "?", source: at() });
                    } else if (node.renameType === "OBJECT_TABLE") {
                        const schema =
                            node.relation.schemaname && node.relation.schemaname !== "public" ? `${node.relation.schemaname}.` : "";
                        moveTable(tables, name, `${schema}${node.newname}`);
                    }
                    break;
                }
                case "AlterObjectSchemaStmt": {
                    if (node.objectType !== "OBJECT_TABLE") break;
                    const name = tableName(node.relation);
                    if (!name) break;
                    moveTable(tables, name, tableName({ schemaname: node.newschema, relname: node.relation.relname })!);
                    break;
                }
                case "DropStmt":
                    if (node.removeType !== "OBJECT_TABLE") break;
                    for (const o of node.objects ?? []) tables.delete(bare(nameList(o)));
                    break;
            }
        }
    }

    const columns: ColumnInfo[] = [];
    for (const t of tables.values()) {
        for (const [column, c] of t.columns) columns.push({ table: t.name, column, type: c.type, source: c.source });
    }
    return { columns, unknown };
}

/** Renames a table in place (its position in the order kept). */
function moveTable(tables: Map<string, TableState>, from: string, to: string): void {
    const t = tables.get(from);
    if (!t) return;
    const entries = [...tables.entries()];
    tables.clear();
    for (const [k, v] of entries) {
        if (k === from) {
            v.name = to;
            tables.set(to, v);
        } else if (k !== to) tables.set(k, v);
    }
}

/** The statement parser over libpg-query's parse tree (loaded once per process). */
export async function statementParser(): Promise<ParseStatement> {
    const parser = await loadSqlParser();
    return (sql) => {
        const raw = parser.parseSync(sql).stmts?.[0]?.stmt;
        if (!raw) return undefined;
        const kind = Object.keys(raw)[0];
        return { kind, node: raw[kind] };
    };
}

/** Parses migration sources already read (from a directory or git's index) and replays them; throws on a file that does not parse. */
export async function columnsOfSources(sources: MigrationSource[], display: string, problems: string[] = []): Promise<MigrationColumns> {
    const files = await parseMigrations(sources, display, problems);
    return replayColumns(files, await statementParser());
}

/** Reads and parses the migrations in `dir` (as `display` names it) and replays them. */
export async function loadMigrationColumns(dir: string, display = dir): Promise<MigrationColumns> {
    const { sources, problems } = readMigrationDir(dir, display);
    return columnsOfSources(sources, display, problems);
}
