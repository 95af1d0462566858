/**
 * SQL analysis with the real PostgreSQL parser (libpg-query, WASM): check a
 * file's bytes, split it into statements where PostgreSQL's grammar does, and
 * find the destructive ones, the ones PostgreSQL refuses inside a transaction,
 * and uses of an enum value the same file adds. Pure: no database, no Pulumi.
 */
import * as libpgQuery from "libpg-query";
import * as path from "path";
import { MigrationFileError } from "../errors";
import { destructiveParts, introducedObjects, nameList, noTransactionRule, oldCodeBreaks, stringConstants } from "./statementRules";
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

/** The WASM parser; libpg-query loads itself once per process. */
export async function loadSqlParser(): Promise<ParserModule> {
    const mod = libpgQuery as unknown as ParserModule;
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

// The statement rules, importable from here as before.
export {
    NO_TRANSACTION_STATEMENTS,
    type NoTransactionStatement,
    noTransactionRule,
    refusedInTransaction,
    oldCodeBreaks,
    objectKey,
    introducedObjects,
    destructiveParts,
} from "./statementRules";
