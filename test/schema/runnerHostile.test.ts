/**
 * The migration runner under hostile conditions, against a real PostgreSQL:
 * INVALID indexes left by a failed or killed CREATE INDEX CONCURRENTLY, the
 * runner lock on a server with other databases and at the very end of the
 * wait, a no-transaction file with its own BEGIN … COMMIT, and the directory
 * named in every problem report. Timing-dependent cases use injected hooks,
 * never sleeps.
 */
import { strict as assert } from "assert";
import type { Client } from "pg";
import { loadMigrations, scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations, inspectSchema, LockWaitHooks, resolveMigration } from "../../components/schema/runner";
import { freshDatabase } from "../support/postgres";
import {
    applyDir,
    connect,
    engineSettings,
    historyRows,
    migrationsDir,
    rejection,
    relationExists,
    waitFor,
    withClient,
    writeMigrations,
} from "../support/migrationsDir";

const apply = applyDir;

/** The runner lock's key, as the runner takes it for the default history table. */
const LOCK_SQL = "SELECT pg_advisory_lock(1262830924, hashtext('public.keel_schema_history'))";
const UNLOCK_SQL = "SELECT pg_advisory_unlock(1262830924, hashtext('public.keel_schema_history'))";

async function pidOf(c: Client): Promise<number> {
    return (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
}

/** A clock that never follows the wall clock: sleeping moves it, and the deadline hook runs when the wait is over. */
function fakeLockClock(atDeadline?: () => Promise<void>): LockWaitHooks & { deadlines: number } {
    let t = 1_000_000;
    const hooks = {
        deadlines: 0,
        now: () => t,
        sleep: async (ms: number) => {
            t += ms;
        },
        atDeadline: async () => {
            hooks.deadlines++;
            await atDeadline?.();
        },
    };
    return hooks;
}

async function indexValidity(url: string, name: string): Promise<{ indisvalid: boolean }[]> {
    return withClient(
        url,
        async (c) => (await c.query("SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = to_regclass($1)", [name])).rows,
    );
}

describe("migration runner under hostile conditions (PostgreSQL)", function () {
    this.timeout(60000);

    describe("INVALID indexes after a failed or killed CREATE INDEX CONCURRENTLY", () => {
        const items = "CREATE TABLE items (id int, sku text);\nINSERT INTO items VALUES (1, 'a'), (2, 'a'), (3, 'b');\n";

        it("a CREATE UNIQUE INDEX CONCURRENTLY failing on duplicates: the failure, status and resolve name the INVALID index and the DROP INDEX", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_items.sql": items,
                "0002_items_sku_key.sql": "-- keel:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY items_sku_key ON items (sku);\n",
                "0003_after.sql": "CREATE TABLE after_table (id int);\n",
            });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /^0002_items_sku_key\.sql:2: could not create unique index "items_sku_key"/);
            assert.match(err.message, /invalid index public\.items_sku_key on public\.items/);
            assert.match(err.message, /DROP INDEX CONCURRENTLY public\.items_sku_key;/);
            // A real INVALID index, as PostgreSQL leaves it.
            assert.deepEqual(await indexValidity(url, "public.items_sku_key"), [{ indisvalid: false }]);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "failed"],
                ],
            );

            // Status: the plan's problem and the structured facts name it.
            const files = scanMigrations(dir);
            const inspection = await inspectSchema(url, files, engineSettings(), { fingerprint: false });
            assert.equal(inspection.plan.problems.length, 1);
            const problem = inspection.plan.problems[0];
            assert.match(problem, /version 2 \(items_sku_key\) is recorded as failed/);
            assert.match(problem, /invalid index public\.items_sku_key on public\.items/);
            assert.match(problem, /DROP INDEX CONCURRENTLY public\.items_sku_key;/);
            assert.deepEqual(inspection.unsettled, [
                {
                    version: "2",
                    name: "items_sku_key",
                    status: "failed",
                    file: "0002_items_sku_key.sql",
                    invalidIndexes: [
                        { index: "public.items_sku_key", table: "public.items", drop: "DROP INDEX CONCURRENTLY public.items_sku_key;" },
                    ],
                    searchedDatabase: false,
                },
            ]);
            // A later apply refuses with the same facts.
            const again = await rejection(apply(url, dir));
            assert.match(again.message, /invalid index public\.items_sku_key/);

            // Resolve refuses to call it applied, or rolled back, while the INVALID index is there.
            const two = files.find((f) => f.version === "2");
            const applied = await rejection(resolveMigration(url, engineSettings(), "2", "applied", two));
            assert.match(applied.message, /public\.items_sku_key/);
            assert.match(applied.message, /DROP INDEX CONCURRENTLY public\.items_sku_key;/);
            assert.match(applied.message, /--applied/);
            const rolledBack = await rejection(resolveMigration(url, engineSettings(), "2", "rolled-back", two));
            assert.match(rolledBack.message, /DROP INDEX CONCURRENTLY public\.items_sku_key;/);
            assert.equal((await historyRows(url)).find((r) => r.version === "2")?.status, "failed", "nothing was resolved");

            // The DROP the message gives, then --rolled-back, then the file runs again on clean data.
            await withClient(url, (c) => c.query("DROP INDEX CONCURRENTLY public.items_sku_key"));
            await withClient(url, (c) => c.query("DELETE FROM items WHERE id = 2"));
            await resolveMigration(url, engineSettings(), "2", "rolled-back", two);
            assert.deepEqual(
                (await apply(url, dir)).ran.map((r) => r.version),
                ["2", "3"],
            );
            assert.deepEqual(await indexValidity(url, "public.items_sku_key"), [{ indisvalid: true }]);
        });

        it("an index left INVALID on a table the file does not index is not the file's: --applied is accepted", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_tables.sql": items + "CREATE TABLE other (sku text);\nINSERT INTO other VALUES ('x'), ('x');\n",
                "0002_idx.sql":
                    "-- keel:no-transaction\nCREATE INDEX CONCURRENTLY items_id_idx ON items (id);\nCREATE INDEX CONCURRENTLY gone_idx ON missing_table (id);\n",
            });
            // An unrelated INVALID index on another table.
            await apply(
                url,
                migrationsDir({ "0001_tables.sql": items + "CREATE TABLE other (sku text);\nINSERT INTO other VALUES ('x'), ('x');\n" }),
            );
            await rejection(withClient(url, (c) => c.query("CREATE UNIQUE INDEX CONCURRENTLY other_sku_key ON other (sku)")));
            assert.deepEqual(await indexValidity(url, "public.other_sku_key"), [{ indisvalid: false }]);

            await rejection(apply(url, dir));
            const { unsettled } = await inspectSchema(url, scanMigrations(dir), engineSettings(), { fingerprint: false });
            assert.deepEqual(
                unsettled.map((u) => [u.version, u.invalidIndexes]),
                [["2", []]],
            );
            await withClient(url, (c) => c.query("CREATE TABLE missing_table (id int); CREATE INDEX gone_idx ON missing_table (id)"));
            const two = scanMigrations(dir).find((f) => f.version === "2");
            await resolveMigration(url, engineSettings(), "2", "applied", two);
            assert.equal((await historyRows(url)).find((r) => r.version === "2")?.status, "applied");
        });

        /**
         * Applies `dir` while a writer's open transaction on `table` holds back the
         * concurrent build (it waits for older writers after cataloguing the new
         * index), then terminates the builder's backend: the runner is killed mid-build.
         */
        async function killMidBuild(url: string, dir: string, table: string, statement: string): Promise<Error> {
            const writer = await connect(url);
            const admin = await connect(url);
            try {
                await writer.query(`BEGIN; INSERT INTO ${table} (sku) VALUES ('z')`);
                const running = rejection(apply(url, dir));
                let builder: number | undefined;
                await waitFor(`${statement} waiting for the writer`, async () => {
                    const act = await admin.query(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND starts_with(query, $1) AND wait_event_type = 'Lock'",
                        [statement],
                    );
                    builder = act.rows[0]?.pid;
                    return builder !== undefined;
                });
                await admin.query("SELECT pg_terminate_backend($1)", [builder]);
                return await running;
            } finally {
                await writer.query("ROLLBACK").catch(() => undefined);
                await writer.end();
                await admin.end();
            }
        }

        it("a runner whose backend is killed mid-build leaves 'running' and an INVALID index; status names it and --applied is refused", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_items.sql": items,
                "0002_items_sku_idx.sql": "-- keel:no-transaction\nCREATE INDEX CONCURRENTLY items_sku_idx ON items (sku);\n",
            });
            await apply(url, migrationsDir({ "0001_items.sql": items }));
            const err = await killMidBuild(url, dir, "items", "CREATE INDEX CONCURRENTLY");
            assert.match(err.message, /^0002_items_sku_idx\.sql:2: /);
            assert.match(err.message, /terminating connection/);
            assert.match(err.message, /shows it as running/, "the history could not be updated: the message says what it shows");
            assert.deepEqual(await indexValidity(url, "public.items_sku_idx"), [{ indisvalid: false }]);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "running"],
                ],
            );
            const files = scanMigrations(dir);
            const { plan, unsettled } = await inspectSchema(url, files, engineSettings(), { fingerprint: false });
            assert.match(plan.problems[0], /version 2 \(items_sku_idx\) is recorded as running/);
            assert.match(plan.problems[0], /invalid index public\.items_sku_idx on public\.items/);
            assert.match(plan.problems[0], /DROP INDEX CONCURRENTLY public\.items_sku_idx;/);
            assert.equal(unsettled[0].status, "running");
            const refused = await rejection(resolveMigration(url, engineSettings(), "2", "applied", files[1]));
            assert.match(refused.message, /public\.items_sku_idx/);
            // Without the file at hand every INVALID index of the database is listed.
            const blind = await rejection(resolveMigration(url, engineSettings(), "2", "applied", undefined));
            assert.match(blind.message, /public\.items_sku_idx/);
        });

        it("REINDEX CONCURRENTLY killed mid-build: its INVALID _ccnew copy on the index's table (quoted names) is found", async () => {
            const url = await freshDatabase();
            const setup = 'CREATE SCHEMA app;\nCREATE TABLE app."Items" (sku text);\nCREATE INDEX items_sku ON app."Items" (sku);\n';
            await apply(url, migrationsDir({ "0001_items.sql": setup }));
            const dir = migrationsDir({
                "0001_items.sql": setup,
                "0002_reindex.sql": "-- keel:no-transaction\nREINDEX INDEX CONCURRENTLY app.items_sku;\n",
            });
            await killMidBuild(url, dir, 'app."Items"', "REINDEX INDEX CONCURRENTLY");
            const { unsettled } = await inspectSchema(url, scanMigrations(dir), engineSettings(), { fingerprint: false });
            assert.deepEqual(unsettled[0].invalidIndexes, [
                { index: "app.items_sku_ccnew", table: 'app."Items"', drop: "DROP INDEX CONCURRENTLY app.items_sku_ccnew;" },
            ]);
        });
    });

    describe("the runner lock", () => {
        const holderQuery =
            // The holder lookup as it was: every database's holders.
            `SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1262830924::oid AND l.objid = hashtext('public.keel_schema_history')::oid AND l.objsubid = 2`;

        it("names the holder in this database, never a runner working on another database of the server", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n" });
            let holder: Client | undefined;
            let here = 0;
            const others: Client[] = [];
            try {
                // Runners on other databases of the same server, and this database's holder, until the
                // unfiltered lookup sees another database's runner first (it lists them in backend order).
                for (let i = 0; i < 10; i++) {
                    const other = await connect(await freshDatabase("other"));
                    others.push(other);
                    await other.query("SET application_name = 'runner-elsewhere'");
                    await other.query(LOCK_SQL);
                    await holder?.end();
                    holder = await connect(url);
                    await holder.query("SET application_name = 'runner-here'");
                    await holder.query(LOCK_SQL);
                    here = await pidOf(holder);
                    const first = await withClient(url, async (c) => (await c.query(holderQuery)).rows[0].pid);
                    if (first !== here) break;
                }
                const otherPids = await Promise.all(others.map(pidOf));
                assert.notEqual(
                    await withClient(url, async (c) => (await c.query(holderQuery)).rows[0].pid),
                    here,
                    "another database's runner comes first",
                );

                const err = await rejection(
                    applyMigrations(url, await loadMigrations(dir), engineSettings({ lockWaitSeconds: 1 }), () => undefined, {
                        lockWait: fakeLockClock(),
                    }),
                );
                assert.match(err.message, new RegExp(`pid ${here}\\b`));
                assert.match(err.message, /runner-here/);
                assert.match(err.message, new RegExp(`pg_terminate_backend\\(${here}\\)`));
                for (const pid of otherPids) assert.doesNotMatch(err.message, new RegExp(`\\b${pid}\\b`));
                assert.doesNotMatch(err.message, /runner-elsewhere/);
            } finally {
                await holder?.end();
                for (const o of others) await o.end();
            }
        });

        it("a lock freed exactly at the deadline is taken: one more try after the wait", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n" });
            const holder = await connect(url);
            try {
                await holder.query(LOCK_SQL);
                const clock = fakeLockClock(async () => {
                    await holder.query(UNLOCK_SQL);
                });
                const progress: string[] = [];
                const result = await applyMigrations(
                    url,
                    await loadMigrations(dir),
                    engineSettings({ lockWaitSeconds: 1 }),
                    (m) => progress.push(m),
                    {
                        lockWait: clock,
                    },
                );
                assert.deepEqual(
                    result.ran.map((r) => r.version),
                    ["1"],
                );
                assert.equal(clock.deadlines, 1);
                assert.ok(
                    progress.some((m) => /waiting up to 1s/.test(m)),
                    progress.join("\n"),
                );
            } finally {
                await holder.end();
            }
        });

        it("a lock passed to another runner at the deadline names that runner, not 'a session that has just released it'", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n" });
            const first = await connect(url);
            const second = await connect(url);
            try {
                await first.query(LOCK_SQL);
                await second.query("SET application_name = 'second-runner'");
                const secondPid = await pidOf(second);
                const clock = fakeLockClock(async () => {
                    await first.query(UNLOCK_SQL);
                    await second.query(LOCK_SQL);
                });
                const err = await rejection(
                    applyMigrations(url, await loadMigrations(dir), engineSettings({ lockWaitSeconds: 1 }), () => undefined, {
                        lockWait: clock,
                    }),
                );
                assert.match(err.message, new RegExp(`pid ${secondPid}\\b`));
                assert.match(err.message, /second-runner/);
                assert.doesNotMatch(err.message, /just released/);
                assert.equal(await relationExists(url, "public.a"), false);
            } finally {
                await first.end();
                await second.end();
            }
        });
    });

    describe("a no-transaction file with its own BEGIN … COMMIT", () => {
        it("a failure inside it rolls the file's transaction back first, then records 'failed' and names file, line and the resolve command", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_base.sql": "CREATE TABLE base (id int);\n",
                "0002_grouped.sql": [
                    "-- keel:no-transaction", // 1
                    "CREATE TABLE before_tx (id int);", // 2
                    "BEGIN;", // 3
                    "CREATE TABLE in_tx (id int);", // 4
                    "INSERT INTO in_tx VALUES ('not a number');", // 5
                    "COMMIT;", // 6
                    "CREATE TABLE after_tx (id int);", // 7
                    "",
                ].join("\n"),
            });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /^0002_grouped\.sql:5: invalid input syntax for type integer/);
            assert.match(err.message, /22P02/);
            assert.match(err.message, /transaction the file opened at line 3 was rolled back/);
            assert.match(err.message, /recorded as failed/);
            assert.match(err.message, /schema:resolve -- 2 --applied/);
            assert.doesNotMatch(err.message, /current transaction is aborted/);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [
                    ["1", "applied"],
                    ["2", "failed"],
                ],
            );
            assert.equal(await relationExists(url, "public.before_tx"), true, "before the file's BEGIN: applied");
            assert.equal(await relationExists(url, "public.in_tx"), false, "inside the file's transaction: rolled back");
            assert.equal(await relationExists(url, "public.after_tx"), false);
        });

        it("a group that commits runs as the file's own transaction, and the file is applied", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_grouped.sql": [
                    "-- keel:no-transaction",
                    "CREATE TABLE t (id int, v text);",
                    "BEGIN;",
                    "INSERT INTO t VALUES (1, 'a');",
                    "UPDATE t SET v = 'b';",
                    "COMMIT;",
                    "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);",
                    "",
                ].join("\n"),
            });
            assert.deepEqual(
                (await apply(url, dir)).ran.map((r) => r.version),
                ["1"],
            );
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [["1", "applied"]],
            );
            assert.deepEqual(await withClient(url, async (c) => (await c.query("SELECT v FROM t")).rows), [{ v: "b" }]);
        });

        it("a deferred constraint failing at the file's own COMMIT is reported at that line as a rolled-back transaction", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_grouped.sql": [
                    "-- keel:no-transaction",
                    "CREATE TABLE parents (id int PRIMARY KEY);",
                    "CREATE TABLE children (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED);",
                    "BEGIN;",
                    "INSERT INTO children VALUES (5);",
                    "COMMIT;",
                    "",
                ].join("\n"),
            });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /^0001_grouped\.sql:6: .*children_parent_id_fkey/);
            assert.match(err.message, /transaction the file opened at line 4 was rolled back/);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [["1", "failed"]],
            );
            assert.equal(await withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM children")).rows[0].n), 0);
        });

        it("a file that leaves its transaction open is rolled back and recorded failed, not silently lost", async () => {
            const url = await freshDatabase();
            const dir = migrationsDir({
                "0001_open.sql": [
                    "-- keel:no-transaction",
                    "CREATE TABLE kept (id int);",
                    "BEGIN;",
                    "CREATE TABLE lost (id int);",
                    "",
                ].join("\n"),
            });
            const err = await rejection(apply(url, dir));
            assert.match(err.message, /^0001_open\.sql:3: /);
            assert.match(err.message, /never ended/);
            assert.match(err.message, /rolled back/);
            assert.match(err.message, /schema:resolve -- 1/);
            assert.deepEqual(
                (await historyRows(url)).map((r) => [r.version, r.status]),
                [["1", "failed"]],
            );
            assert.equal(await relationExists(url, "public.kept"), true);
            assert.equal(await relationExists(url, "public.lost"), false);
        });
    });

    it("a syntax error found at apply time names the real migrations directory, not a placeholder", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);\n", "0002_bad.sql": "CREATE TABL b (id int);\n" });
        // As the CLI and the provider call it: sources scanned, not parsed.
        const err = await rejection(applyMigrations(url, scanMigrations(dir), engineSettings()));
        assert.ok(err.message.includes(`The migrations in '${dir}' have 1 problem`), err.message);
        assert.doesNotMatch(err.message, /the migrations directory/);
        assert.deepEqual(await historyRows(url), [], "nothing ran");
        writeMigrations(dir, { "0002_bad.sql": "CREATE TABLE b (id int);\n" });
        assert.deepEqual(
            (await applyMigrations(url, scanMigrations(dir), engineSettings())).ran.map((r) => r.version),
            ["1", "2"],
        );
    });
});
