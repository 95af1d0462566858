import { strict as assert } from "assert";
import { analyzeSql, refusedInTransaction } from "../../components/schema/sql";
import { MigrationFileError } from "../../components/errors";

describe("analyzeSql", () => {
    it("splits statements without breaking dollar-quoted bodies, comments or strings", async () => {
        const sql = [
            "-- leading comment; with a semicolon",
            "CREATE TABLE a (id int, note text DEFAULT 'x;y');",
            "/* block; comment /* nested; */ */",
            "CREATE FUNCTION f() RETURNS int AS $body$",
            "  SELECT 1; SELECT 2;",
            "$body$ LANGUAGE sql;",
            "INSERT INTO a VALUES (1, E'it''s; fine')",
        ].join("\n");
        const { statements } = await analyzeSql(sql, "0001_x.sql");
        assert.deepEqual(
            statements.map((s) => [s.kind, s.line, s.column]),
            [
                ["CreateStmt", 2, 1],
                ["CreateFunctionStmt", 4, 1],
                ["InsertStmt", 7, 1],
            ],
        );
        assert.match(statements[1].sql, /SELECT 1; SELECT 2;\n\$body\$ LANGUAGE sql$/);
        assert.equal(statements[0].sql, "CREATE TABLE a (id int, note text DEFAULT 'x;y')");
    });

    it("counts lines and columns in characters when the file has multi-byte text", async () => {
        const sql = "-- été ünïcode\nCOMMENT ON SCHEMA public IS 'café';  CREATE TABLE b (id int);";
        const { statements } = await analyzeSql(sql, "f.sql");
        assert.deepEqual(
            statements.map((s) => [s.line, s.column]),
            [
                [2, 1],
                [2, 38], // 38 characters in, 39 bytes: columns count characters
            ],
        );
        assert.equal(statements[1].sql, "CREATE TABLE b (id int)");
    });

    it("names file, line and column of a syntax error", async () => {
        const sql = "CREATE TABLE ok (id int);\n\nCREATE TABEL broken (id int);";
        await assert.rejects(analyzeSql(sql, "migrations/0002_broken.sql"), (err: Error) => {
            assert.ok(err instanceof MigrationFileError);
            assert.match(err.message, /^migrations\/0002_broken\.sql:3:8: SQL syntax error: syntax error at or near "TABEL"/);
            assert.match(err.message, /nothing has been run/);
            return true;
        });
    });

    it("lists destructive statements and leaves harmless ones alone", async () => {
        const sql = [
            "DROP TABLE IF EXISTS app.users, logs;",
            "ALTER TABLE t DROP COLUMN c, ADD COLUMN d int;",
            "ALTER TABLE t ALTER COLUMN e TYPE bigint;",
            "TRUNCATE t;",
            "DELETE FROM t;",
            "DELETE FROM t WHERE id = 1;",
            "UPDATE t SET a = 1;",
            "UPDATE t SET a = 1 WHERE id = 2;",
            "DROP SCHEMA old CASCADE;",
            "DROP INDEX i;",
            "CREATE TABLE n (id int);",
        ].join("\n");
        const { destructive } = await analyzeSql(sql, "f.sql");
        assert.deepEqual(destructive, [
            { line: 1, what: "DROP TABLE app.users" },
            { line: 1, what: "DROP TABLE logs" },
            { line: 2, what: "ALTER TABLE t DROP COLUMN c" },
            { line: 3, what: "ALTER TABLE t ALTER COLUMN e TYPE" },
            { line: 4, what: "TRUNCATE t" },
            { line: 5, what: "DELETE FROM t without WHERE" },
            { line: 7, what: "UPDATE t without WHERE" },
            { line: 9, what: "DROP SCHEMA old" },
        ]);
    });

    it("knows which statements PostgreSQL refuses inside a transaction", async () => {
        const { statements } = await analyzeSql(
            "CREATE INDEX CONCURRENTLY i ON t (a); CREATE INDEX j ON t (a); VACUUM t; DROP INDEX CONCURRENTLY i; REINDEX INDEX CONCURRENTLY j;",
            "f.sql",
        );
        assert.deepEqual(
            statements.map((s) => s.needsNoTransaction === true),
            [true, false, true, true, true],
        );
        assert.equal(refusedInTransaction("CreateStmt", {}), false);
    });
});
