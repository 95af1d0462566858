/**
 * A large data migration through the whole engine: scanMigrations, parsing in
 * bounded pieces, and applyMigrations on PostgreSQL 15, which receives the
 * transactional file as one message. 2 MB by default; KEEL_BIG_MIGRATION_MB=50
 * runs the 50 MB file of about 690,000 INSERTs that one parse of the whole
 * text ran out of memory on. Prints what it measured (peak RSS of this process,
 * the server backend's peak when /proc shows it); asserts no time or size.
 * npm run bench:big-migration measures the same in a fresh process.
 */
import { strict as assert } from "assert";
import * as path from "path";
import { parseMigrations, scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { backendPeakMb, bigMigration } from "../support/bigMigration";
import { freshDatabase } from "../support/postgres";
import { engineSettings, historyRows, migrationsDir, withClient } from "../support/migrationsDir";

const MB = Number(process.env.KEEL_BIG_MIGRATION_MB ?? 2);

describe(`a large data migration (${MB} MB)`, function () {
    this.timeout(Math.max(120000, MB * 30000));

    it("applies through applyMigrations with the right lint facts", async () => {
        const big = bigMigration(MB * 1e6);
        const dir = migrationsDir({ "1_big.sql": big.text });
        const url = await freshDatabase("big");
        const [file] = await parseMigrations(scanMigrations(dir));
        assert.equal(file.statements.length, big.statements);
        assert.deepEqual(file.destructive, [{ line: big.dropLine, what: "DROP TABLE big_scratch" }]);
        const last = file.statements[file.statements.length - 2];
        assert.equal(last.line, big.dropLine - 1);
        assert.match(last.sql, /^INSERT INTO big_t .* VALUES \(\d+, 'n\d+', '[^']*'\)$/);
        const afterParse = process.resourceUsage().maxRSS / 1024;

        let serverPeak: number | undefined;
        const watch = setInterval(() => {
            void withClient(url, async (c) => {
                const r = await c.query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'keel-migrate%'",
                );
                for (const { pid } of r.rows) {
                    const peak = backendPeakMb(pid);
                    if (peak !== undefined) serverPeak = Math.max(serverPeak ?? 0, peak);
                }
            }).catch(() => undefined);
        }, 250);
        try {
            const result = await applyMigrations(url, [file], engineSettings({ statementTimeout: "1h" }));
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["1"],
            );
        } finally {
            clearInterval(watch);
        }
        assert.deepEqual(
            (await historyRows(url)).map((r) => [r.version, r.status]),
            [["1", "applied"]],
        );
        await withClient(url, async (c) => {
            assert.equal(Number((await c.query("SELECT count(*) AS n FROM big_t")).rows[0].n), big.inserts);
            assert.equal((await c.query("SELECT to_regclass('big_scratch') AS t")).rows[0].t, null);
            assert.equal((await c.query("SELECT note FROM big_t WHERE id = 999")).rows[0].note, "é; /*");
        });
        const size = (Buffer.byteLength(big.text) / 1e6).toFixed(1);
        console.log(
            `      ${path.basename(dir)}/1_big.sql: ${size} MB, ${big.statements} statements; peak RSS of the test process ` +
                `${afterParse.toFixed(0)} MB after parsing, ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB after applying` +
                (serverPeak ? `; server backend peak ${serverPeak.toFixed(0)} MB` : ""),
        );
    });
});
