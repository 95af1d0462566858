import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../../components/errors";
import { compareVersions, isPgDuration, loadMigrations, parseDirectives } from "../../components/schema/migrationSet";
import { migrationsDir } from "../support/migrationsDir";

describe("loadMigrations", () => {
    it("orders versions numerically, not by name, and checksums the file bytes", async () => {
        const dir = migrationsDir({
            "10_ten.sql": "SELECT 10;",
            "2_two.sql": "SELECT 2;",
            "20240101120000_stamp.sql": "SELECT 3;",
            "README.md": "notes are allowed",
            ".gitkeep": "",
        });
        const files = await loadMigrations(dir);
        assert.deepEqual(
            files.map((f) => [f.version, f.name]),
            [
                ["2", "two"],
                ["10", "ten"],
                ["20240101120000", "stamp"],
            ],
        );
        const bytes = fs.readFileSync(path.join(dir, "10_ten.sql"));
        assert.equal(files[1].checksum, createHash("sha256").update(bytes).digest("hex"));
    });

    it("reports every bad name, duplicate version and syntax error at once", async () => {
        const dir = migrationsDir({
            "0001_ok.sql": "SELECT 1;",
            "add_users.sql": "SELECT 1;",
            "0002-dash.sql": "SELECT 1;",
            "0003_a.sql": "SELECT 1;",
            "3_b.sql": "SELECT 1;",
            "0004_bad.sql": "SELEC 1;",
        });
        await assert.rejects(loadMigrations(dir), (err: Error) => {
            assert.ok(err instanceof MigrationFileError);
            assert.match(err.message, /4 problems; nothing has been run/);
            assert.match(err.message, /add_users\.sql: name must be <version>_<name>\.sql/);
            assert.match(err.message, /0002-dash\.sql: name must be/);
            assert.match(err.message, /version 3 is also used by (0003_a|3_b)\.sql/);
            assert.match(err.message, /0004_bad\.sql:1:1: SQL syntax error/);
            return true;
        });
    });

    it("says how to fix a missing directory", async () => {
        await assert.rejects(loadMigrations("/nonexistent/keel-migrations"), /does not exist.*keel:migrations\.dir/);
    });

    it("refuses transaction control and CONCURRENTLY in a transactional file, accepts them without a transaction", async () => {
        const dir = migrationsDir({
            "1_tx.sql": "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;",
            "2_cic.sql": "CREATE INDEX CONCURRENTLY i ON a (id);",
        });
        await assert.rejects(loadMigrations(dir), (err: Error) => {
            assert.match(err.message, /1_tx\.sql: line 1: transaction control .* keel:no-transaction/);
            assert.match(err.message, /2_cic\.sql: line 1: this statement cannot run inside a transaction.*keel:no-transaction/);
            return true;
        });
        const ok = migrationsDir({ "2_cic.sql": "-- keel:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);" });
        const [file] = await loadMigrations(ok);
        assert.equal(file.directives.transaction, false);
    });
});

describe("parseDirectives", () => {
    it("reads directives from the leading comments only", () => {
        const d = parseDirectives(
            "-- Adds things.\n-- keel:lock-timeout 30s\n--keel:statement-timeout 10min\n-- keel:allow-destructive\nSELECT 1;\n-- keel:no-transaction\n",
            "f.sql",
        );
        assert.deepEqual(d, { transaction: true, lockTimeout: "30s", statementTimeout: "10min", allowDestructive: true });
    });

    it("refuses text after a flag directive rather than guessing", () => {
        assert.throws(
            () => parseDirectives("-- keel:no-transaction, except for the index below\nSELECT 1;", "0008_x.sql"),
            /'-- keel:no-transaction' takes nothing after it/,
        );
        assert.deepEqual(parseDirectives("-- This file is not a keel:no-transaction file\n", "f.sql"), {
            transaction: true,
            allowDestructive: false,
        });
    });

    it("rejects unknown directives and bad durations, naming the file", () => {
        assert.throws(
            () => parseDirectives("-- keel:no-transactions\n-- keel:lock-timeout soon\n", "0007_x.sql"),
            (err: Error) => {
                assert.match(err.message, /^0007_x\.sql: /);
                assert.match(err.message, /unknown directive '-- keel:no-transactions'/);
                assert.match(err.message, /'-- keel:lock-timeout soon' needs a duration/);
                return true;
            },
        );
    });
});

describe("versions and durations", () => {
    it("compares versions as numbers", () => {
        assert.ok(compareVersions("9", "10") < 0);
        assert.ok(compareVersions("20240101000000", "3") > 0);
        assert.equal(compareVersions("42", "42"), 0);
    });
    it("accepts PostgreSQL durations only", () => {
        for (const ok of ["5s", "250ms", "10min", "1h", "3000"]) assert.ok(isPgDuration(ok), ok);
        for (const bad of ["5 seconds", "s", "-1s", "5s; DROP TABLE x"]) assert.ok(!isPgDuration(bad), bad);
    });
});
