/**
 * SQL analysis with the real PostgreSQL parser (libpg-query, WASM): check a
 * file's bytes, split it into statements where PostgreSQL's grammar does, and
 * find the destructive ones, the ones PostgreSQL refuses inside a transaction,
 * and uses of an enum value the same file adds. Pure: no database, no Pulumi.
 */
import * as path from "path";
import { MigrationFileError } from "../errors";
import { byteToCharOffsets, codePointsToChars, isOnlyTrivia, lineCounter, nextStatementCut, skipTrivia, trimSpaceEnd } from "./pgLexer";

export interface SqlStatement {
    /**
     * The statement's text as written: from its first token to its end, with
     * the white space and comments before it and the white space after it left
     * out (a comment after its last token stays).
     */
    sql: string;
    /** 1-based line and column of the statement's first token in the file (lines end at \r\n, \n or \r). */
    line: number;
    column: number;
    /** The parser's node name, for example `CreateStmt`. */
    kind: string;
    /** PostgreSQL refuses this statement inside a transaction block (see NO_TRANSACTION_STATEMENTS). */
    needsNoTransaction?: true;
    /** With needsNoTransaction: the statement as NO_TRANSACTION_STATEMENTS names it, for example `VACUUM`. */
    refusedAs?: string;
}

export interface DestructiveStatement {
    line: number;
    /** A short description, for example `DROP TABLE public.users`. */
    what: string;
}

/** A string constant equal to an enum value that an earlier ALTER TYPE … ADD VALUE of the same file adds. */
export interface EnumValueUse {
    /** Line of the statement using it. */
    line: number;
    value: string;
    /** The enum type as the ALTER TYPE names it. */
    type: string;
    /** Line of the ALTER TYPE … ADD VALUE. */
    addedAt: number;
}

/** A change old code may not survive, and the table (`t`, `s.t`) or column (`t.c`) it is about. */
export interface BreakingStatement extends DestructiveStatement {
    /** The object old code would name; the `public.` schema left out, so `public.t` and `t` are one. */
    object: string;
}

/** A table, view or column a statement brings into being (created, added, or renamed to), named as BreakingStatement.object. */
export interface IntroducedObject {
    line: number;
    object: string;
}

export interface SqlAnalysis {
    statements: SqlStatement[];
    destructive: DestructiveStatement[];
    /** Changes that code written for the schema before them may not survive (rollback's facts): see oldCodeBreaks. */
    breaking: BreakingStatement[];
    /** What the text creates, so that a rollback can tell objects older code never knew (see introducedObjects). */
    introduces: IntroducedObject[];
    /** Uses of enum values added earlier in the text: in one transaction, PostgreSQL refuses them ("unsafe use of new value"). */
    enumValueUses: EnumValueUse[];
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

/** 1-based line and column of a character offset; a line ends at `\r\n`, `\n` or `\r`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
    return lineCounter(text)(offset);
}

/**
 * A migration file's bytes as text, or a MigrationFileError naming the file,
 * the byte offset and what is wrong. Refused:
 * - a NUL byte: the protocol sends SQL as a C string, so the server would stop
 *   reading at the NUL and run the file without everything after it (and psql
 *   drops the rest of that line);
 * - bytes that are not UTF-8 (Latin-1 or Windows-1252 text, overlong or
 *   surrogate sequences, a sequence cut short): Keel's connection speaks UTF8,
 *   and decoding them would put U+FFFD into data and names; the server refuses
 *   them too ("invalid byte sequence for encoding UTF8").
 * A UTF-8 byte order mark at the very start is skipped, as psql skips it (its
 * MainLoop drops a leading EF BB BF when the client encoding is UTF8, which is
 * Keel's); anywhere else it stays, and PostgreSQL reads it as part of a word.
 * The checksum is taken of the bytes as they are, BOM included.
 */
export function decodeSqlFile(bytes: Buffer, file: string): string {
    const nul = bytes.indexOf(0);
    let text: string | undefined;
    try {
        // fatal: refuse what is not UTF-8; and, by default, one leading BOM is dropped.
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
        // The first bad byte before any NUL is reported; the NUL otherwise.
        const bad = firstInvalidUtf8(bytes, nul < 0 ? bytes.length : nul);
        if (bad) {
            throw new MigrationFileError(
                `${file}: byte ${bad.offset} ${where(bytes, bad.offset)} is not UTF-8: ${hex(bytes.subarray(bad.offset, bad.offset + bad.length))}. ` +
                    `Keel sends migrations to PostgreSQL as UTF-8, and the server refuses such bytes (invalid byte sequence for encoding "UTF8"); nothing has been run. ` +
                    `Save the file as UTF-8 (text from a Windows or Latin-1 editor: iconv -f WINDOWS-1252 -t UTF-8 ${path.basename(file)}).`,
            );
        }
    }
    if (nul >= 0 || text === undefined) throw nulError(file, nul, where(bytes, nul));
    return text;
}

/** `(line L, column C)` of a byte offset, counted in the (valid) UTF-8 before it, BOM excluded. */
function where(bytes: Buffer, offset: number): string {
    let before = bytes.subarray(0, offset).toString("utf8");
    if (before.charCodeAt(0) === 0xfeff) before = before.slice(1);
    const { line, column } = lineAndColumn(before, before.length);
    return `(line ${line}, column ${column})`;
}

function hex(bytes: Buffer): string {
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function nulError(file: string, byteOffset: number, at: string): MigrationFileError {
    return new MigrationFileError(
        `${file}: byte ${byteOffset} ${at} is a NUL byte (00). PostgreSQL's protocol ends the SQL text at a NUL, so everything after it ` +
            `would be skipped without an error; nothing has been run. Remove it (a NUL never belongs in SQL; ` +
            `to write the byte into data, use E'\\\\x00'::bytea or decode('00', 'hex')).`,
    );
}

/**
 * The first byte (below `end`) that does not start a well-formed UTF-8
 * sequence (as PostgreSQL's pg_utf8_islegal: no overlong forms, no surrogates,
 * nothing above U+10FFFF), and how many bytes its lead byte claims; undefined
 * when all are well formed.
 */
function firstInvalidUtf8(bytes: Buffer, end: number): { offset: number; length: number } | undefined {
    for (let i = 0; i < end;) {
        const b = bytes[i];
        const need = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (need === 0) return { offset: i, length: b >= 0xc0 && b <= 0xc1 ? 2 : b >= 0xf5 && b <= 0xf7 ? 4 : 1 };
        if (need === 1) {
            i++;
            continue;
        }
        const claimed = Math.min(need, end - i);
        // The second byte's range depends on the lead (overlong forms, surrogates, > U+10FFFF).
        const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
        const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
        if (i + need > end) return { offset: i, length: claimed };
        if (bytes[i + 1] < lo || bytes[i + 1] > hi) return { offset: i, length: need };
        for (let k = 2; k < need; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return { offset: i, length: need };
        i += need;
    }
    return undefined;
}

/** Options of analyzeSql. */
export interface AnalyzeOptions {
    /**
     * About how many characters the parser is handed at once: a large file is
     * cut after a statement-ending `;` once a piece is this long (a single
     * longer statement is still parsed whole). The parser's memory grows with
     * its input: on 35 MB of INSERTs at once it ran out (libpg-query 17.7).
     */
    chunkChars?: number;
}

/** 64 KiB of SQL text at a time (measured on 50 MB of INSERTs: as fast as larger pieces, and the least memory). */
export const DEFAULT_CHUNK_CHARS = 1 << 16;

/**
 * Splits and analyses one migration file's text (decodeSqlFile's result).
 * `file` names it in errors. Throws MigrationFileError with file, line and
 * column on a syntax error, and on a NUL character or a lone surrogate. Text
 * holding only white space and comments (an empty file) has no statements.
 * Statements are where PostgreSQL's own grammar puts them (the parser's
 * locations); Keel only trims the white space and comments around each, with
 * PostgreSQL's rules for both (see pgLexer.ts).
 */
export async function analyzeSql(text: string, file: string, options: AnalyzeOptions = {}): Promise<SqlAnalysis> {
    checkText(text, file);
    const statements: SqlStatement[] = [];
    const destructive: DestructiveStatement[] = [];
    const breaking: BreakingStatement[] = [];
    const introduces: IntroducedObject[] = [];
    const enumValueUses: EnumValueUse[] = [];
    if (isOnlyTrivia(text)) return { statements, destructive, breaking, introduces, enumValueUses };
    const parser = await loadSqlParser();
    const chunkChars = Math.max(1, options.chunkChars ?? DEFAULT_CHUNK_CHARS);
    const position = lineCounter(text);
    const added = new Map<string, { line: number; type: string }>();
    // Where the text after the last statement (a ';', white space, comments) begins.
    let gapFrom = 0;
    for (let start = 0; start < text.length;) {
        let cut = text.length - start <= chunkChars ? text.length : nextStatementCut(text, start, chunkChars);
        let stmts: RawStmt[];
        for (;;) {
            try {
                stmts = parsePiece(parser, text, start, cut);
                break;
            } catch (err: any) {
                // A cut inside a BEGIN ATOMIC routine body leaves the parser wanting more: give it more.
                if (cut < text.length && /at end of input$/.test(err?.sqlDetails?.message ?? "")) {
                    cut = nextStatementCut(text, cut, cut - start);
                    continue;
                }
                throw parseError(err, text, start, file);
            }
        }
        // The parser reports byte offsets into the piece's UTF-8 encoding.
        const toChar = byteToCharOffsets(text, start);
        for (const raw of stmts) {
            const from = toChar(raw.stmt_location ?? 0);
            const to = raw.stmt_len ? toChar((raw.stmt_location ?? 0) + raw.stmt_len) : cut;
            checkBetweenStatements(text, gapFrom, from, file);
            gapFrom = to;
            const first = skipTrivia(text, from, to);
            const last = trimSpaceEnd(text, first, to);
            if (first >= last) {
                // The parser found a statement here, so the lexer rules above disagree with it: never drop it silently.
                throw new Error(
                    `${file}: Keel could not find the text of the statement at character ${from}; this is a bug in Keel (pgLexer.ts).`,
                );
            }
            const sql = text.slice(first, last);
            const { line, column } = position(first);
            const kind = Object.keys(raw.stmt)[0];
            const node = raw.stmt[kind];
            const refused = noTransactionRule(kind, node);
            statements.push({ sql, line, column, kind, ...(refused ? { needsNoTransaction: true, refusedAs: refused.statement } : {}) });
            for (const what of destructiveParts(kind, node)) destructive.push({ line, what });
            for (const b of oldCodeBreaks(kind, node)) breaking.push({ line, ...b });
            for (const object of introducedObjects(kind, node)) introduces.push({ line, object });
            if (added.size) {
                for (const value of stringConstants(node)) {
                    const by = added.get(value);
                    if (by) enumValueUses.push({ line, value, type: by.type, addedAt: by.line });
                }
            }
            if (kind === "AlterEnumStmt" && node.newVal !== undefined && node.oldVal === undefined) {
                added.set(node.newVal, { line, type: nameList({ List: { items: node.typeName ?? [] } }) });
            }
        }
        start = cut;
    }
    checkBetweenStatements(text, gapFrom, text.length, file);
    return { statements, destructive, breaking, introduces, enumValueUses };
}

/**
 * Between statements PostgreSQL 15 allows only `;`, white space and comments.
 * The parser (libpg-query follows PostgreSQL 17) also takes a vertical tab for
 * white space there, which a 15 server calls a syntax error: so does Keel,
 * rather than leave it out of what it sends.
 */
function checkBetweenStatements(text: string, from: number, to: number, file: string): void {
    for (let i = from; i < to; i++) {
        i = skipTrivia(text, i, to);
        if (i < to && text[i] !== ";") {
            const { line, column } = lineAndColumn(text, i);
            const code = text.codePointAt(i)!.toString(16).toUpperCase().padStart(4, "0");
            throw new MigrationFileError(
                `${file}:${line}:${column}: SQL syntax error: PostgreSQL reads the character U+${code} here as part of no statement ` +
                    `(only spaces, tabs, line breaks and form feeds are white space to it). Remove it; nothing has been run.`,
            );
        }
    }
}

/** Refuses what the parser cannot be handed: it takes a C string (a NUL ends it) of UTF-8 (no lone surrogate). */
function checkText(text: string, file: string): void {
    const nul = text.indexOf("\0");
    if (nul >= 0) {
        const { line, column } = lineAndColumn(text, nul);
        throw nulError(file, Buffer.byteLength(text.slice(0, nul), "utf8"), `(line ${line}, column ${column})`);
    }
    // With the u flag a lone surrogate is a code point of category Cs; a pair is one astral character.
    const at = text.search(/\p{Cs}/u);
    if (at >= 0) {
        const { line, column } = lineAndColumn(text, at);
        throw new MigrationFileError(
            `${file}:${line}:${column}: the text holds a lone UTF-16 surrogate, which is not a character; nothing has been run.`,
        );
    }
}

/** The parser's statements of text[start, end). */
function parsePiece(parser: ParserModule, text: string, start: number, end: number): RawStmt[] {
    const piece = text.slice(start, end);
    if (isOnlyTrivia(piece)) return [];
    // libpg-query refuses text that JavaScript's trim() empties ("Query cannot be empty") before the parser sees it;
    // PostgreSQL reads such characters (a no-break space, a byte order mark) as a word. A ';' lets the parser say so.
    return parser.parseSync(piece.trim() === "" ? `${piece};` : piece).stmts ?? [];
}

function parseError(err: any, text: string, start: number, file: string): MigrationFileError {
    const details = err?.sqlDetails;
    if (details && typeof details.cursorPosition === "number") {
        // The parser's error position counts characters (code points) of the piece.
        const at = codePointsToChars(text, start, details.cursorPosition);
        const { line, column } = lineAndColumn(text, at);
        return new MigrationFileError(
            `${file}:${line}:${column}: SQL syntax error: ${details.message}. ` +
                `Fix the statement at line ${line}, column ${column}; nothing has been run.`,
        );
    }
    return new MigrationFileError(`${file}: SQL could not be parsed: ${err?.message ?? err}. Nothing has been run.`);
}

/** Every string constant in a parse tree (A_Const with a string value), for uses of an enum value. */
function stringConstants(node: unknown, out: string[] = []): string[] {
    if (Array.isArray(node)) {
        for (const n of node) stringConstants(n, out);
    } else if (node && typeof node === "object") {
        const konst = (node as any).A_Const;
        if (konst && typeof konst.sval?.sval === "string") out.push(konst.sval.sval);
        for (const v of Object.values(node)) if (v && typeof v === "object") stringConstants(v, out);
    }
    return out;
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

/**
 * The value of a boolean option (DefElem) as PostgreSQL's defGetBoolean reads
 * it: no value is true; true/false/on/off and 1/0. Undefined when absent (or
 * not a boolean, which the server refuses anyway).
 */
function booleanOption(options: any[] | undefined, name: string): boolean | undefined {
    const d = (options ?? []).map((o: any) => o?.DefElem).find((e: any) => e?.defname === name);
    if (!d) return undefined;
    const arg = d.arg;
    if (!arg) return true;
    if (arg.Integer) return (arg.Integer.ival ?? 0) !== 0;
    if (arg.Boolean) return arg.Boolean.boolval === true;
    // `on`/`off` arrive as a type name, `true`/`false` as a string.
    const word = (arg.String?.sval ?? arg.TypeName?.names?.map((n: any) => n.String?.sval).join(".") ?? "").toLowerCase();
    return word === "true" || word === "on" ? true : word === "false" || word === "off" ? false : undefined;
}

export interface NoTransactionStatement {
    /** The statement as PostgreSQL's error names it ("… cannot run inside a transaction block"). */
    statement: string;
    /** The parser's node name. */
    kind: string;
    /** Which statements of that kind; all of them when absent. */
    when?: (node: any) => boolean;
    /**
     * Only the database's state tells (whether a table is partitioned, whether a
     * subscription has a replication slot): Keel cannot see it in the file and does
     * not refuse the statement; PostgreSQL does, and the file's transaction rolls back.
     */
    dependsOnDatabase?: true;
    /** A statement PostgreSQL 15 refuses inside BEGIN … COMMIT (test/schema/noTransaction.test.ts runs every one). */
    example: string;
}

/**
 * The statements PostgreSQL 15 refuses inside a transaction block (its
 * PreventInTransactionBlock calls), one row per kind, each with an example the
 * tests run inside BEGIN … COMMIT on a real server. A transactional file
 * holding one of the others is refused at load time: it needs
 * '-- keel:no-transaction'. Not here, because PostgreSQL allows them in a
 * transaction: ANALYZE (a VacuumStmt too, with is_vacuumcmd false), CLUSTER of
 * one plain table, REINDEX of a plain table or index, REFRESH MATERIALIZED VIEW
 * CONCURRENTLY, CREATE SUBSCRIPTION … WITH (connect = false), and ALTER TYPE …
 * ADD VALUE (since PostgreSQL 12; the new value is usable only after COMMIT:
 * see enumValueUses).
 */
export const NO_TRANSACTION_STATEMENTS: readonly NoTransactionStatement[] = [
    {
        statement: "CREATE INDEX CONCURRENTLY",
        kind: "IndexStmt",
        when: (n) => n.concurrent === true,
        example: "CREATE INDEX CONCURRENTLY items_sku ON items (sku)",
    },
    {
        statement: "DROP INDEX CONCURRENTLY",
        kind: "DropStmt",
        when: (n) => n.concurrent === true,
        example: "DROP INDEX CONCURRENTLY items_id",
    },
    {
        statement: "REINDEX CONCURRENTLY",
        kind: "ReindexStmt",
        when: (n) => n.concurrent === true || booleanOption(n.params, "concurrently") === true,
        example: "REINDEX TABLE CONCURRENTLY items",
    },
    { statement: "REINDEX SCHEMA", kind: "ReindexStmt", when: (n) => n.kind === "REINDEX_OBJECT_SCHEMA", example: "REINDEX SCHEMA public" },
    { statement: "REINDEX SYSTEM", kind: "ReindexStmt", when: (n) => n.kind === "REINDEX_OBJECT_SYSTEM", example: "REINDEX SYSTEM keel" },
    {
        statement: "REINDEX DATABASE",
        kind: "ReindexStmt",
        when: (n) => n.kind === "REINDEX_OBJECT_DATABASE",
        example: "REINDEX DATABASE keel",
    },
    {
        statement: "REINDEX of a partitioned table or index",
        kind: "ReindexStmt",
        dependsOnDatabase: true,
        example: "REINDEX TABLE measurements",
    },
    { statement: "VACUUM", kind: "VacuumStmt", when: (n) => n.is_vacuumcmd === true, example: "VACUUM (ANALYZE) items" },
    { statement: "CLUSTER without a table", kind: "ClusterStmt", when: (n) => !n.relation, example: "CLUSTER" },
    {
        statement: "CLUSTER of a partitioned table",
        kind: "ClusterStmt",
        dependsOnDatabase: true,
        example: "CLUSTER measurements USING measurements_at",
    },
    { statement: "CREATE DATABASE", kind: "CreatedbStmt", example: "CREATE DATABASE keel_example" },
    { statement: "DROP DATABASE", kind: "DropdbStmt", example: "DROP DATABASE IF EXISTS keel_example" },
    {
        statement: "ALTER DATABASE SET TABLESPACE",
        kind: "AlterDatabaseStmt",
        when: (n) => (n.options ?? []).some((o: any) => o?.DefElem?.defname === "tablespace"),
        example: "ALTER DATABASE keel_example SET TABLESPACE pg_default",
    },
    { statement: "CREATE TABLESPACE", kind: "CreateTableSpaceStmt", example: "CREATE TABLESPACE keel_example LOCATION '/nonexistent'" },
    { statement: "DROP TABLESPACE", kind: "DropTableSpaceStmt", example: "DROP TABLESPACE IF EXISTS keel_example" },
    { statement: "ALTER SYSTEM", kind: "AlterSystemStmt", example: "ALTER SYSTEM SET work_mem = '8MB'" },
    {
        // create_slot defaults to true, and to false with connect = false.
        statement: "CREATE SUBSCRIPTION … WITH (create_slot = true)",
        kind: "CreateSubscriptionStmt",
        when: (n) => booleanOption(n.options, "create_slot") ?? booleanOption(n.options, "connect") ?? true,
        example: "CREATE SUBSCRIPTION keel_example CONNECTION 'dbname=keel_nowhere' PUBLICATION keel_pub",
    },
    {
        statement: "ALTER SUBSCRIPTION … REFRESH PUBLICATION",
        kind: "AlterSubscriptionStmt",
        when: (n) => n.kind === "ALTER_SUBSCRIPTION_REFRESH",
        example: "ALTER SUBSCRIPTION keel_sub REFRESH PUBLICATION",
    },
    {
        // refresh defaults to true.
        statement: "ALTER SUBSCRIPTION … SET/ADD/DROP PUBLICATION with refresh",
        kind: "AlterSubscriptionStmt",
        when: (n) =>
            ["ALTER_SUBSCRIPTION_SET_PUBLICATION", "ALTER_SUBSCRIPTION_ADD_PUBLICATION", "ALTER_SUBSCRIPTION_DROP_PUBLICATION"].includes(
                n.kind,
            ) && booleanOption(n.options, "refresh") !== false,
        example: "ALTER SUBSCRIPTION keel_sub ADD PUBLICATION keel_pub2",
    },
    {
        statement: "DROP SUBSCRIPTION of a subscription with a replication slot",
        kind: "DropSubscriptionStmt",
        dependsOnDatabase: true,
        example: "DROP SUBSCRIPTION keel_slotted",
    },
    { statement: "DISCARD ALL", kind: "DiscardStmt", when: (n) => n.target === "DISCARD_ALL", example: "DISCARD ALL" },
    {
        statement: "COMMIT PREPARED",
        kind: "TransactionStmt",
        when: (n) => n.kind === "TRANS_STMT_COMMIT_PREPARED",
        example: "COMMIT PREPARED 'keel_example'",
    },
    {
        statement: "ROLLBACK PREPARED",
        kind: "TransactionStmt",
        when: (n) => n.kind === "TRANS_STMT_ROLLBACK_PREPARED",
        example: "ROLLBACK PREPARED 'keel_example'",
    },
    {
        statement: "ALTER TABLE … DETACH PARTITION … CONCURRENTLY",
        kind: "AlterTableStmt",
        when: (n) =>
            (n.cmds ?? []).some(
                (c: any) => c?.AlterTableCmd?.subtype === "AT_DetachPartition" && c.AlterTableCmd.def?.PartitionCmd?.concurrent === true,
            ),
        example: "ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY",
    },
];

/** The row of NO_TRANSACTION_STATEMENTS a statement falls under, when Keel can tell from the statement alone. */
export function noTransactionRule(kind: string, node: any): NoTransactionStatement | undefined {
    return NO_TRANSACTION_STATEMENTS.find((r) => r.kind === kind && !r.dependsOnDatabase && (!r.when || r.when(node ?? {})));
}

/** True when PostgreSQL refuses the statement inside a transaction block, whatever the database holds. */
export function refusedInTransaction(kind: string, node: any): boolean {
    return noTransactionRule(kind, node) !== undefined;
}

/**
 * What a statement changes that code written before it may not survive, as a
 * rollback that keeps the newer schema needs to know: tables and columns dropped
 * or renamed (the old code still names them), column types changed, and columns
 * made NOT NULL without a default (the old code's inserts leave them out).
 * Additive changes (new tables, nullable or defaulted columns, indexes) are not.
 */
export function oldCodeBreaks(kind: string, node: any): { what: string; object: string }[] {
    switch (kind) {
        case "DropStmt":
            return node.removeType === "OBJECT_TABLE" || node.removeType === "OBJECT_VIEW"
                ? (node.objects ?? []).map((o: any) => ({
                      what: `DROP ${node.removeType === "OBJECT_TABLE" ? "TABLE" : "VIEW"} ${nameList(o)}`,
                      object: objectKey(nameList(o)),
                  }))
                : [];
        case "RenameStmt": {
            const table = qualified(node.relation);
            if (node.renameType === "OBJECT_TABLE")
                return [{ what: `ALTER TABLE ${table} RENAME TO ${node.newname}`, object: objectKey(table) }];
            if (node.renameType === "OBJECT_COLUMN") {
                return [
                    {
                        what: `ALTER TABLE ${table} RENAME COLUMN ${node.subname} TO ${node.newname}`,
                        object: objectKey(table, node.subname),
                    },
                ];
            }
            return [];
        }
        case "AlterTableStmt": {
            // Dropped columns and changed types, as destructiveParts names them; then what only old code minds.
            const table = qualified(node.relation);
            const out: { what: string; object: string }[] = [];
            for (const c of node.cmds ?? []) {
                const cmd = c.AlterTableCmd;
                if (cmd?.subtype === "AT_DropColumn")
                    out.push({ what: `ALTER TABLE ${table} DROP COLUMN ${cmd.name}`, object: objectKey(table, cmd.name) });
                if (cmd?.subtype === "AT_AlterColumnType")
                    out.push({ what: `ALTER TABLE ${table} ALTER COLUMN ${cmd.name} TYPE`, object: objectKey(table, cmd.name) });
                if (cmd?.subtype === "AT_SetNotNull")
                    out.push({ what: `ALTER TABLE ${table} ALTER COLUMN ${cmd.name} SET NOT NULL`, object: objectKey(table, cmd.name) });
                const column = cmd?.subtype === "AT_AddColumn" ? cmd.def?.ColumnDef : undefined;
                if (column) {
                    const types = (column.constraints ?? []).map((k: any) => k.Constraint?.contype);
                    const filled = types.some((t: string) => ["CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"].includes(t));
                    if (types.includes("CONSTR_NOTNULL") && !filled) {
                        // Old code's inserts into the table leave the new column out: it is about the table.
                        out.push({
                            what: `ALTER TABLE ${table} ADD COLUMN ${column.colname} NOT NULL without a default`,
                            object: objectKey(table),
                        });
                    }
                }
            }
            return out;
        }
        default:
            return [];
    }
}

/** A table (`t`, `s.t`) or column (`t.c`) as oldCodeBreaks and introducedObjects name it: `public.` left out. */
export function objectKey(table: string, column?: string): string {
    const t = table.startsWith("public.") ? table.slice("public.".length) : table;
    return column === undefined ? t : `${t}.${column}`;
}

/**
 * The tables, views and columns a statement brings into being: CREATE TABLE
 * (… AS), CREATE VIEW, ADD COLUMN, and the new names of RENAME. A rollback
 * keeping the schema reads them to leave out changes to objects the target's
 * code never knew (added after it).
 */
export function introducedObjects(kind: string, node: any): string[] {
    switch (kind) {
        case "CreateStmt":
            return node.relation ? [objectKey(qualified(node.relation))] : [];
        case "CreateTableAsStmt":
            return node.into?.rel ? [objectKey(qualified(node.into.rel))] : [];
        case "ViewStmt":
            return node.view ? [objectKey(qualified(node.view))] : [];
        case "RenameStmt": {
            const schema = node.relation?.schemaname ? `${node.relation.schemaname}.` : "";
            if (node.renameType === "OBJECT_TABLE") return [objectKey(`${schema}${node.newname}`)];
            if (node.renameType === "OBJECT_COLUMN") return [objectKey(qualified(node.relation), node.newname)];
            return [];
        }
        case "AlterTableStmt": {
            const table = qualified(node.relation);
            return (node.cmds ?? []).flatMap((c: any) =>
                c.AlterTableCmd?.subtype === "AT_AddColumn" && c.AlterTableCmd.def?.ColumnDef?.colname
                    ? [objectKey(table, c.AlterTableCmd.def.ColumnDef.colname)]
                    : [],
            );
        }
        default:
            return [];
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
