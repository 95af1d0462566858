/**
 * The migration engine against a real PostgreSQL: order, history, the runner
 * lock, interrupted and failing runs, no-transaction files, timeouts, plan
 * problems, pooled URLs, syntax errors, statement splitting and libpq options.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadMigrations } from "../../components/schema/migrationSet";
import { applyMigrations, inspectSchema, resolveMigration } from "../../components/schema/runner";
import { freshDatabase, testCluster } from "../support/postgres";
import {
    applyDir,
    cliResult,
    connect,
    engineSettings,
    historyRows,
    migrationsDir,
    rejection,
    relationExists,
    runCli,
    spawnCli,
    waitFor,
    withClient,
    writeMigrations,
} from "../support/migrationsDir";

const apply = applyDir;

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe("migration runner (PostgreSQL)", function () {
    this.timeout(60000);
    let password: string;

    before(async () => {
        password = (await testCluster()).password;
    });

    it("applies files in numeric version order, records history with checksums, and applies nothing the second time", async () => {
        const url = await freshDatabase();
        // Each file appends its version to a log table, so the execution order is visible.
        const dir = migrationsDir({
            "1_create_log.sql":
                "CREATE TABLE run_log (seq serial PRIMARY KEY, version int NOT NULL);\nINSERT INTO run_log (version) VALUES (1);\n",
            "2_second.sql": "INSERT INTO run_log (version) VALUES (2);\n",
            "10_tenth.sql": "INSERT INTO run_log (version) VALUES (10);\n",
        });

        const first = await apply(url, dir, { appliedBy: "ci:alice" });
        assert.deepEqual(
            first.ran.map((r) => r.version),
            ["1", "2", "10"],
        );
        assert.equal(first.version, "10");

        const order = await withClient(url, async (c) =>
            (await c.query("SELECT version FROM run_log ORDER BY seq")).rows.map((r) => r.version),
        );
        assert.deepEqual(order, [1, 2, 10]);

        const rows = await historyRows(url);
        assert.deepEqual(
            rows.map((r) => [r.version, r.name, r.status, r.applied_by]),
            [
                ["1", "create_log", "applied", "ci:alice"],
                ["2", "second", "applied", "ci:alice"],
                ["10", "tenth", "applied", "ci:alice"],
            ],
        );
        const files: Record<string, string> = { "1": "1_create_log.sql", "2": "2_second.sql", "10": "10_tenth.sql" };
        for (const r of rows) {
            assert.equal(r.checksum, sha256(path.join(dir, files[r.version])), `checksum of ${files[r.version]}`);
            assert.equal(typeof r.execution_ms, "number");
            assert.ok(r.execution_ms >= 0);
        }

        const second = await apply(url, dir, { appliedBy: "ci:alice" });
        assert.deepEqual(second.ran, []);
        assert.equal(second.version, "10");
        assert.equal((await historyRows(url)).length, 3);
        const count = await withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM run_log")).rows[0].n);
        assert.equal(count, 3, "no file ran twice");
    });

    describe("two runners at once", () => {
        const files = {
            "0001_create_counter.sql": "CREATE TABLE hits (version int NOT NULL);\nINSERT INTO hits VALUES (1);\n",
            // Slow enough that the second runner finds the lock taken.
            "0002_slow.sql": "SELECT pg_sleep(0.5);\nINSERT INTO hits VALUES (2);\n",
            "0003_third.sql": "INSERT INTO hits VALUES (3);\n",
        };

        async function assertAppliedOnce(url: string): Promise<void> {
            const rows = await historyRows(url);
            assert.deepEqual(
                rows.map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "applied"],
                    ["3", "applied"],
                ],
            );
            const hits = await withClient(url, async (c) =>
                (await c.query("SELECT version FROM hits ORDER BY version")).rows.map((r) => r.version),
            );
            assert.deepEqual(hits, [1, 2, 3], "each file ran exactly once");
        }

        it("in one process, on separate connections: each migration is applied exactly once", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir(files);
            const loaded = await loadMigrations(dir);
            const [a, b] = await Promise.all([
                applyMigrations(url, loaded, engineSettings({ appliedBy: "runner-a" })),
                applyMigrations(url, loaded, engineSettings({ appliedBy: "runner-b" })),
            ]);
            const ran = [...a.ran, ...b.ran].map((r) => r.version).sort();
            assert.deepEqual(ran, ["1", "2", "3"], "between them the runners applied each file once");
            assert.ok(a.ran.length === 0 || b.ran.length === 0, "the runner that waited for the lock found nothing pending");
            assert.equal(a.version, "3");
            assert.equal(b.version, "3");
            await assertAppliedOnce(url);
        });

        it("as two CLI processes: each migration is applied exactly once and both exit 0", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir(files);
            const [a, b] = await Promise.all([runCli(["apply", "--dir", dir], url), runCli(["apply", "--dir", dir], url)]);
            assert.equal(a.code, 0, a.stderr);
            assert.equal(b.code, 0, b.stderr);
            await assertAppliedOnce(url);
            const appliedNow = [a.stdout, b.stdout].map((out) => Number(/(\d+) applied now/.exec(out)?.[1])).sort();
            assert.deepEqual(appliedNow, [0, 3], `stdout:\n${a.stdout}\n---\n${b.stdout}`);
        });
    });

    it("a runner killed with SIGKILL mid-file leaves no trace of that file, and the next run finishes the job", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_first.sql": "CREATE TABLE first_table (id int);\n",
            "0002_slow.sql": "CREATE TABLE second_table (id int);\nSELECT pg_sleep(2);\n",
            "0003_third.sql": "CREATE TABLE third_table (id int);\n",
        });
        const child = spawnCli(["apply", "--dir", dir], url);
        const done = cliResult(child);
        const admin = await connect(url);
        try {
            let sleeper: number | undefined;
            await waitFor("0001 in the history and 0002's pg_sleep running", async () => {
                const hist = await admin.query("SELECT to_regclass('public.keel_schema_history') IS NOT NULL AS present");
                if (!hist.rows[0].present) return false;
                const one = await admin.query("SELECT 1 FROM public.keel_schema_history WHERE version = 1");
                if (one.rowCount !== 1) return false;
                const act = await admin.query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()",
                );
                sleeper = act.rows[0]?.pid;
                return sleeper !== undefined;
            });
            child.kill("SIGKILL");
            const killed = await done;
            assert.equal(killed.signal, "SIGKILL");

            // The orphaned backend finishes its sleep, finds the client gone and rolls back.
            await waitFor(
                "the killed runner's backend to end",
                async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [sleeper])).rowCount === 0,
            );
            assert.equal(await relationExists(url, "public.first_table"), true);
            assert.equal(await relationExists(url, "public.second_table"), false, "0002's CREATE TABLE was rolled back");
            assert.deepEqual(
                (await historyRows(url)).map((r) => r.version),
                ["1"],
            );
        } finally {
            await admin.end();
        }

        const rerun = await runCli(["apply", "--dir", dir], url);
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.deepEqual(
            (await historyRows(url)).map((r) => [r.version, r.status]),
            [
                ["1", "applied"],
                ["2", "applied"],
                ["3", "applied"],
            ],
        );
        assert.equal(await relationExists(url, "public.second_table"), true);
        assert.equal(await relationExists(url, "public.third_table"), true);
    });

    it("a killed runner's long statement is ended by the server, so the lock frees long before the statement would finish", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_first.sql": "CREATE TABLE first_table (id int);\n",
            "0002_stuck.sql": "CREATE TABLE stuck (id int);\nSELECT pg_sleep(120);\n",
        });
        const child = spawnCli(["apply", "--dir", dir], url);
        const done = cliResult(child);
        const admin = await connect(url);
        try {
            let sleeper: number | undefined;
            await waitFor("0002's pg_sleep running", async () => {
                const act = await admin.query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()",
                );
                sleeper = act.rows[0]?.pid;
                return sleeper !== undefined;
            });
            child.kill("SIGKILL");
            await done;
            // client_connection_check_interval: the backend notices the lost client instead of sleeping on for 2 minutes.
            await waitFor(
                "the killed runner's backend to end",
                async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [sleeper])).rowCount === 0,
                30_000,
            );
            assert.equal(await relationExists(url, "public.stuck"), false);
        } finally {
            await admin.end();
        }
    });

    it("a failing statement rolls its file back, names file:line, never the password, and records nothing", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_a.sql": "CREATE TABLE a (id int);\n",
            "0002_b.sql": "CREATE TABLE b (id int);\n",
            "0003_x.sql": [
                "CREATE TABLE c (id int);", // line 1
                "INSERT INTO c VALUES (1);", // line 2
                "INSERT INTO c (id)", // line 3: the statement starts here ...
                "SELECT id FROM missing_table;", // line 4: ... and fails here
                "CREATE TABLE d (id int);", // line 5
                "",
            ].join("\n"),
        });
        const err = await rejection(apply(url, dir));
        assert.match(err.message, /^0003_x\.sql:4: /);
        assert.match(err.message, /missing_table/);
        assert.match(err.message, /42P01/);
        assert.ok(!err.message.includes(password), "the error does not contain the password");

        assert.equal(await relationExists(url, "public.a"), true);
        assert.equal(await relationExists(url, "public.b"), true);
        assert.equal(await relationExists(url, "public.c"), false, "0003's earlier statements were rolled back");
        assert.equal(await relationExists(url, "public.d"), false);
        assert.deepEqual(
            (await historyRows(url)).map((r) => [r.version, r.status]),
            [
                ["1", "applied"],
                ["2", "applied"],
            ],
        );
    });

    it("pins an error without a position (a unique violation) to its statement's line", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_seed.sql": [
                "CREATE TABLE tags (name text PRIMARY KEY); -- line 1",
                "INSERT INTO tags VALUES ('a');",
                "",
                "INSERT INTO tags VALUES ('b');",
                "INSERT INTO tags VALUES ('a'); -- line 5: duplicate",
                "INSERT INTO tags VALUES ('c');",
            ].join("\n"),
        });
        const err = await rejection(apply(url, dir));
        assert.match(err.message, /^0001_seed\.sql:5: duplicate key value violates unique constraint "tags_pkey" \[SQLSTATE 23505\]/);
        assert.equal(await relationExists(url, "public.tags"), false);
    });

    it("keeps statements apart when one ends in a comment without a newline before the semicolon", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_comments.sql":
                "CREATE TABLE a (id int) -- the semicolon follows on the next line\n;\nCREATE TABLE b (id int); -- and a last comment with no newline",
        });
        await apply(url, dir);
        assert.equal(await relationExists(url, "public.a"), true);
        assert.equal(await relationExists(url, "public.b"), true);
        assert.deepEqual(
            (await historyRows(url)).map((r) => r.version),
            ["1"],
        );
    });

    it("a deferred constraint failing at COMMIT names the file, rolls it back and records nothing", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_parents.sql": "CREATE TABLE parents (id int PRIMARY KEY);\n",
            "0002_children.sql": [
                "CREATE TABLE children (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED);",
                "INSERT INTO children VALUES (5);",
                "",
            ].join("\n"),
        });
        const err = await rejection(apply(url, dir));
        assert.match(err.message, /^0002_children\.sql: COMMIT failed: .*children_parent_id_fkey/);
        assert.match(err.message, /23503/);
        assert.match(err.message, /rolled back/);
        assert.equal(await relationExists(url, "public.children"), false);
        assert.deepEqual(
            (await historyRows(url)).map((r) => r.version),
            ["1"],
        );
        // The connection was left usable: a fixed file applies on the next run.
        writeMigrations(dir, {
            "0002_children.sql": "CREATE TABLE children (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED);\n",
        });
        assert.deepEqual(
            (await apply(url, dir)).ran.map((r) => r.version),
            ["2"],
        );
    });

    describe("no-transaction files", () => {
        it("run CREATE INDEX CONCURRENTLY, and the index is valid", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_items.sql":
                    "CREATE TABLE items (id int, sku text);\nINSERT INTO items SELECT g, 'sku-' || g FROM generate_series(1, 1000) g;\n",
                "0002_items_sku_idx.sql": "-- keel:no-transaction\nCREATE INDEX CONCURRENTLY items_sku_idx ON items (sku);\n",
            });
            const result = await apply(url, dir);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["1", "2"],
            );
            const idx = await withClient(
                url,
                async (c) =>
                    (
                        await c.query(
                            "SELECT x.indisvalid, x.indisready FROM pg_index x WHERE x.indexrelid = 'public.items_sku_idx'::regclass",
                        )
                    ).rows,
            );
            assert.deepEqual(idx, [{ indisvalid: true, indisready: true }]);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "applied"],
                ],
            );
            // Session settings from the no-transaction file do not linger.
            assert.deepEqual((await apply(url, dir)).ran, []);
        });

        it("CREATE INDEX CONCURRENTLY in a transactional file is refused at load time", async () => {
            const dir = migrationsDir({
                "0001_items.sql": "CREATE TABLE items (id int);\n",
                "0002_idx.sql": "-- an index\nCREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n",
            });
            const err = await rejection(loadMigrations(dir));
            assert.match(err.message, /0002_idx\.sql/);
            assert.match(err.message, /line 2/);
            assert.match(err.message, /keel:no-transaction/);
        });

        async function failedNoTransactionDb() {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_items.sql": "CREATE TABLE items (id int);\n",
                "0002_orders.sql": "CREATE TABLE orders (id int);\n",
                "0003_indexes.sql": [
                    "-- keel:no-transaction",
                    "CREATE INDEX CONCURRENTLY items_id_idx ON items (id);",
                    "CREATE INDEX CONCURRENTLY lines_id_idx ON order_lines (id);",
                    "",
                ].join("\n"),
                "0004_after.sql": "CREATE TABLE after_table (id int);\n",
            });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /^0003_indexes\.sql:3: /);
            assert.match(err.message, /order_lines/);
            assert.ok(!err.message.includes(password));
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "applied"],
                    ["3", "failed"],
                ],
            );
            assert.equal(await relationExists(url, "public.items_id_idx"), true, "the statement before the failure stays applied");

            // Every later run refuses, and runs nothing after it.
            for (let i = 0; i < 2; i++) {
                const again = await rejection(apply(url, dir));
                assert.match(again.message, /version 3 \(indexes\) is recorded as failed/);
                assert.match(again.message, /schema:resolve -- 3 --applied/);
                assert.match(again.message, /--rolled-back/);
            }
            assert.equal(await relationExists(url, "public.after_table"), false);
            return { url, dir };
        }

        it("a failure records 'failed'; runs refuse until resolveMigration(..., 'applied') settles it", async () => {
            const { url, dir } = await failedNoTransactionDb();
            // The operator completes the change by hand, under a corrected file.
            await withClient(url, (c) => c.query("CREATE TABLE order_lines (id int); CREATE INDEX lines_id_idx ON order_lines (id)"));
            writeMigrations(dir, {
                "0003_indexes.sql": [
                    "-- keel:no-transaction",
                    "CREATE INDEX CONCURRENTLY items_id_idx ON items (id);",
                    "CREATE INDEX CONCURRENTLY lines_id_idx ON order_lines (id); -- table created in 0002 by hand",
                    "",
                ].join("\n"),
            });
            const files = await loadMigrations(dir);
            const three = files.find((f) => f.version === "3");
            const row = await resolveMigration(url, engineSettings(), "3", "applied", three);
            assert.equal(row.status, "failed");
            const rows = await historyRows(url);
            assert.equal(rows.find((r) => r.version === "3")?.status, "applied");
            assert.equal(rows.find((r) => r.version === "3")?.checksum, three!.checksum, "resolved with the file's current checksum");

            const result = await apply(url, dir);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["4"],
                "0003 is not run again; 0004 runs",
            );
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "applied"],
                    ["3", "applied"],
                    ["4", "applied"],
                ],
            );

            // Nothing left to resolve.
            const nothing = await rejection(resolveMigration(url, engineSettings(), "3", "applied", three));
            assert.match(nothing.message, /not failed/);
        });

        it("a failure is settled by the CLI 'resolve <v> --rolled-back', after which the file runs again", async () => {
            const { url, dir } = await failedNoTransactionDb();
            // The operator undoes the partial change and creates what was missing.
            await withClient(url, (c) => c.query("DROP INDEX items_id_idx; CREATE TABLE order_lines (id int)"));
            const res = await runCli(["resolve", "3", "--rolled-back", "--dir", dir], url);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /version 3 \(indexes\) removed from the history/);
            assert.deepEqual(
                (await historyRows(url)).map((r) => r.version),
                ["1", "2"],
            );

            const result = await apply(url, dir);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["3", "4"],
            );
            const valid = await withClient(
                url,
                async (c) =>
                    (
                        await c.query(
                            "SELECT bool_and(indisvalid) AS ok, count(*)::int AS n FROM pg_index WHERE indexrelid IN ('items_id_idx'::regclass, 'lines_id_idx'::regclass)",
                        )
                    ).rows[0],
            );
            assert.deepEqual(valid, { ok: true, n: 2 });
        });

        it("resolveMigration(..., 'rolled-back') removes the failed row", async () => {
            const { url } = await failedNoTransactionDb();
            await resolveMigration(url, engineSettings(), "3", "rolled-back", undefined);
            assert.deepEqual(
                (await historyRows(url)).map((r) => r.version),
                ["1", "2"],
            );
            const missing = await rejection(resolveMigration(url, engineSettings(), "3", "rolled-back", undefined));
            assert.match(missing.message, /no row/);
        });
    });

    describe("timeouts", () => {
        it("lock_timeout from '-- keel:lock-timeout' fires with SQLSTATE 55P03 and a hint; history unchanged", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int);\n" });
            await apply(url, dir);
            writeMigrations(dir, { "0002_add_email.sql": "-- keel:lock-timeout 200ms\nALTER TABLE accounts ADD COLUMN email text;\n" });

            const holder = await connect(url);
            try {
                await holder.query("BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
                const started = Date.now();
                const err = await rejection(apply(url, dir, { lockTimeout: "30s" }));
                const elapsed = Date.now() - started;
                assert.match(err.message, /^0002_add_email\.sql:2: /);
                assert.match(err.message, /55P03/);
                assert.match(err.message, /lock_timeout fired/);
                assert.match(err.message, /keel:lock-timeout/);
                assert.ok(elapsed < 10000, `the file's 200ms overrides the 30s setting (took ${elapsed} ms)`);
            } finally {
                await holder.query("ROLLBACK").catch(() => undefined);
                await holder.end();
            }
            assert.deepEqual(
                (await historyRows(url)).map((r) => r.version),
                ["1"],
            );
            const cols = await withClient(url, async (c) =>
                (
                    await c.query(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position",
                    )
                ).rows.map((r) => r.column_name),
            );
            assert.deepEqual(cols, ["id"]);
        });

        it("statement_timeout from the settings fires with SQLSTATE 57014 and a hint", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_a.sql": "CREATE TABLE a (id int);\n",
                "0002_slow.sql": "CREATE TABLE b (id int);\nSELECT pg_sleep(2);\n",
            });
            const err = await rejection(apply(url, dir, { statementTimeout: "300ms" }));
            assert.match(err.message, /^0002_slow\.sql:2: /);
            assert.match(err.message, /57014/);
            assert.match(err.message, /statement_timeout fired/);
            assert.deepEqual(
                (await historyRows(url)).map((r) => r.version),
                ["1"],
            );
            assert.equal(await relationExists(url, "public.b"), false);
        });
    });

    it("waits for another runner's advisory lock, then fails naming the holder's pid and application_name", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n" });
        const holder = await connect(url);
        try {
            await holder.query("SET application_name = 'other-runner-test'");
            await holder.query("SELECT pg_advisory_lock(1262830924, hashtext('public.keel_schema_history'))");
            const pid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
            const progress: string[] = [];
            const started = Date.now();
            const err = await rejection(
                applyMigrations(url, await loadMigrations(dir), engineSettings({ lockWaitSeconds: 1 }), (m) => progress.push(m)),
            );
            const elapsed = Date.now() - started;
            assert.ok(elapsed >= 900 && elapsed < 10000, `waited about lockWaitSeconds (${elapsed} ms)`);
            assert.match(err.message, new RegExp(`pid ${pid}\\b`));
            assert.match(err.message, /other-runner-test/);
            assert.match(err.message, new RegExp(`pg_terminate_backend\\(${pid}\\)`));
            assert.ok(!err.message.includes(password));
            assert.ok(
                progress.some((m) => /waiting up to 1s/.test(m)),
                progress.join("\n"),
            );
            assert.equal(await relationExists(url, "public.a"), false);
            assert.deepEqual(await historyRows(url), [], "nothing happened without the lock");
        } finally {
            await holder.end();
        }
        // Once the holder is gone the run succeeds.
        assert.deepEqual(
            (await apply(url, dir, { lockWaitSeconds: 1 })).ran.map((r) => r.version),
            ["1"],
        );
    });

    describe("history and files disagree", () => {
        it("an edited file is refused, naming the file and both checksums", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n", "0002_b.sql": "CREATE TABLE b (id int);\n" });
            await apply(url, dir);
            const before = sha256(path.join(dir, "0002_b.sql"));
            writeMigrations(dir, { "0002_b.sql": "CREATE TABLE b (id bigint);\n", "0003_c.sql": "CREATE TABLE c (id int);\n" });
            const after = sha256(path.join(dir, "0002_b.sql"));
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /0002_b\.sql was edited after it was applied/);
            assert.ok(err.message.includes(before), "names the checksum in the database");
            assert.ok(err.message.includes(after), "names the checksum on disk");
            assert.equal(await relationExists(url, "public.c"), false, "nothing ran");
        });

        it("a deleted file is refused unless allowMissing", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n", "0002_b.sql": "CREATE TABLE b (id int);\n" });
            await apply(url, dir);
            fs.rmSync(path.join(dir, "0002_b.sql"));
            writeMigrations(dir, { "0003_c.sql": "CREATE TABLE c (id int);\n" });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /version 2 \(b\) is applied in the database but its file is missing/);
            assert.equal(await relationExists(url, "public.c"), false);

            const result = await apply(url, dir, { plan: { allowMissing: true, outOfOrder: false } });
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["3"],
            );
            assert.deepEqual(
                (await historyRows(url)).map((r) => r.version),
                ["1", "2", "3"],
            );
        });

        it("a new file older than the newest applied one is refused unless outOfOrder, and then it runs", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n", "0003_c.sql": "CREATE TABLE c (id int);\n" });
            await apply(url, dir);
            writeMigrations(dir, { "0002_b.sql": "CREATE TABLE b (id int);\n" });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /0002_b\.sql is new but older than the newest applied version 3/);
            assert.equal(await relationExists(url, "public.b"), false);

            const result = await apply(url, dir, { plan: { allowMissing: false, outOfOrder: true } });
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["2"],
            );
            assert.equal(await relationExists(url, "public.b"), true);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "applied"],
                    ["3", "applied"],
                ],
            );
        });

        it("baseline records the older files as 'baseline' without running them and runs the rest", async () => {
            const url = await freshDatabase();
            // An existing database, built before Keel, already has what 0001 and 0002 create.
            await withClient(url, (c) => c.query("CREATE TABLE a (id int); CREATE TABLE b (id int); INSERT INTO a VALUES (42)"));
            const dir = migrationsDir({
                "0001_a.sql": "CREATE TABLE a (id int);\n",
                "0002_b.sql": "CREATE TABLE b (id int);\n",
                "0003_c.sql": "CREATE TABLE c (id int);\n",
            });
            const refused = await rejection(apply(url, dir));
            assert.match(refused.message, /already exists/, "without the baseline, 0001 would run");

            const result = await apply(url, dir, { plan: { allowMissing: false, outOfOrder: false, baseline: "2" } });
            assert.deepEqual(result.baselined, ["1", "2"]);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["3"],
            );
            const rows = await historyRows(url);
            assert.deepEqual(
                rows.map((r) => [r.version, r.status]),
                [
                    ["1", "baseline"],
                    ["2", "baseline"],
                    ["3", "applied"],
                ],
            );
            assert.equal(rows[0].checksum, sha256(path.join(dir, "0001_a.sql")));
            assert.equal(
                await withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM a")).rows[0].n),
                1,
                "0001 did not run",
            );
            // Later runs without the baseline accept the baselined rows.
            assert.deepEqual((await apply(url, dir)).ran, []);
        });
    });

    it("refuses pooled URLs before connecting, saying to use the direct URL", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n" });
        const files = await loadMigrations(dir);
        const u = new URL(url);
        const pooled = [
            { url: `postgres://keel:${password}@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech:5432/app`, why: /is a pooler/ },
            { url: `${url}?pgbouncer=true`, why: /pgbouncer=true/ },
            { url: `postgres://keel:${password}@${u.hostname}:6432${u.pathname}`, why: /port 6432/ },
        ];
        for (const p of pooled) {
            for (const attempt of [
                () => applyMigrations(p.url, files, engineSettings()),
                () => inspectSchema(p.url, files, engineSettings()),
                () => resolveMigration(p.url, engineSettings(), "1", "applied", undefined),
            ]) {
                const err = await rejection(attempt());
                assert.match(err.message, /pooled connection/, err.message);
                assert.match(err.message, p.why);
                assert.match(err.message, /direct connection/);
                assert.doesNotMatch(err.message, /Cannot connect/);
                assert.ok(!err.message.includes(password), "no password in the error");
            }
        }
        // The pgbouncer=true URL points at the real database: nothing reached it.
        assert.deepEqual(await historyRows(url), []);
        assert.equal(await relationExists(url, "public.a"), false);
    });

    it("a syntax error names file:line:column and nothing runs, not even the valid files before it", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_a.sql": "CREATE TABLE a (id int);\n",
            "0002_bad.sql": "-- orders\nCREATE TABLE orders (id int);\nCREATE TABL order_lines (id int);\n",
        });
        const err = await rejection(loadMigrations(dir));
        assert.match(err.message, /0002_bad\.sql:3:8: SQL syntax error/);
        assert.match(err.message, /"TABL"/);

        const cli = await runCli(["apply", "--dir", dir], url);
        assert.equal(cli.code, 1);
        assert.match(cli.stderr, /0002_bad\.sql:3:8/);
        assert.ok(!cli.stderr.includes(password) && !cli.stdout.includes(password));
        assert.equal(await relationExists(url, "public.a"), false, "0001 did not run");
        assert.equal(await relationExists(url, "public.keel_schema_history"), false, "the database was not touched");
    });

    it("splits dollar-quoted bodies, comments and strings containing semicolons correctly", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_notes.sql": [
                "-- notes; with a comment; full of semicolons",
                "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);",
                "/* block; comment; /* nested; */ still; comment */",
                "INSERT INTO notes (body) VALUES ('one; two; three'), (E'it\\'s; fine'), ($q$dollar; quoted$q$);",
                "CREATE FUNCTION add_note(b text) RETURNS int LANGUAGE plpgsql AS $fn$",
                "DECLARE new_id int;",
                "BEGIN",
                "  -- inside; the body",
                "  INSERT INTO notes (body) VALUES (b || ';') RETURNING id INTO new_id;",
                "  RETURN new_id;",
                "END;",
                "$fn$;",
                "CREATE FUNCTION semi() RETURNS text LANGUAGE sql AS $$ SELECT 'a;b'::text $$; -- trailing; comment",
                "",
            ].join("\n"),
        });
        const [file] = await loadMigrations(dir);
        assert.deepEqual(
            file.statements.map((s) => [s.kind, s.line]),
            [
                ["CreateStmt", 2],
                ["InsertStmt", 4],
                ["CreateFunctionStmt", 5],
                ["CreateFunctionStmt", 13],
            ],
        );
        await apply(url, dir);
        await withClient(url, async (c) => {
            const bodies = (await c.query("SELECT body FROM notes ORDER BY id")).rows.map((r) => r.body);
            assert.deepEqual(bodies, ["one; two; three", "it's; fine", "dollar; quoted"]);
            assert.equal((await c.query("SELECT add_note('x') AS id")).rows[0].id, 4);
            assert.equal((await c.query("SELECT body FROM notes WHERE id = 4")).rows[0].body, "x;");
            assert.equal((await c.query("SELECT semi() AS v")).rows[0].v, "a;b");
        });
    });

    it("honours libpq 'options' in the URL (search_path)", async () => {
        const url = await freshDatabase();
        await withClient(url, (c) => c.query("CREATE SCHEMA app"));
        const dir = migrationsDir({
            "0001_widgets.sql": "CREATE TABLE widgets (id int);\n",
            "0002_gadgets.sql": "CREATE TABLE gadgets (id int);\n",
        });
        const appUrl = `${url}?options=-c%20search_path%3Dapp`;
        const result = await apply(appUrl, dir);
        assert.deepEqual(
            result.ran.map((r) => r.version),
            ["1", "2"],
        );
        assert.equal(await relationExists(url, "app.widgets"), true);
        assert.equal(await relationExists(url, "app.gadgets"), true);
        assert.equal(await relationExists(url, "public.widgets"), false);
        assert.ok(Object.keys(result.fingerprint!.objects).includes("table app.widgets"));
        // The history table stays where the settings put it.
        assert.deepEqual(
            (await historyRows(url, "public.keel_schema_history")).map((r) => r.version),
            ["1", "2"],
        );
        const { plan } = await inspectSchema(appUrl, await loadMigrations(dir), engineSettings());
        assert.deepEqual(plan.pending, []);
        assert.equal(plan.applied.length, 2);
    });
});
