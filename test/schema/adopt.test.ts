/**
 * The pure parts of schema:adopt, tool by tool: reading each layout as the tool
 * does (order, up part, no-transaction mark, checksum as the tool computes it),
 * reading each history table's rows as the tool does, and the plan built from
 * both. Known values come from the tools' own definitions (CRC32 of "abc",
 * sha256 of "hello").
 */
import { strict as assert } from "assert";
import { dbmateHistory, dbmateSections, dbmateUpSql, readDbmateLayout } from "../../components/schema/adopt/dbmate";
import {
    compareFlywayVersions,
    flywayChecksum,
    flywayHistory,
    FlywayRow,
    flywayVersionKey,
    FLYWAY_RULES,
    parseScriptConfig,
    readFlywayLayout,
} from "../../components/schema/adopt/flyway";
import { ToolFile } from "../../components/schema/adopt/model";
import { compareNodePgMigrateFiles, nodePgMigrateUpSql, readNodePgMigrateLayout } from "../../components/schema/adopt/nodePgMigrate";
import { adoptedFiles, compareWithHistory, historyRowsFor, keelFileNames } from "../../components/schema/adopt/plan";
import {
    prismaChecksum,
    prismaChecksumMatches,
    prismaHistory,
    PrismaRow,
    PRISMA_RULES,
    readPrismaLayout,
} from "../../components/schema/adopt/prisma";
import { planAdoption, TOOLS } from "../../components/schema/adopt";
import { DEFAULT_ENGINE_SETTINGS } from "../../components/schema/runner";

const files = (entries: Record<string, string>): ToolFile[] =>
    Object.entries(entries).map(([p, t]) => ({ path: p, bytes: Buffer.from(t, "utf8") }));

describe("schema:adopt, pure parts", () => {
    describe("dbmate", () => {
        it("cuts the up section from its directive to -- migrate:down, and reads transaction:false", () => {
            const parsed = dbmateSections(
                "-- a comment\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- migrate:down\nDROP INDEX i;\n",
            );
            assert.ok("sections" in parsed);
            assert.deepEqual(parsed.sections, [
                {
                    up: "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
                    transaction: false,
                    directive: "-- migrate:up transaction:false",
                },
            ]);
            assert.deepEqual(dbmateUpSql(parsed.sections), {
                sql: "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
                noTransaction: true,
                mark: "-- migrate:up transaction:false",
            });
        });

        it("keeps sections that agree as they are, and wraps transactional ones in BEGIN … COMMIT when they disagree", () => {
            const text =
                "-- migrate:up\nCREATE TABLE a (x int);\n-- migrate:down\nDROP TABLE a;\n-- migrate:up transaction:false\nVACUUM a;\n-- migrate:down\n";
            const parsed = dbmateSections(text);
            assert.ok("sections" in parsed);
            assert.deepEqual(dbmateUpSql(parsed.sections), {
                sql: "BEGIN;\n-- migrate:up\nCREATE TABLE a (x int);\nCOMMIT;\n-- migrate:up transaction:false\nVACUUM a;\n",
                noTransaction: true,
                mark: "-- migrate:up transaction:false",
            });
        });

        it("takes a file of several sections it has not applied, and refuses one it has", () => {
            const layout = readDbmateLayout(
                files({ "1_two.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:up\nSELECT 2;\n-- migrate:down\n" }),
            );
            const pending = compareWithHistory(TOOLS.dbmate.rules, layout.migrations, dbmateHistory("public.schema_migrations", []));
            assert.deepEqual(pending, { states: ["pending"], problems: [] });
            assert.equal(layout.migrations[0].sql, "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n");
            const applied = compareWithHistory(
                TOOLS.dbmate.rules,
                layout.migrations,
                dbmateHistory("public.schema_migrations", [{ version: "1" }]),
            );
            assert.equal(applied.problems.length, 1);
            assert.match(applied.problems[0], /^1_two\.sql: it has 2 '-- migrate:up' sections/);
        });

        it("refuses what dbmate refuses, with dbmate's words", () => {
            assert.deepEqual(dbmateSections("CREATE TABLE a (x int);\n"), {
                error: "dbmate requires each migration to define an up block with '-- migrate:up'",
            });
            assert.deepEqual(dbmateSections("-- migrate:up\nSELECT 1;\n"), {
                error: "dbmate requires each migration to define a down block with '-- migrate:down'",
            });
            assert.deepEqual(dbmateSections("SELECT 1;\n-- migrate:up\nSELECT 1;\n-- migrate:down\n"), {
                error: "dbmate does not support statements preceding the '-- migrate:up' block",
            });
        });

        it("orders files by name bytes, as dbmate does, and renumbers when that is not the numeric order", () => {
            const layout = readDbmateLayout(
                files({
                    "9_nine.sql": "-- migrate:up\nSELECT 9;\n-- migrate:down\n",
                    "10_ten.sql": "-- migrate:up\nSELECT 10;\n-- migrate:down\n",
                    "README.md": "notes",
                }),
            );
            assert.deepEqual(
                layout.migrations.map((m) => m.source),
                ["10_ten.sql", "9_nine.sql"],
            );
            assert.deepEqual(layout.notes, ["README.md: not a dbmate migration (dbmate reads <version>_<name>.sql files), left out"]);
            const { names, renumbered } = keelFileNames(layout.migrations);
            assert.equal(renumbered, true);
            assert.deepEqual(
                names.map((n) => n.file),
                ["0001_ten.sql", "0002_nine.sql"],
            );
        });

        it("refuses two files of one version; keeps leading zeros in Keel's name", () => {
            const layout = readDbmateLayout(
                files({
                    "001_a.sql": "-- migrate:up\n-- migrate:down\n",
                    "001_b.sql": "-- migrate:up\n-- migrate:down\n",
                    "002_c.sql": "-- migrate:up\n-- migrate:down\n",
                }),
            );
            assert.equal(layout.problems.length, 1);
            assert.match(layout.problems[0], /^001_b\.sql: version 001 is also 001_a\.sql's/);
            assert.deepEqual(
                keelFileNames(layout.migrations).names.map((n) => [n.file, n.version]),
                [
                    ["001_a.sql", "1"],
                    ["002_c.sql", "2"],
                ],
            );
            assert.deepEqual(dbmateHistory("public.schema_migrations", [{ version: "001" }]).entries, [
                { id: "001", label: "version 001", status: "applied" },
            ]);
        });
    });

    describe("node-pg-migrate", () => {
        it("takes the up part as its SQL loader does: the whole file without markers, up to the down marker otherwise", () => {
            assert.equal(nodePgMigrateUpSql("CREATE TABLE a (x int);\n"), "CREATE TABLE a (x int);\n");
            assert.equal(nodePgMigrateUpSql("-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 2;\n"), "-- Up Migration\nSELECT 1;\n");
            assert.equal(nodePgMigrateUpSql("-- Down Migration\nSELECT 2;\n-- up migration\nSELECT 1;\n"), "-- up migration\nSELECT 1;\n");
        });

        it("orders 17-digit UTC prefixes by the time they stand for, as node-pg-migrate does", () => {
            // 2023-11-14T22:13:20.001Z as 17 digits sorts after 1700000000000 (…20.000Z in milliseconds).
            const names = ["20231114221320001_b.sql", "1700000000000_a.sql", "1700000000002_c.sql"];
            assert.deepEqual([...names].sort(compareNodePgMigrateFiles), [
                "1700000000000_a.sql",
                "20231114221320001_b.sql",
                "1700000000002_c.sql",
            ]);
            const layout = readNodePgMigrateLayout(files(Object.fromEntries(names.map((n) => [n, "SELECT 1;\n"]))));
            assert.deepEqual(
                layout.migrations.map((m) => m.id),
                ["1700000000000_a", "20231114221320001_b", "1700000000002_c"],
            );
            // The tool's numbers do not sort in its order: Keel numbers them in it.
            assert.equal(keelFileNames(layout.migrations).renumbered, true);
        });
    });

    describe("Prisma", () => {
        it("records sha256 hex and matches a checksum across line ends and in the old unpadded form, as Prisma does", () => {
            assert.equal(prismaChecksum("hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
            assert.ok(prismaChecksumMatches("a\r\nb\r\n", prismaChecksum("a\nb\n")));
            assert.ok(prismaChecksumMatches("a\nb\n", prismaChecksum("a\r\nb\r\n")));
            assert.ok(!prismaChecksumMatches("a\nb\n", prismaChecksum("a\nb")));
            // An old Prisma wrote each byte without its leading zero.
            const unpadded = [...Buffer.from(prismaChecksum("hello"), "hex")].map((b) => b.toString(16)).join("");
            assert.notEqual(unpadded.length, 64);
            assert.ok(prismaChecksumMatches("hello", unpadded));
        });

        it("reads one migration per directory, in name order, and refuses a directory without migration.sql", () => {
            const layout = readPrismaLayout(
                files({
                    "migration_lock.toml": "",
                    "2_b/migration.sql": "SELECT 2;",
                    "10_a/migration.sql": "\uFEFFSELECT 1;",
                    "3_c/README.md": "",
                }),
            );
            assert.deepEqual(
                layout.migrations.map((m) => [m.id, m.number, m.name, m.sql]),
                [
                    ["10_a", "10", "a", "SELECT 1;"],
                    ["2_b", "2", "b", "SELECT 2;"],
                ],
            );
            assert.equal(
                layout.migrations[0].checksum,
                prismaChecksum(Buffer.from("\uFEFFSELECT 1;", "utf8")),
                "the BOM counts, as Prisma reads it",
            );
            assert.deepEqual(layout.problems, [
                "3_c/: a migration directory without migration.sql (Prisma refuses it too); add the script or remove the directory.",
            ]);
        });

        it("reads the rows of a migration as Prisma does: unfinished is failed, a later successful attempt wins over a rollback", () => {
            const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
            const row = (name: string, o: Partial<PrismaRow>): PrismaRow => ({
                id: `${name}-${o.started_at?.getTime()}`,
                checksum: "c",
                finished_at: null,
                migration_name: name,
                logs: null,
                rolled_back_at: null,
                started_at: at(0),
                applied_steps_count: 0,
                ...o,
            });
            const h = prismaHistory("public._prisma_migrations", [
                row("a", { finished_at: at(1), checksum: "ca" }),
                row("b", { started_at: at(2), rolled_back_at: at(3) }),
                row("b", { started_at: at(4), finished_at: at(5), checksum: "cb" }),
                row("c", { started_at: at(6), logs: "boom\nmore" }),
                row("d", { started_at: at(7), rolled_back_at: at(8) }),
            ]);
            assert.deepEqual(
                h.entries.map((e) => [e.id, e.status, e.checksum]),
                [
                    ["a", "applied", "ca"],
                    ["b", "applied", "cb"],
                    ["c", "failed", undefined],
                    ["d", "rolled-back", undefined],
                ],
            );
            assert.match(h.entries[2].detail!, /never finished: boom$/);
            const settle = PRISMA_RULES.settle(h.entries[2]);
            assert.match(settle, /prisma migrate resolve --rolled-back c/);
        });
    });

    describe("Flyway", () => {
        it("computes CRC32 of the lines without their ends or a BOM, as a signed integer", () => {
            assert.equal(flywayChecksum("abc"), 891568578); // 0x352441C2
            assert.equal(flywayChecksum("\uFEFFa\r\nb\rc\n"), flywayChecksum("abc"));
            assert.equal(flywayChecksum("CREATE TABLE users (id int PRIMARY KEY);\n"), -2134990597); // 0x80BE4CFB
        });

        it("orders and matches versions as Flyway does", () => {
            assert.ok(compareFlywayVersions("1.10", "1.9") > 0);
            assert.equal(compareFlywayVersions("1.0", "1"), 0);
            assert.equal(flywayVersionKey("1_1"), "1.1");
            assert.equal(flywayVersionKey("001"), "1");
            assert.equal(flywayVersionKey("1.a"), undefined);
        });

        it("reads V files anywhere below, their script settings, and leaves repeatable ones and callbacks out with a note", () => {
            const layout = readFlywayLayout(
                files({
                    "V2__Two.sql": "SELECT 2;",
                    "a/V1_9__One_nine.sql": "SELECT 19;",
                    "a/V1_10__One_ten.sql": "VACUUM;",
                    "a/V1_10__One_ten.sql.conf": "! comment\nexecuteInTransaction = false\n",
                    "R__views.sql": "CREATE VIEW v AS SELECT 1;",
                    "afterMigrate.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app;",
                    "V3__Placeholder.sql": "CREATE TABLE ${table} (id int);",
                }),
            );
            assert.deepEqual(
                layout.migrations.map((m) => [m.id, m.name, m.noTransaction]),
                [
                    ["1.9", "One_nine", false],
                    ["1.10", "One_ten", true],
                    ["2", "Two", false],
                ],
            );
            assert.equal(layout.migrations[1].mark, "executeInTransaction=false in a/V1_10__One_ten.sql.conf");
            assert.equal(layout.notes.length, 2);
            assert.match(layout.notes.join("\n"), /R__views\.sql: a repeatable migration/);
            assert.match(layout.notes.join("\n"), /afterMigrate\.sql: a Flyway callback/);
            assert.deepEqual(layout.problems.length, 1);
            assert.match(layout.problems[0], /V3__Placeholder\.sql: holds the Flyway placeholder \$\{table\}/);
            assert.deepEqual(
                [...parseScriptConfig("a=1\nb: 2\n# c=3\n")],
                [
                    ["a", "1"],
                    ["b", "2"],
                ],
            );
        });

        it("reads the history as Flyway does: the last row of a version decides; baseline, delete, undo, Java and schema rows", () => {
            const row = (
                installed_rank: number,
                version: string | null,
                type: string,
                success = true,
                checksum: number | null = 1,
            ): FlywayRow => ({
                installed_rank,
                version,
                description: "d",
                type,
                script: version ? `V${version}__d.sql` : "R__d.sql",
                checksum,
                success,
            });
            const h = flywayHistory("public.flyway_schema_history", [
                row(0, "0", "SCHEMA", true, null),
                row(1, "2", "BASELINE", true, null),
                row(2, "3", "SQL"),
                row(3, "4", "SQL", false),
                row(4, "5", "SQL"),
                row(5, "5", "DELETE"),
                row(6, "6", "SQL"),
                row(7, "6", "UNDO_SQL"),
                row(8, "7", "JDBC"),
                row(9, null, "SQL"),
            ]);
            assert.equal(h.baseline, "2");
            assert.deepEqual(
                h.entries.map((e) => [e.id, e.status]),
                [
                    ["3", "applied"],
                    ["4", "failed"],
                    ["6", "rolled-back"],
                ],
            );
            assert.equal(h.notes.length, 1);
            assert.equal(h.problems!.length, 1);
            assert.match(h.problems![0], /version 7 \(d\) is a JDBC migration \(V7__d\.sql\): Keel runs SQL files only/);
        });

        it("records versions at or below a baseline as baseline, and plans none of them as pending", async () => {
            const layout = readFlywayLayout(
                files({ "V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;", "V3__c.sql": "SELECT 3;", "V4__d.sql": "SELECT 4;" }),
            );
            const history = flywayHistory("public.flyway_schema_history", [
                {
                    installed_rank: 1,
                    version: "2",
                    description: "<< Flyway Baseline >>",
                    type: "BASELINE",
                    script: "<< Flyway Baseline >>",
                    checksum: null,
                    success: true,
                },
                {
                    installed_rank: 2,
                    version: "3",
                    description: "c",
                    type: "SQL",
                    script: "V3__c.sql",
                    checksum: flywayChecksum("SELECT 3;"),
                    success: true,
                },
            ]);
            const comparison = compareWithHistory(FLYWAY_RULES, layout.migrations, history);
            assert.deepEqual(comparison, { states: ["baseline", "baseline", "applied", "pending"], problems: [] });
            const adoption = await planAdoption(TOOLS.flyway, layout, history, DEFAULT_ENGINE_SETTINGS.plan);
            assert.deepEqual(adoption.problems, []);
            assert.deepEqual(
                adoption.rows.map((r) => [r.version, r.name, r.status]),
                [
                    ["1", "a", "baseline"],
                    ["2", "b", "baseline"],
                    ["3", "c", "applied"],
                ],
            );
            assert.deepEqual(
                adoption.files.map((f) => [f.file, f.state]),
                [
                    ["1_a.sql", "baseline"],
                    ["2_b.sql", "baseline"],
                    ["3_c.sql", "applied"],
                    ["4_d.sql", "pending"],
                ],
            );
        });
    });

    describe("the plan", () => {
        it("refuses a migration the tool has not run that comes before one it has", () => {
            const layout = readDbmateLayout(
                files({
                    "1_a.sql": "-- migrate:up\n-- migrate:down\n",
                    "2_b.sql": "-- migrate:up\n-- migrate:down\n",
                    "3_c.sql": "-- migrate:up\n-- migrate:down\n",
                }),
            );
            const c = compareWithHistory(
                TOOLS.dbmate.rules,
                layout.migrations,
                dbmateHistory("public.schema_migrations", [{ version: "1" }, { version: "3" }]),
            );
            assert.deepEqual(c.states, ["applied", "pending", "applied"]);
            assert.equal(c.problems.length, 1);
            assert.match(c.problems[0], /^2_b\.sql is not applied, but 3_c\.sql, which comes after it, is: apply it with dbmate/);
        });

        it("marks a file no-transaction for the tool's mark, for a statement PostgreSQL refuses in a transaction, and for its own BEGIN/COMMIT", async () => {
            const layout = readPrismaLayout(
                files({
                    "1_plain/migration.sql": "CREATE TABLE a (x int);\n",
                    "2_concurrently/migration.sql": "CREATE INDEX CONCURRENTLY a_x ON a (x);\n",
                    "3_own_transaction/migration.sql": "BEGIN;\nALTER TABLE a ADD COLUMN y int;\nCOMMIT;\n",
                }),
            );
            const history = prismaHistory(
                "public._prisma_migrations",
                layout.migrations.map((m, i) => ({
                    id: String(i),
                    checksum: m.checksum!,
                    finished_at: new Date(),
                    migration_name: m.id,
                    logs: null,
                    rolled_back_at: null,
                    started_at: new Date(i),
                    applied_steps_count: 1,
                })),
            );
            const adoption = await planAdoption(TOOLS.prisma, layout, history, DEFAULT_ENGINE_SETTINGS.plan);
            assert.deepEqual(adoption.problems, []);
            assert.deepEqual(
                adoption.files.map((f) => [f.file, f.noTransaction, f.why]),
                [
                    ["1_plain.sql", false, undefined],
                    ["2_concurrently.sql", true, "line 1 holds CREATE INDEX CONCURRENTLY, which PostgreSQL refuses in a transaction block"],
                    [
                        "3_own_transaction.sql",
                        true,
                        "it holds its own transaction control (line 1), which Keel allows only in a no-transaction file",
                    ],
                ],
            );
            assert.equal(
                adoption.files[1].text,
                "-- keel:no-transaction\n-- Adopted from Prisma: 2_concurrently/migration.sql (npm run schema:adopt).\nCREATE INDEX CONCURRENTLY a_x ON a (x);\n",
            );
            assert.deepEqual(
                historyRowsFor(adoption.files).map((r) => r.status),
                ["applied", "applied", "applied"],
            );
        });

        it("refuses SQL PostgreSQL's parser refuses, naming the file", async () => {
            const layout = readNodePgMigrateLayout(files({ "1_a.sql": "CREATE TABLE (;\n" }));
            const adoption = await planAdoption(
                TOOLS["node-pg-migrate"],
                layout,
                { table: "public.pgmigrations", entries: [], notes: [] },
                DEFAULT_ENGINE_SETTINGS.plan,
            );
            assert.equal(adoption.problems.length, 1);
            assert.match(adoption.problems[0], /^1_a\.sql:1:\d+: SQL syntax error/);
            assert.equal(adoptedFiles(TOOLS["node-pg-migrate"].rules, layout.migrations, ["pending"], [{}]).files[0].file, "1_a.sql");
        });
    });
});
