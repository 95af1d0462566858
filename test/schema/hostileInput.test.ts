/**
 * Migration files under hostile input, one case at a time: a NUL byte, CR-only
 * line endings, bytes that are not UTF-8, a byte order mark, ANALYZE and the
 * statements refused inside a transaction, ALTER TYPE … ADD VALUE used in the
 * same file, a large file, and empty files. Nothing silently dropped, nothing
 * wrongly refused: each case is checked in the parser and on the test cluster.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../../components/errors";
import { loadMigrations, migrationSource, parseDirectives, parseMigration, scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { analyzeSql, loadSqlParser } from "../../components/schema/sql";
import { loadMigrationSummaries } from "../../components/schema/summary";
import { freshDatabase } from "../support/postgres";
import { engineSettings, historyRows, migrationsDir, rejection, relationExists, withClient } from "../support/migrationsDir";

/** A migrations directory holding raw bytes. */
function byteDir(files: Record<string, Buffer | string>): string {
    const dir = migrationsDir();
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
    return dir;
}

/** Scans, parses and applies `dir`; on a refusal the error, with the database untouched. */
async function applyDir(url: string, dir: string) {
    return applyMigrations(url, scanMigrations(dir), engineSettings());
}

/** Nothing of the file reached the database: no history table (or no row), none of the named tables. */
async function assertNothingApplied(url: string, tables: string[]): Promise<void> {
    assert.deepEqual(await historyRows(url), [], "no history row");
    for (const t of tables) assert.equal(await relationExists(url, `public.${t}`), false, `${t} was not created`);
}

function assertNoStack(err: Error): void {
    assert.doesNotMatch(err.message, /\n\s+at /, "no stack trace in the message");
}

describe("hostile migration files", function () {
    this.timeout(120000);

    describe("a NUL byte", () => {
        const bytes = Buffer.from("CREATE TABLE n3 (id int);\0DROP TABLE base_t;\n", "utf8");

        it("is refused by the parser, naming the file and the byte offset", async () => {
            const err = await rejection(analyzeSql(bytes.toString("utf8"), "migrations/0003_nul.sql"));
            assert.ok(err instanceof MigrationFileError, String(err));
            assert.match(err.message, /^migrations\/0003_nul\.sql: byte 25 \(line 1, column 26\) is a NUL byte/);
            assert.match(err.message, /nothing has been run/);
        });

        it("refuses the file before anything runs: no history row, no object", async () => {
            const url = await freshDatabase();
            await withClient(url, (c) => c.query("CREATE TABLE base_t (id int)"));
            const dir = byteDir({ "0001_ok.sql": "CREATE TABLE ok (id int);\n", "0003_nul.sql": bytes });
            const err = await rejection(applyDir(url, dir));
            assert.ok(err instanceof MigrationFileError, String(err));
            assert.match(err.message, /0003_nul\.sql: byte 25 \(line 1, column 26\) is a NUL byte \(00\)/);
            assert.match(err.message, /remove it/i);
            assertNoStack(err);
            await assertNothingApplied(url, ["ok", "n3"]);
            assert.equal(await relationExists(url, "public.base_t"), true, "base_t was not dropped");
        });

        it("counts the offset in bytes, after multi-byte text", async () => {
            const err = await rejection(Promise.resolve().then(() => migrationSource("1_x.sql", Buffer.from("SELECT 'é';\n\0", "utf8"))));
            assert.match(err.message, /^1_x\.sql: byte 13 \(line 2, column 1\) is a NUL byte/);
        });
    });

    describe("CR-only line endings (old Mac)", () => {
        const file = "-- c\rCREATE TABLE k9 (id int);\rCREATE TABLE k9b (id int);\r";

        it("end a -- comment as PostgreSQL does: both statements are found, on lines 2 and 3", async () => {
            const { statements } = await analyzeSql(file, "f.sql");
            assert.deepEqual(
                statements.map((s) => [s.sql, s.line, s.column]),
                [
                    ["CREATE TABLE k9 (id int)", 2, 1],
                    ["CREATE TABLE k9b (id int)", 3, 1],
                ],
            );
        });

        it("count \\r\\n, \\n and \\r as one line break each, in statements and in syntax errors", async () => {
            const { statements } = await analyzeSql("SELECT 1;\r\nSELECT 2;\rSELECT 3;\nSELECT 4;\r\r\nSELECT 5;", "f.sql");
            assert.deepEqual(
                statements.map((s) => s.line),
                [1, 2, 3, 4, 6],
            );
            const err = await rejection(analyzeSql("SELECT 1;\r/* x\r */ SELECT 2;\rSELEC 3;", "f.sql"));
            assert.match(err.message, /^f\.sql:4:1: SQL syntax error: syntax error at or near "SELEC"/);
        });

        it("keep directives working: lines end at \\r\\n, \\n or \\r", () => {
            assert.deepEqual(parseDirectives("-- keel:no-transaction\rCREATE INDEX CONCURRENTLY i ON t (a);\r", "f.sql"), {
                transaction: false,
                allowDestructive: false,
            });
            assert.deepEqual(parseDirectives("-- keel:lock-timeout 9s\r-- keel:allow-destructive\r\nDROP TABLE t;", "f.sql"), {
                transaction: true,
                lockTimeout: "9s",
                allowDestructive: true,
            });
            assert.throws(
                () => parseDirectives("-- keel:lock-timeout 5s\r-- keel:no-transaction, except\rSELECT 1;", "f.sql"),
                /'-- keel:no-transaction' takes nothing after it \(found ', except'\)/,
            );
        });

        it("apply every statement, also CREATE INDEX CONCURRENTLY under a CR-terminated directive", async () => {
            const url = await freshDatabase();
            const dir = byteDir({
                "1_k9.sql": file,
                "2_t.sql": "CREATE TABLE t (a int);\r",
                "3_idx.sql": "-- keel:no-transaction\rCREATE INDEX CONCURRENTLY t_a ON t (a);\r",
            });
            const result = await applyDir(url, dir);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["1", "2", "3"],
            );
            assert.equal(await relationExists(url, "public.k9"), true);
            assert.equal(await relationExists(url, "public.k9b"), true);
            assert.equal(await relationExists(url, "public.t_a"), true, "the concurrent index was built");
        });

        it("keep CRs inside string literals as data", async () => {
            const url = await freshDatabase();
            const dir = byteDir({ "1_s.sql": "CREATE TABLE s (v text);\rINSERT INTO s VALUES ('a\rb'), (E'c\\rd\r');\r" });
            await applyDir(url, dir);
            const rows = await withClient(url, async (c) => (await c.query("SELECT v FROM s ORDER BY v")).rows.map((r) => r.v));
            assert.deepEqual(rows, ["a\rb", "c\rd\r"]);
        });

        it("report a failing statement's line as editors count it", async () => {
            const url = await freshDatabase();
            const dir = byteDir({ "1_f.sql": "CREATE TABLE f (id int);\rSELECT\r  1,\r  missing_column\rFROM f;\r" });
            const err = await rejection(applyDir(url, dir));
            assert.match(err.message, /^1_f\.sql:4: column "missing_column" does not exist/);
        });
    });

    describe("bytes that are not UTF-8", () => {
        const cases: { what: string; bytes: Buffer; offset: number; hex: string }[] = [
            {
                what: "Latin-1 é",
                bytes: Buffer.concat([Buffer.from("INSERT INTO t VALUES ('caf"), Buffer.from([0xe9]), Buffer.from("');\n")]),
                offset: 26,
                hex: "e9",
            },
            {
                what: "cp1252 quotes",
                bytes: Buffer.concat([
                    Buffer.from("SELECT 1;\nCOMMENT ON TABLE t IS "),
                    Buffer.from([0x93]),
                    Buffer.from("x"),
                    Buffer.from([0x94]),
                    Buffer.from(";\n"),
                ]),
                offset: 32,
                hex: "93",
            },
            {
                what: "an overlong /",
                bytes: Buffer.concat([Buffer.from("SELECT '"), Buffer.from([0xc0, 0xaf]), Buffer.from("';")]),
                offset: 8,
                hex: "c0 af",
            },
            {
                what: "an encoded surrogate",
                bytes: Buffer.concat([Buffer.from("SELECT '"), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("';")]),
                offset: 8,
                hex: "ed a0 80",
            },
            {
                what: "a sequence cut short by the end of the file",
                bytes: Buffer.concat([Buffer.from("SELECT 1; -- "), Buffer.from([0xe2, 0x82])]),
                offset: 13,
                hex: "e2 82",
            },
        ];
        for (const c of cases) {
            it(`refuses ${c.what}, naming the file, the byte offset and the bytes`, () => {
                assert.throws(
                    () => migrationSource("0004_enc.sql", c.bytes, "migrations/0004_enc.sql"),
                    (err: Error) => {
                        assert.ok(err instanceof MigrationFileError, String(err));
                        assert.match(
                            err.message,
                            new RegExp(
                                `^migrations/0004_enc\\.sql: byte ${c.offset} \\(line \\d+, column \\d+\\) is not UTF-8: ${c.hex}\\b`,
                            ),
                        );
                        assert.match(err.message, /UTF-8/);
                        assert.match(err.message, /nothing has been run/);
                        assertNoStack(err);
                        return true;
                    },
                );
            });
        }

        it("applies nothing of a directory holding such a file", async () => {
            const url = await freshDatabase();
            const dir = byteDir({ "1_t.sql": "CREATE TABLE t (v text);\n", "2_cafe.sql": cases[0].bytes });
            const err = await rejection(applyDir(url, dir));
            assert.match(err.message, /2_cafe\.sql: byte 26 \(line 1, column 27\) is not UTF-8: e9/);
            await assertNothingApplied(url, ["t"]);
        });
    });

    describe("a UTF-8 byte order mark", () => {
        const bom = Buffer.from([0xef, 0xbb, 0xbf]);

        it("is skipped at the start of the file, as psql skips it; the checksum is still of the file's bytes", async () => {
            const url = await freshDatabase();
            const bytes = Buffer.concat([bom, Buffer.from("-- keel:lock-timeout 7s\nCREATE TABLE b1 (id int);\n")]);
            const dir = byteDir({ "1_bom.sql": bytes });
            const [file] = await loadMigrations(dir);
            assert.equal(file.directives.lockTimeout, "7s");
            assert.deepEqual(
                file.statements.map((s) => [s.sql, s.line, s.column]),
                [["CREATE TABLE b1 (id int)", 2, 1]],
            );
            await applyDir(url, dir);
            assert.equal(await relationExists(url, "public.b1"), true);
            const [row] = await historyRows(url);
            assert.equal(row.checksum, createHash("sha256").update(bytes).digest("hex"));
        });

        it("anywhere else is part of a word, as to PostgreSQL: a syntax error", async () => {
            const dir = byteDir({
                "1_bom.sql": Buffer.concat([Buffer.from("CREATE TABLE b1 (id int);\n"), bom, Buffer.from("CREATE TABLE b2 (id int);\n")]),
            });
            await assert.rejects(loadMigrations(dir), /1_bom\.sql:2:1: SQL syntax error: syntax error at or near "\uFEFFCREATE"/);
        });
    });

    describe("statements refused inside a transaction", () => {
        it("ANALYZE is not among them (only VACUUM is)", async () => {
            const { statements } = await analyzeSql("ANALYZE t (a);\nANALYZE;\nVACUUM (ANALYZE) t;\nVACUUM t;", "f.sql");
            assert.deepEqual(
                statements.map((s) => s.needsNoTransaction === true),
                [false, false, true, true],
            );
        });

        it("ANALYZE tbl (col) applies in a transactional file", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "1_t.sql": "CREATE TABLE tbl (col int);\nINSERT INTO tbl VALUES (1);\nANALYZE tbl (col);\n" });
            const result = await applyMigrations(url, await loadMigrations(dir), engineSettings());
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["1"],
            );
        });

        it("REINDEX (CONCURRENTLY false) is not concurrent", async () => {
            const { statements } = await analyzeSql(
                "REINDEX (CONCURRENTLY false) TABLE t; REINDEX (CONCURRENTLY) TABLE t; REINDEX TABLE t;",
                "f.sql",
            );
            assert.deepEqual(
                statements.map((s) => s.needsNoTransaction === true),
                [false, true, false],
            );
        });
    });

    describe("ALTER TYPE … ADD VALUE", () => {
        const file = [
            "CREATE TABLE moods (m mood);", // line 1
            "ALTER TYPE mood ADD VALUE 'elated';", // line 2
            "INSERT INTO moods VALUES ('happy');", // line 3
            "INSERT INTO moods VALUES ('elated');", // line 4
        ].join("\n");

        it("is a warning, not a refusal, when the same transactional file uses the new value", async () => {
            const dir = migrationsDir({ "1_mood.sql": "CREATE TYPE mood AS ENUM ('happy');\n", "2_elated.sql": file });
            const files = await loadMigrations(dir);
            assert.deepEqual(files[0].warnings, []);
            assert.equal(files[1].warnings.length, 1);
            assert.match(files[1].warnings[0].what, /'elated'.*added by ALTER TYPE mood ADD VALUE at line 2.*same transaction/);
            assert.equal(files[1].warnings[0].line, 4);
            const [, summary] = await loadMigrationSummaries(dir);
            assert.deepEqual(summary.warnings, [`line 4: ${files[1].warnings[0].what}`]);
        });

        it("is no warning in a no-transaction file; it is one when the file created the type itself (PostgreSQL refuses that too)", async () => {
            const noTx = await parseMigration(migrationSource("2_elated.sql", Buffer.from(`-- keel:no-transaction\n${file}`)));
            assert.deepEqual(noTx.warnings, []);
            const created = await parseMigration(
                migrationSource("1_mood.sql", Buffer.from(`CREATE TYPE mood AS ENUM ('happy');\n${file}`)),
            );
            assert.deepEqual(
                created.warnings.map((w) => w.line),
                [5],
            );
        });

        it("the warning is right: PostgreSQL 15 refuses the use, also of a type the file created, and accepts it without a transaction", async () => {
            for (const [files, line] of [
                [{ "1_mood.sql": "CREATE TYPE mood AS ENUM ('happy');\n", "2_elated.sql": file }, 4],
                [{ "2_elated.sql": `CREATE TYPE mood AS ENUM ('happy');\n\n\n${file}` }, 7],
            ] as const) {
                const url = await freshDatabase();
                const err = await rejection(applyMigrations(url, scanMigrations(migrationsDir(files)), engineSettings()));
                assert.match(err.message, new RegExp(`^2_elated\\.sql:${line}: unsafe use of new value "elated" of enum type mood`));
            }
            const url = await freshDatabase();
            const ok = migrationsDir({
                "1_mood.sql": "CREATE TYPE mood AS ENUM ('happy');\n",
                "2_elated.sql": `-- keel:no-transaction\n${file}`,
            });
            await applyMigrations(url, scanMigrations(ok), engineSettings());
            const rows = await withClient(url, async (c) =>
                (await c.query("SELECT m::text AS v FROM moods ORDER BY moods.m")).rows.map((r) => r.v),
            );
            assert.deepEqual(rows, ["happy", "elated"]);
        });
    });

    describe("a large file", () => {
        it("is handed to the parser in bounded pieces, with the same statements and lint facts as in one piece", async () => {
            const lines: string[] = [];
            for (let i = 0; i < 3000; i++) lines.push(`INSERT INTO big_t VALUES (${i}, 'row ${i}; not a break', $$x;$$);`);
            lines.push("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;");
            lines.push("DROP TABLE big_t;");
            const text = lines.join("\r\n");
            const whole = await analyzeSql(text, "f.sql", { chunkChars: text.length * 2 });
            const pieces = await analyzeSql(text, "f.sql", { chunkChars: 1000 });
            assert.equal(pieces.statements.length, 3002);
            assert.deepEqual(pieces, whole);
            assert.deepEqual(pieces.destructive, [{ line: 3002, what: "DROP TABLE big_t" }]);
            assert.match(pieces.statements[3000].sql, /BEGIN ATOMIC SELECT 1; SELECT 2; END$/);
            const parser = await loadSqlParser();
            const longest = { chars: 0 };
            const original = parser.parseSync;
            parser.parseSync = (sql: string) => {
                longest.chars = Math.max(longest.chars, sql.length);
                return original(sql);
            };
            try {
                await analyzeSql(text, "f.sql", { chunkChars: 10000 });
            } finally {
                parser.parseSync = original;
            }
            assert.ok(longest.chars < 12000, `the parser saw ${longest.chars} characters at once`);
        });

        it("reports a syntax error deep in a large file at its line and column", async () => {
            const lines: string[] = [];
            for (let i = 0; i < 2000; i++) lines.push(`INSERT INTO t VALUES (${i}, 'é');`);
            lines[1500] = "INSERT INTO t VALUES (1, 'é') WHERE;";
            const err = await rejection(analyzeSql(lines.join("\n"), "f.sql", { chunkChars: 1000 }));
            assert.match(err.message, /^f\.sql:1501:31: SQL syntax error: syntax error at or near "WHERE"/);
        });
    });

    describe("empty files", () => {
        for (const [what, text] of [
            ["an empty file", ""],
            ["a file of white space", "  \n\t\r\n\f"],
            ["a file of comments", "-- nothing yet\n/* still nothing */\n"],
        ]) {
            it(`applies ${what} as a no-op, recorded as applied`, async () => {
                const url = await freshDatabase();
                const dir = migrationsDir({ "1_empty.sql": text, "2_t.sql": "CREATE TABLE t (id int);\n" });
                const [empty] = await loadMigrations(dir);
                assert.deepEqual(empty.statements, []);
                const result = await applyDir(url, dir);
                assert.deepEqual(
                    result.ran.map((r) => r.version),
                    ["1", "2"],
                );
                assert.deepEqual(
                    (await historyRows(url)).map((r) => [r.version, r.status]),
                    [
                        ["1", "applied"],
                        ["2", "applied"],
                    ],
                );
            });
        }

        it("does not take a file for comments only when a block comment is not closed (PostgreSQL: unterminated /* comment)", async () => {
            for (const text of ["/* /* */ CREATE TABLE t (id int);", "-- c\r/* open", "/*"]) {
                const err = await rejection(analyzeSql(text, "f.sql"));
                assert.match(err.message, /^f\.sql:\d+:\d+: SQL syntax error: unterminated \/\* comment/, JSON.stringify(text));
            }
        });

        it("refuses a vertical tab between statements, as PostgreSQL 15 does (the parser follows 17, which takes it for white space)", async () => {
            for (const [text, where] of [
                ["SELECT 1;\v", "1:10"],
                ["SELECT 1; \v ; SELECT 2;", "1:11"],
                ["\v", "1:1"],
                ["SELECT 1;\r-- c\r\v/* d */", "3:1"],
            ]) {
                const err = await rejection(analyzeSql(text, "f.sql"));
                assert.ok(err instanceof MigrationFileError, String(err));
                assert.match(
                    err.message,
                    new RegExp(`^f\\.sql:${where}: SQL syntax error: PostgreSQL reads the character U\\+000B here`),
                    JSON.stringify(text),
                );
            }
        });

        it("applies an empty no-transaction file too", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "1_empty.sql": "-- keel:no-transaction\n" });
            const result = await applyDir(url, dir);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["1"],
            );
        });
    });
});
