/**
 * fast-check generators of migration files whose statements are known, for the
 * splitter's property test and the hostile-input fuzz test. Each generated file
 * creates a table `log (n int, v text)` and fills it: every statement stores a
 * value written as a tricky literal ('…''…', E'…\'…', $$…$$, $tag$…$tag$,
 * quoted identifiers, an identifier with `$` in it, a BEGIN ATOMIC body, a
 * plpgsql body), with white space (any mix of \n, \r\n, \r, \t, \f) and comments
 * (`--` ended by any line break, nested block comments, both full of `;`,
 * quotes and fake statements) between the tokens and between the statements.
 * The generator knows each statement's text, where it starts, and the rows
 * the file leaves in `log`: the oracle the tests compare Keel (and PostgreSQL,
 * and psql) with.
 */
import fc from "fast-check";

/** One statement as generated: its text as Keel should report it (trailing white space trimmed) and its kind. */
export interface GenStatement {
    sql: string;
    kind: string;
    /** Character offset of its first token in the file. */
    start: number;
}

export interface GenFile {
    text: string;
    statements: GenStatement[];
    /** The rows `log` holds after the file ran: n -> v. */
    rows: [number, string][];
}

/** 1-based line and column of an offset, lines ending at \r\n, \n or \r (written apart from Keel's own counter). */
export function editorPosition(text: string, offset: number): { line: number; column: number } {
    const before = text.slice(0, offset);
    const breaks = before.match(/\r\n|\r|\n/g) ?? [];
    const lastBreak = Math.max(before.lastIndexOf("\n"), before.lastIndexOf("\r"));
    return { line: breaks.length + 1, column: offset - (lastBreak + 1) + 1 };
}

const lineEnd = fc.constantFrom("\n", "\r\n", "\r");
const space = fc.constantFrom(" ", "\t", "\n", "\r\n", "\r", "\f", "  \r\n\t");
const FAKE = "INSERT INTO log VALUES (-1, 'from a comment');";

/** Text for comments: no line break (for `--`), no `/` or `*` (so nothing opens or closes a block comment by accident). */
const commentText = fc
    .array(fc.constantFrom("a", " ", ";", "'", '"', "$$", "$t$", "-", "--", "é", "😀", "\\", "E'", FAKE), { maxLength: 5 })
    .map((parts) => parts.join(""));

const lineComment = fc.tuple(commentText, lineEnd).map(([t, e]) => `--${t}${e}`);

const blockComment: fc.Arbitrary<string> = fc.letrec<{ block: string }>((tie) => ({
    block: fc
        .array(fc.oneof({ depthSize: "small", withCrossShrink: true }, commentText, lineEnd, tie("block")), { maxLength: 4 })
        .map((parts) => `/*${parts.join("")}*/`),
})).block;

/** White space or comments between two tokens (never empty). */
export const separator: fc.Arbitrary<string> = fc
    .array(fc.oneof({ arbitrary: space, weight: 4 }, { arbitrary: lineComment, weight: 1 }, { arbitrary: blockComment, weight: 1 }), {
        minLength: 1,
        maxLength: 3,
    })
    .map((parts) => parts.join(""));

/** White space or comments, possibly none. */
const trivia = fc.oneof(fc.constant(""), separator);

/** A value for `log.v`: quotes, backslashes, semicolons, comment starters, dollars, line breaks, non-ASCII. */
export const value = fc
    .array(
        fc.constantFrom(
            "a",
            "b",
            "Z",
            "E",
            " ",
            ";",
            "'",
            "''",
            '"',
            "\\",
            "-",
            "--",
            "/",
            "/*",
            "*/",
            "*",
            "$",
            "$$",
            "$a$",
            "\n",
            "\r",
            "\r\n",
            "\t",
            "é",
            "😀",
            "(",
            ")",
        ),
        {
            maxLength: 8,
        },
    )
    .map((parts) => parts.join(""));

/** A literal whose value is `v`, written in one of PostgreSQL's string syntaxes. */
export const literal: fc.Arbitrary<{ sql: string; value: string }> = fc.oneof(
    value.map((v) => ({ sql: `'${v.replace(/'/g, "''")}'`, value: v })),
    fc.tuple(value, fc.boolean()).map(([v, doubled]) => ({
        sql:
            "E'" +
            v.replace(/[\\'\n\r\t]/g, (c) =>
                c === "\\"
                    ? "\\\\"
                    : c === "'"
                      ? doubled
                          ? "''"
                          : "\\'"
                      : c === "\n"
                        ? "\\n"
                        : c === "\r"
                          ? doubled
                              ? "\r"
                              : "\\r"
                          : "\\t",
            ) +
            "'",
        value: v,
    })),
    fc
        .tuple(value, fc.constantFrom("", "q", "tag_1", "é"))
        .filter(([v, tag]) => (v + `$${tag}$`).indexOf(`$${tag}$`) === v.length)
        .map(([v, tag]) => ({ sql: `$${tag}$${v}$${tag}$`, value: v })),
);

/** A quoted identifier's name: anything but NUL, short (PostgreSQL truncates names to 63 bytes). */
const identName = fc
    .array(fc.constantFrom("a", "Z", " ", ";", "'", '"', "--", "/*", "$", "é", "\r", "\n"), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(""));

type Part = { text: string; kind: string };

/** A statement (or two) storing row n: the parts and the value stored. */
function statementFor(n: number): fc.Arbitrary<{ parts: Part[]; value: string }> {
    const seps = fc.array(separator, { minLength: 16, maxLength: 16 });
    return fc.oneof(
        fc.tuple(literal, seps).map(([lit, s]) => ({
            parts: [
                { text: `INSERT${s[0]}INTO${s[1]}log${s[2]}(n,${s[3]}v)${s[4]}VALUES${s[5]}(${n},${s[6]}${lit.sql})`, kind: "InsertStmt" },
            ],
            value: lit.value,
        })),
        fc.tuple(literal, identName, seps).map(([lit, id, s]) => {
            const q = `"${id.replace(/"/g, '""')}"`;
            return {
                parts: [
                    {
                        text: `INSERT INTO log${s[0]}SELECT${s[1]}${n},${s[2]}${q}${s[3]}FROM${s[4]}(SELECT ${lit.sql}${s[5]}AS${s[6]}${q})${s[7]}AS s`,
                        kind: "InsertStmt",
                    },
                ],
                value: lit.value,
            };
        }),
        fc.tuple(literal, seps).map(([lit, s]) => ({
            // a$b$ is one identifier: `$b$` inside it opens no dollar quote.
            parts: [{ text: `INSERT INTO log SELECT ${n},${s[0]}a$b$ FROM (SELECT ${lit.sql} AS a$b$)${s[1]}AS s`, kind: "InsertStmt" }],
            value: lit.value,
        })),
        fc.tuple(literal, seps).map(([lit, s]) => ({
            parts: [
                {
                    text: `CREATE FUNCTION f_${n}()${s[0]}RETURNS text LANGUAGE sql${s[1]}BEGIN ATOMIC${s[2]}SELECT ${lit.sql};${s[3]}END`,
                    kind: "CreateFunctionStmt",
                },
                { text: `INSERT INTO log SELECT ${n}, f_${n}()`, kind: "InsertStmt" },
            ],
            value: lit.value,
        })),
        fc
            .tuple(literal, seps)
            .filter(([lit]) => !lit.sql.includes("$body$"))
            .map(([lit, s]) => ({
                parts: [
                    {
                        text: `CREATE FUNCTION g_${n}() RETURNS text LANGUAGE plpgsql AS $body$${s[0]}BEGIN${s[1]}RETURN ${lit.sql};${s[2]}END;${s[3]}$body$`,
                        kind: "CreateFunctionStmt",
                    },
                    { text: `INSERT INTO log SELECT ${n}, g_${n}()`, kind: "InsertStmt" },
                ],
                value: lit.value,
            })),
    );
}

/** What follows a statement before its `;`: comments and white space (a `--` comment always ends in a line break). */
const beforeSemicolon = fc.oneof({ arbitrary: fc.constant(""), weight: 2 }, { arbitrary: separator, weight: 1 });
/** What follows a `;`: trivia, sometimes an empty statement (`;;`). */
const afterSemicolon = fc.tuple(trivia, fc.boolean(), trivia).map(([a, extra, b]) => (extra ? `${a};${b}` : a));

function trimPgSpaceEnd(s: string): string {
    return s.replace(/[ \t\n\r\f]+$/, "");
}

/** A migration file of 1 + `count` (1 to maxStatements) statement groups with the generator's oracle. */
export function migrationFile(maxStatements = 6): fc.Arbitrary<GenFile> {
    return fc.integer({ min: 0, max: maxStatements }).chain((count) =>
        fc
            .tuple(
                trivia,
                separator,
                fc.tuple(...Array.from({ length: count }, (_, i) => statementFor(i + 1))),
                fc.array(fc.tuple(beforeSemicolon, afterSemicolon), { minLength: count * 2 + 1, maxLength: count * 2 + 1 }),
                fc.boolean(),
            )
            .map(([lead, s0, groups, gaps, finalSemicolon]) => {
                const parts: Part[] = [
                    { text: `CREATE TABLE log${s0}(n int, v text)`, kind: "CreateStmt" },
                    ...groups.flatMap((g) => g.parts),
                ];
                let text = lead;
                const statements: GenStatement[] = [];
                parts.forEach((p, i) => {
                    const start = text.length;
                    const [before, after] = gaps[i] ?? ["", ""];
                    const last = i === parts.length - 1;
                    text += p.text + before;
                    statements.push({ sql: trimPgSpaceEnd(p.text + before), kind: p.kind, start });
                    if (!last || finalSemicolon) text += `;${after}`;
                });
                return { text, statements, rows: groups.map((g, i) => [i + 1, g.value] as [number, string]) };
            }),
    );
}
