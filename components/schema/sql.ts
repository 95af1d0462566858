/**
 * SQL analysis with the real PostgreSQL parser (libpg-query, WASM): split a file
 * into statements and find the destructive ones. Pure: no database, no Pulumi.
 */
import { MigrationFileError } from "../errors";

export interface SqlStatement {
    /** The statement's text as written (comments before it trimmed). */
    sql: string;
    /** 1-based line and column of the statement's first token in the file. */
    line: number;
    column: number;
    /** The parser's node name, for example `CreateStmt`. */
    kind: string;
    /** PostgreSQL refuses this statement inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...). */
    needsNoTransaction?: true;
}

export interface DestructiveStatement {
    line: number;
    /** A short description, for example `DROP TABLE public.users`. */
    what: string;
}

export interface SqlAnalysis {
    statements: SqlStatement[];
    destructive: DestructiveStatement[];
}

type ParserModule = { loadModule(): Promise<void>; parseSync(sql: string): { stmts?: RawStmt[] } };
interface RawStmt {
    stmt: Record<string, any>;
    stmt_location?: number;
    stmt_len?: number;
}

/**
 * The WASM parser. libpg-query loads itself once per process; no state is kept
 * here, because this code is also serialized into the Pulumi dynamic provider.
 */
export async function loadSqlParser(): Promise<ParserModule> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod: ParserModule = require("libpg-query");
    await mod.loadModule();
    return mod;
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
    return lineCounter(text)(offset);
}

/** Line and column lookups for increasing offsets, in one pass over the text. */
function lineCounter(text: string): (offset: number) => { line: number; column: number } {
    let pos = 0;
    let line = 1;
    let lineStart = 0;
    return (offset) => {
        for (; pos < offset && pos < text.length; pos++) {
            if (text.charCodeAt(pos) === 10) {
                line++;
                lineStart = pos + 1;
            }
        }
        return { line, column: offset - lineStart + 1 };
    };
}

/** Offset of the first character that is neither white space nor a comment. */
function skipTrivia(text: string, from: number): number {
    let i = from;
    for (;;) {
        while (i < text.length && /\s/.test(text[i])) i++;
        if (text.startsWith("--", i)) {
            const nl = text.indexOf("\n", i);
            i = nl < 0 ? text.length : nl + 1;
        } else if (text.startsWith("/*", i)) {
            // PostgreSQL block comments nest.
            let depth = 0;
            while (i < text.length) {
                if (text.startsWith("/*", i)) {
                    depth++;
                    i += 2;
                } else if (text.startsWith("*/", i)) {
                    depth--;
                    i += 2;
                    if (depth === 0) break;
                } else i++;
            }
        } else return i;
    }
}

/**
 * Splits and analyses one migration file. `file` names it in errors.
 * Throws MigrationFileError with file, line and column on a syntax error.
 */
export async function analyzeSql(text: string, file: string): Promise<SqlAnalysis> {
    const parser = await loadSqlParser();
    let stmts: RawStmt[];
    try {
        stmts = parser.parseSync(text).stmts ?? [];
    } catch (err: any) {
        const details = err?.sqlDetails;
        if (details && typeof details.cursorPosition === "number") {
            const at = charOffset(text, details.cursorPosition);
            const { line, column } = lineAndColumn(text, at);
            throw new MigrationFileError(
                `${file}:${line}:${column}: SQL syntax error: ${details.message}. ` +
                    `Fix the statement at line ${line}, column ${column}; nothing has been run.`,
            );
        }
        throw new MigrationFileError(`${file}: SQL could not be parsed: ${err?.message ?? err}. Nothing has been run.`);
    }
    // The parser reports byte offsets into the UTF-8 encoding.
    const bytes = Buffer.from(text, "utf8");
    const ascii = bytes.length === text.length;
    const position = lineCounter(text);
    const statements: SqlStatement[] = [];
    const destructive: DestructiveStatement[] = [];
    for (const raw of stmts) {
        const startByte = raw.stmt_location ?? 0;
        const endByte = raw.stmt_len ? startByte + raw.stmt_len : bytes.length;
        const start = ascii ? startByte : charOffset(text, startByte);
        const body = bytes.subarray(startByte, endByte).toString("utf8");
        const lead = skipTrivia(body, 0);
        const sql = body.slice(lead).trimEnd();
        if (!sql) continue;
        const { line, column } = position(start + lead);
        const kind = Object.keys(raw.stmt)[0];
        statements.push({ sql, line, column, kind, ...(refusedInTransaction(kind, raw.stmt[kind]) ? { needsNoTransaction: true } : {}) });
        for (const what of destructiveParts(kind, raw.stmt[kind])) destructive.push({ line, what });
    }
    return { statements, destructive };
}

function charOffset(text: string, byteOffset: number): number {
    return Buffer.from(text, "utf8").subarray(0, byteOffset).toString("utf8").length;
}

function qualified(rel: { schemaname?: string; relname?: string } | undefined): string {
    if (!rel) return "?";
    return rel.schemaname ? `${rel.schemaname}.${rel.relname}` : `${rel.relname}`;
}

function nameList(obj: any): string {
    if (obj?.List) return obj.List.items.map((i: any) => i.String?.sval).join(".");
    if (obj?.String) return obj.String.sval;
    return "?";
}

/** Statements PostgreSQL will not run inside a transaction block. */
export function refusedInTransaction(kind: string, node: any): boolean {
    switch (kind) {
        case "IndexStmt":
        case "ReindexStmt":
            return node.concurrent === true || (node.params ?? []).some((p: any) => p.DefElem?.defname === "concurrently");
        case "DropStmt":
            return node.concurrent === true;
        case "VacuumStmt":
        case "CreatedbStmt":
        case "DropdbStmt":
        case "CreateTableSpaceStmt":
        case "DropTableSpaceStmt":
        case "AlterSystemStmt":
            return true;
        default:
            return false;
    }
}

/** What a statement destroys, if anything: dropped tables, columns or schemas, lost rows, rewritten types. */
export function destructiveParts(kind: string, node: any): string[] {
    switch (kind) {
        case "DropStmt": {
            const type = node.removeType === "OBJECT_TABLE" ? "TABLE" : node.removeType === "OBJECT_SCHEMA" ? "SCHEMA" : undefined;
            if (!type) return [];
            return (node.objects ?? []).map((o: any) => `DROP ${type} ${nameList(o)}`);
        }
        case "DropdbStmt":
            return [`DROP DATABASE ${node.dbname}`];
        case "TruncateStmt":
            return [`TRUNCATE ${(node.relations ?? []).map((r: any) => qualified(r.RangeVar)).join(", ")}`];
        case "AlterTableStmt": {
            const table = qualified(node.relation);
            const out: string[] = [];
            for (const c of node.cmds ?? []) {
                const cmd = c.AlterTableCmd;
                if (cmd?.subtype === "AT_DropColumn") out.push(`ALTER TABLE ${table} DROP COLUMN ${cmd.name}`);
                if (cmd?.subtype === "AT_AlterColumnType") out.push(`ALTER TABLE ${table} ALTER COLUMN ${cmd.name} TYPE`);
            }
            return out;
        }
        case "DeleteStmt":
            return node.whereClause ? [] : [`DELETE FROM ${qualified(node.relation)} without WHERE`];
        case "UpdateStmt":
            return node.whereClause ? [] : [`UPDATE ${qualified(node.relation)} without WHERE`];
        default:
            return [];
    }
}
