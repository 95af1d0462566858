/**
 * Property tests of Keel's statement splitting (analyzeSql) against generated
 * files whose statements are known (test/support/sqlGen.ts): statements joined
 * with any mix of \n, \r\n and \r, with `--` and nested block comments, dollar
 * quotes, '' and E'' strings, quoted identifiers and BEGIN ATOMIC bodies.
 *  - Keel finds exactly the generated statements (text, kind, line, column),
 *    also when it hands the parser the file in pieces of any size;
 *  - on a sample, PostgreSQL 15 applying the file through applyMigrations ends
 *    with exactly the generated rows, and so does psql applying the same file.
 * KEEL_PROPERTY_RUNS=<n> runs more cases (default 200 for the splitter, and a
 * tenth of that, at least 12, against the server).
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { analyzeSql } from "../../components/schema/sql";
import { freshDatabase } from "../support/postgres";
import { psqlApply } from "../support/psql";
import { editorPosition, GenFile, migrationFile } from "../support/sqlGen";
import { engineSettings, migrationsDir, withClient } from "../support/migrationsDir";

const RUNS = Number(process.env.KEEL_PROPERTY_RUNS ?? 200);
const SERVER_RUNS = Math.max(12, Math.round(RUNS / 10));

function expected(f: GenFile) {
    return f.statements.map((s) => {
        const { line, column } = editorPosition(f.text, s.start);
        return { kind: s.kind, sql: s.sql, line, column };
    });
}

async function logRows(url: string): Promise<[number, string][]> {
    return withClient(url, async (c) =>
        (await c.query("SELECT n, v FROM log ORDER BY n, v")).rows.map((r) => [r.n, r.v] as [number, string]),
    );
}

describe("statement splitting (property)", function () {
    this.timeout(300000);

    it(`finds exactly the generated statements, lines and columns, whole or in pieces (${RUNS} files)`, async () => {
        await fc.assert(
            fc.asyncProperty(migrationFile(8), fc.integer({ min: 1, max: 400 }), async (f, chunkChars) => {
                const whole = await analyzeSql(f.text, "gen.sql");
                assert.deepEqual(
                    whole.statements.map((s) => ({ kind: s.kind, sql: s.sql, line: s.line, column: s.column })),
                    expected(f),
                );
                assert.deepEqual(await analyzeSql(f.text, "gen.sql", { chunkChars }), whole, `in pieces of ${chunkChars} characters`);
                assert.deepEqual(await analyzeSql(f.text, "gen.sql", { chunkChars: 1 }), whole, "one statement at a time");
            }),
            { numRuns: RUNS },
        );
    });

    it(`PostgreSQL 15 (through applyMigrations) and psql both end with exactly the generated rows (${SERVER_RUNS} files)`, async () => {
        await fc.assert(
            fc.asyncProperty(migrationFile(6), async (f) => {
                const dir = migrationsDir({ "1_gen.sql": f.text });
                const keelUrl = await freshDatabase("prop");
                await applyMigrations(keelUrl, scanMigrations(dir), engineSettings());
                assert.deepEqual(await logRows(keelUrl), f.rows, "Keel");
                const psqlUrl = await freshDatabase("prop");
                const psql = psqlApply(psqlUrl, path.join(dir, "1_gen.sql"));
                assert.ok(psql.ok, psql.output);
                assert.deepEqual(await logRows(psqlUrl), f.rows, "psql");
                fs.rmSync(dir, { recursive: true, force: true });
            }),
            { numRuns: SERVER_RUNS },
        );
    });
});
