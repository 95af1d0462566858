/**
 * readMigrationDir and loadMigrations on hostile directories: versions beyond
 * PostgreSQL's bigint, symbolic links (to files, to directories, dangling),
 * directories named like migrations.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../../components/errors";
import { loadMigrations, readMigrationDir } from "../../components/schema/migrationSet";
import { migrationsDir } from "../support/migrationsDir";
import { tempDir } from "../support/tempDir";

describe("readMigrationDir on hostile directories", () => {
    it("names a missing directory and a file where the directory should be, with the key that sets it", () => {
        const root = tempDir("keel-migdir-");
        assert.throws(
            () => readMigrationDir(path.join(root, "nope"), "nope"),
            (e: Error) => {
                assert.ok(e instanceof MigrationFileError);
                assert.match(e.message, /^Migrations directory 'nope' does not exist\. Create it \(mkdir -p nope\)/);
                return true;
            },
        );
        fs.writeFileSync(path.join(root, "keel"), "#!/usr/bin/env node\n");
        assert.throws(
            () => readMigrationDir(path.join(root, "keel"), "keel"),
            (e: Error) => {
                assert.ok(e instanceof MigrationFileError);
                assert.match(e.message, /^Migrations directory 'keel' is a file, not a directory\. Set keel:migrations\.dir/);
                return true;
            },
        );
    });

    it("refuses a version above bigint's range up front, naming the file and the limit, with the other problems", async () => {
        const dir = migrationsDir({
            "0001_ok.sql": "SELECT 1;",
            "9223372036854775807_largest.sql": "SELECT 2;",
            "9223372036854775808_too_big.sql": "SELECT 3;",
            "99999999999999999999999_way_too_big.sql": "SELECT 4;",
            "bad-name.sql": "SELECT 5;",
        });
        const { sources, problems } = readMigrationDir(dir);
        assert.deepEqual(
            sources.map((s) => s.version),
            ["1", "9223372036854775807"],
        );
        assert.equal(problems.length, 3, problems.join("\n"));
        const big = problems.find((p) => p.includes("9223372036854775808_too_big.sql"));
        assert.ok(big, problems.join("\n"));
        assert.ok(big.startsWith(path.join(dir, "9223372036854775808_too_big.sql") + ": "), big);
        assert.match(big, /above the largest version, 9223372036854775807/);
        assert.ok(problems.some((p) => p.includes("99999999999999999999999_way_too_big.sql") && p.includes("9223372036854775807")));
        await assert.rejects(loadMigrations(dir), (err: Error) => {
            assert.ok(err instanceof MigrationFileError);
            assert.match(err.message, /3 problems; nothing has been run/);
            assert.match(err.message, /9223372036854775808_too_big\.sql: version 9223372036854775808 is above the largest version/);
            return true;
        });
    });

    it("leading zeros do not count against the limit", () => {
        const { sources, problems } = readMigrationDir(migrationsDir({ "0009223372036854775807_padded.sql": "SELECT 1;" }));
        assert.deepEqual(problems, []);
        assert.deepEqual(
            sources.map((s) => s.version),
            ["9223372036854775807"],
        );
    });

    it("follows a symbolic link to a regular file: a migration with the target's bytes", async () => {
        const shared = tempDir("keel-shared-");
        fs.writeFileSync(path.join(shared, "common.sql"), "CREATE TABLE linked (id int);\n");
        const dir = migrationsDir({ "0001_a.sql": "SELECT 1;" });
        fs.symlinkSync(path.join(shared, "common.sql"), path.join(dir, "0002_linked.sql"));
        fs.symlinkSync("0001_a.sql", path.join(dir, "0003_relative_link.sql"));
        const files = await loadMigrations(dir);
        assert.deepEqual(
            files.map((f) => [f.version, f.name]),
            [
                ["1", "a"],
                ["2", "linked"],
                ["3", "relative_link"],
            ],
        );
        const bytes = fs.readFileSync(path.join(shared, "common.sql"));
        assert.equal(files[1].checksum, createHash("sha256").update(bytes).digest("hex"));
        assert.equal(files[1].statements[0].kind, "CreateStmt");
    });

    it("reports a dangling link, a link to a directory and a directory named like a migration, each clearly", () => {
        const dir = migrationsDir({ "0001_a.sql": "SELECT 1;" });
        fs.symlinkSync(path.join(dir, "nowhere.sql"), path.join(dir, "0002_dangling.sql"));
        const sub = tempDir("keel-subdir-");
        fs.symlinkSync(sub, path.join(dir, "0003_to_dir.sql"));
        fs.mkdirSync(path.join(dir, "0004_dir.sql"));
        const { sources, problems } = readMigrationDir(dir);
        assert.deepEqual(
            sources.map((s) => s.version),
            ["1"],
        );
        assert.equal(problems.length, 3, problems.join("\n"));
        const about = (name: string) =>
            problems.find((p) => p.startsWith(path.join(dir, name) + ": ")) ??
            assert.fail(`no problem for ${name}:\n${problems.join("\n")}`);
        assert.match(about("0002_dangling.sql"), /symbolic link to .*nowhere\.sql, which does not exist/);
        assert.match(about("0003_to_dir.sql"), /symbolic link to a directory/);
        assert.match(about("0004_dir.sql"), /is a directory/);
        for (const p of problems) assert.doesNotMatch(p, /name must be/);
    });
});
