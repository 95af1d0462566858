/**
 * The parts of PostgreSQL's SQL lexer (src/backend/parser/scan.l, PostgreSQL 15)
 * that Keel needs around the real parser: what is white space and what is a
 * comment between statements, and where a statement can end (a `;` outside
 * strings, quoted identifiers, dollar quotes, comments and parentheses), so
 * that a large file can be handed to the parser in pieces. Lines are counted
 * as editors (and PostgreSQL's `--` comments) count them: a line ends at
 * `\r\n`, `\n` or `\r`. Pure: no parser, no database.
 */

const TAB = 9;
const LF = 10;
const FF = 12;
const CR = 13;
const SPACE = 32;
const DQUOTE = 34;
const DOLLAR = 36;
const AMP = 38;
const QUOTE = 39;
const LPAREN = 40;
const RPAREN = 41;
const STAR = 42;
const DASH = 45;
const SLASH = 47;
const SEMI = 59;
const BACKSLASH = 92;

/**
 * scan.l's `space` in PostgreSQL 15: `[ \t\n\r\f]`. Not `\v` (PostgreSQL 16
 * added it; a 15 server calls it a syntax error), and no Unicode space: a
 * no-break space or a byte order mark is part of a word to PostgreSQL.
 */
export function isPgSpace(c: number): boolean {
    return c === SPACE || c === LF || c === CR || c === TAB || c === FF;
}

/** scan.l's `ident_start`: `[A-Za-z\200-\377_]` (every non-ASCII character, as UTF-8 bytes are all >= 0x80). */
function isIdentStart(c: number): boolean {
    return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 0x80;
}

/** scan.l's `ident_cont`: `[A-Za-z\200-\377_0-9\$]`. */
function isIdentCont(c: number): boolean {
    return isIdentStart(c) || (c >= 48 && c <= 57) || c === DOLLAR;
}

function isDigit(c: number): boolean {
    return c >= 48 && c <= 57;
}

/** The end of a `--` comment starting at `i`: the line break that ends it (a `\n` or a `\r`), or `end`. */
function endOfLineComment(text: string, i: number, end: number): number {
    for (let j = i + 2; j < end; j++) {
        const c = text.charCodeAt(j);
        if (c === LF || c === CR) return j;
    }
    return end;
}

/** Just past the `*\/` closing the (nesting) block comment opened at `i`, or -1 when it is not closed before `end`. */
function endOfBlockComment(text: string, i: number, end: number): number {
    let depth = 0;
    let j = i;
    while (j < end) {
        const c = text.charCodeAt(j);
        if (c === SLASH && text.charCodeAt(j + 1) === STAR) {
            depth++;
            j += 2;
        } else if (c === STAR && text.charCodeAt(j + 1) === SLASH) {
            j += 2;
            if (--depth === 0) return j;
        } else j++;
    }
    return -1;
}

/**
 * Offset of the first character at or after `from` that is neither PostgreSQL
 * white space nor inside a comment (`--` to the end of the line, nested `/* *\/`).
 * A block comment that is not closed before `end` is no comment but an error
 * (PostgreSQL: "unterminated /* comment"): its `/*` is where the trivia stop.
 */
export function skipTrivia(text: string, from: number, end = text.length): number {
    let i = from;
    while (i < end) {
        const c = text.charCodeAt(i);
        if (isPgSpace(c)) i++;
        else if (c === DASH && text.charCodeAt(i + 1) === DASH) i = endOfLineComment(text, i, end);
        else if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
            const after = endOfBlockComment(text, i, end);
            if (after < 0) return i;
            i = after;
        } else return i;
    }
    return end;
}

/** `end` moved back over PostgreSQL white space, not before `start`. */
export function trimSpaceEnd(text: string, start: number, end: number): number {
    let e = end;
    while (e > start && isPgSpace(text.charCodeAt(e - 1))) e--;
    return e;
}

/** True when the text holds nothing but white space and comments: PostgreSQL finds no statement in it. */
export function isOnlyTrivia(text: string): boolean {
    return skipTrivia(text, 0) === text.length;
}

/** Just past the quote closing a string whose body starts at `i`; `backslash` for E'' strings. `end` when unterminated. */
function endOfQuoted(text: string, i: number, end: number, quote: number, backslash: boolean): number {
    let j = i;
    while (j < end) {
        const c = text.charCodeAt(j);
        if (backslash && c === BACKSLASH) j += 2;
        else if (c === quote) {
            // A doubled quote is one quote inside the string.
            if (text.charCodeAt(j + 1) === quote) j += 2;
            else return j + 1;
        } else j++;
    }
    return end;
}

/**
 * Where the parser may be handed a piece of the text: just past the first `;`
 * at or after `from + atLeast` that ends a statement as far as the lexer can
 * tell (outside strings, quoted identifiers, dollar quotes, comments and
 * parentheses), or `text.length`. `from` must itself be between statements.
 * A `;` inside a `BEGIN ATOMIC … END` routine body looks the same to the lexer;
 * the caller notices such a cut because the parser then wants more input.
 */
export function nextStatementCut(text: string, from: number, atLeast: number): number {
    const end = text.length;
    let i = from;
    let depth = 0;
    while (i < end) {
        const c = text.charCodeAt(i);
        if (c === SEMI) {
            i++;
            if (depth === 0 && i - from >= atLeast) return i;
        } else if (c === DASH && text.charCodeAt(i + 1) === DASH) {
            // Also inside an operator: scan.l ends an operator where `--` or `/*` begins.
            i = endOfLineComment(text, i, end);
        } else if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
            const after = endOfBlockComment(text, i, end);
            i = after < 0 ? end : after;
        } else if (c === QUOTE) {
            i = endOfQuoted(text, i + 1, end, QUOTE, false);
        } else if (c === DQUOTE) {
            i = endOfQuoted(text, i + 1, end, DQUOTE, false);
        } else if (c === DOLLAR) {
            i = afterDollar(text, i, end);
        } else if (isIdentStart(c)) {
            const next = text.charCodeAt(i + 1);
            if ((c === 101 || c === 69) && next === QUOTE) {
                // E'…': backslash escapes
                i = endOfQuoted(text, i + 2, end, QUOTE, true);
            } else if ((c === 98 || c === 66 || c === 120 || c === 88 || c === 110 || c === 78) && next === QUOTE) {
                // B'…', X'…', N'…'
                i = endOfQuoted(text, i + 2, end, QUOTE, false);
            } else if ((c === 117 || c === 85) && next === AMP && (text.charCodeAt(i + 2) === QUOTE || text.charCodeAt(i + 2) === DQUOTE)) {
                // U&'…' and U&"…"
                i = endOfQuoted(text, i + 3, end, text.charCodeAt(i + 2), false);
            } else {
                // A word: `$` continues it, so `a$b$` is one identifier, not a dollar quote.
                i++;
                while (i < end && isIdentCont(text.charCodeAt(i))) i++;
            }
        } else if (isDigit(c)) {
            // A number; a `$` right after digits is not part of it (scan.l has no such rule), letters start the next token.
            i++;
            while (i < end && isDigit(text.charCodeAt(i))) i++;
        } else {
            if (c === LPAREN) depth++;
            else if (c === RPAREN && depth > 0) depth--;
            i++;
        }
    }
    return end;
}

/** Past a `$` token: a parameter (`$1`), a dollar-quoted string (`$$…$$`, `$tag$…$tag$`), or the lone `$`. */
function afterDollar(text: string, i: number, end: number): number {
    let j = i + 1;
    const first = text.charCodeAt(j);
    if (isDigit(first)) {
        while (j < end && isDigit(text.charCodeAt(j))) j++;
        return j;
    }
    // dolq_start [A-Za-z\200-\377_], dolq_cont [A-Za-z\200-\377_0-9]
    if (isIdentStart(first)) {
        j++;
        while (j < end && (isIdentStart(text.charCodeAt(j)) || isDigit(text.charCodeAt(j)))) j++;
    }
    if (text.charCodeAt(j) !== DOLLAR) return i + 1;
    const delimiter = text.slice(i, j + 1);
    // The body ends at the first exact occurrence of the opening delimiter, as in scan.l.
    const close = text.indexOf(delimiter, j + 1);
    return close < 0 || close >= end ? end : close + delimiter.length;
}

/**
 * 1-based line and column of increasing character offsets, in one pass over
 * the text. A line ends at `\r\n`, `\n` or a lone `\r`; columns count UTF-16
 * code units from the start of the line (characters, for all but astral ones).
 */
export function lineCounter(text: string): (offset: number) => { line: number; column: number } {
    let pos = 0;
    let line = 1;
    let lineStart = 0;
    return (offset) => {
        for (; pos < offset && pos < text.length; pos++) {
            const c = text.charCodeAt(pos);
            if (c === LF || (c === CR && text.charCodeAt(pos + 1) !== LF)) {
                line++;
                lineStart = pos + 1;
            }
        }
        return { line, column: offset - lineStart + 1 };
    };
}

/** The text's lines, split as editors split them (at `\r\n`, `\n` or `\r`). */
export function splitLines(text: string): string[] {
    return text.split(/\r\n|\n|\r/);
}

/**
 * Converts increasing UTF-8 byte offsets into a piece of `text` that starts at
 * character `base` into character offsets of `text`, in one pass (the parser
 * reports statement locations in bytes).
 */
export function byteToCharOffsets(text: string, base: number): (byteOffset: number) => number {
    let ci = base;
    let bi = 0;
    return (byteOffset) => {
        while (bi < byteOffset && ci < text.length) {
            const c = text.charCodeAt(ci);
            if (c < 0x80) {
                bi += 1;
                ci += 1;
            } else if (c < 0x800) {
                bi += 2;
                ci += 1;
            } else if (c >= 0xd800 && c <= 0xdbff) {
                // A surrogate pair: one code point, four bytes.
                bi += 4;
                ci += 2;
            } else {
                bi += 3;
                ci += 1;
            }
        }
        return ci;
    };
}

/** Character offset (UTF-16) of the `codePoints`-th code point of `text` after `base` (PostgreSQL's error positions count code points). */
export function codePointsToChars(text: string, base: number, codePoints: number): number {
    let ci = base;
    for (let n = 0; n < codePoints && ci < text.length; n++) {
        const c = text.charCodeAt(ci);
        ci += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    return ci;
}
