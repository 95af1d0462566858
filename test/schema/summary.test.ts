/** The program's view of the migrations: summaries, and the cache of the parser's facts. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadMigrations } from "../../components/schema/migrationSet";
import { loadMigrationSummaries, summarizeMigration } from "../../components/schema/summary";
import { migrationsDir } from "../support/migrationsDir";
import { tempDir } from "../support/tempDir";

const FILES = {
    "1_users.sql": "CREATE TABLE users (id int PRIMARY KEY, email text);",
    "2_drop.sql": "-- keel:allow-destructive\nALTER TABLE users DROP COLUMN email;",
    "3_index.sql": "-- keel:no-transaction\nCREATE INDEX CONCURRENTLY users_id ON users (id);",
};

describe("migration summaries", () => {
    it("equal the summaries of the fully parsed files, with and without a cache, first run and later", async () => {
        const dir = migrationsDir(FILES);
        const cacheFile = path.join(tempDir(), "lint.json");
        const expected = (await loadMigrations(dir)).map(summarizeMigration);
        assert.deepEqual(await loadMigrationSummaries(dir), expected);
        assert.deepEqual(await loadMigrationSummaries(dir, { cacheFile }), expected);
        assert.ok(fs.existsSync(cacheFile));
        assert.deepEqual(await loadMigrationSummaries(dir, { cacheFile }), expected);
        assert.deepEqual(expected[1].destructive, ["line 2: ALTER TABLE users DROP COLUMN email"]);
    });

    it("takes a seen file's facts from the cache, and parses it again once its bytes change", async () => {
        const dir = migrationsDir(FILES);
        const cacheFile = path.join(tempDir(), "lint.json");
        await loadMigrationSummaries(dir, { cacheFile });
        const cache = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
        const [users] = await loadMigrationSummaries(dir);
        // A planted fact shows the cache is what answered for unchanged bytes.
        cache.files[users.checksum] = ["line 9: planted"];
        fs.writeFileSync(cacheFile, JSON.stringify(cache));
        assert.deepEqual((await loadMigrationSummaries(dir, { cacheFile }))[0].destructive, ["line 9: planted"]);
        fs.writeFileSync(path.join(dir, "1_users.sql"), "CREATE TABLE users (id int PRIMARY KEY);\nDROP TABLE users;");
        assert.deepEqual((await loadMigrationSummaries(dir, { cacheFile }))[0].destructive, ["line 2: DROP TABLE users"]);
        assert.equal(
            JSON.parse(fs.readFileSync(cacheFile, "utf8")).files[users.checksum],
            undefined,
            "facts of bytes no longer present are dropped",
        );
    });

    it("ignores a cache written by another analysis", async () => {
        const dir = migrationsDir(FILES);
        const cacheFile = path.join(tempDir(), "lint.json");
        const [users] = await loadMigrationSummaries(dir);
        fs.writeFileSync(cacheFile, JSON.stringify({ analysis: "another-keel", files: { [users.checksum]: ["line 9: stale"] } }));
        assert.deepEqual((await loadMigrationSummaries(dir, { cacheFile }))[0].destructive, []);
    });

    it("never caches a file with a problem: it is reported at every run, with the others, naming the directory as configured", async () => {
        const dir = migrationsDir({ ...FILES, "4_bad.sql": "CREATE TABLE (;", "5_tx.sql": "BEGIN; CREATE TABLE t (id int); COMMIT;" });
        const cacheFile = path.join(tempDir(), "lint.json");
        for (let run = 0; run < 2; run++) {
            await assert.rejects(loadMigrationSummaries(dir, { cacheFile, display: "migrations" }), (err: Error) => {
                assert.equal(err.name, "MigrationFileError");
                assert.match(err.message, /The migrations in 'migrations' have 2 problems/);
                assert.match(err.message, /migrations\/4_bad\.sql/);
                assert.match(err.message, /migrations\/5_tx\.sql: line 1: transaction control/);
                return true;
            });
        }
    });
});
