/**
 * NO_TRANSACTION_STATEMENTS against a real PostgreSQL 15: every row's example
 * fails inside BEGIN … COMMIT with SQLSTATE 25001 (active_sql_transaction), and
 * Keel flags exactly the rows it can tell from the statement; a sample of other
 * statements (ANALYZE, CLUSTER of one table, ALTER TYPE … ADD VALUE, …) runs
 * inside a transaction on the server and is not flagged.
 */
import { strict as assert } from "assert";
import type { Client } from "pg";
import { loadMigrations, scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { analyzeSql, NO_TRANSACTION_STATEMENTS } from "../../components/schema/sql";
import { freshDatabase } from "../support/postgres";
import { connect, engineSettings, historyRows, migrationsDir } from "../support/migrationsDir";

/** The objects the examples name. The subscriptions point nowhere; keel_sub is enabled (its worker retries in vain until after()). */
const SETUP = [
    "CREATE TABLE items (id int, sku text)",
    "CREATE INDEX items_id ON items (id)",
    "CREATE TABLE measurements (at date) PARTITION BY RANGE (at)",
    "CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE INDEX measurements_at ON measurements (at)",
    "CREATE TYPE mood AS ENUM ('happy')",
    "CREATE MATERIALIZED VIEW item_counts AS SELECT sku, count(*) AS n FROM items GROUP BY sku",
    "CREATE UNIQUE INDEX item_counts_sku ON item_counts (sku)",
    "CREATE SUBSCRIPTION keel_slotted CONNECTION 'dbname=keel_nowhere' PUBLICATION keel_pub WITH (connect = false)",
    "CREATE SUBSCRIPTION keel_slotless CONNECTION 'dbname=keel_nowhere' PUBLICATION keel_pub WITH (connect = false)",
    "ALTER SUBSCRIPTION keel_slotless SET (slot_name = NONE)",
    "CREATE SUBSCRIPTION keel_sub CONNECTION 'host=/nonexistent dbname=keel_nowhere' PUBLICATION keel_pub WITH (connect = false)",
    "ALTER SUBSCRIPTION keel_sub ENABLE",
];

const CLEANUP = [
    "ALTER SUBSCRIPTION keel_sub DISABLE",
    ...["keel_sub", "keel_slotted", "keel_slotless"].flatMap((s) => [
        `ALTER SUBSCRIPTION ${s} SET (slot_name = NONE)`,
        `DROP SUBSCRIPTION ${s}`,
    ]),
];

/** Statements PostgreSQL 15 runs inside a transaction block; `{db}` is the test database. */
const ALLOWED_IN_TRANSACTION = [
    "ANALYZE items (sku)",
    "ANALYZE",
    "CLUSTER items USING items_id",
    "REINDEX TABLE items",
    "REINDEX INDEX items_id",
    "REINDEX (CONCURRENTLY false) TABLE items",
    "CREATE INDEX items_sku ON items (sku)",
    "DROP INDEX items_id",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY item_counts",
    "ALTER TYPE mood ADD VALUE 'elated'",
    "CREATE SUBSCRIPTION keel_example CONNECTION 'dbname=keel_nowhere' PUBLICATION keel_pub WITH (connect = false)",
    "ALTER SUBSCRIPTION keel_slotted SET PUBLICATION keel_pub2 WITH (refresh = false)",
    "DROP SUBSCRIPTION keel_slotless",
    "DISCARD PLANS",
    "DISCARD SEQUENCES",
    "DISCARD TEMP",
    "ALTER TABLE measurements DETACH PARTITION measurements_2024",
    "CHECKPOINT",
    "LOCK TABLE items IN ACCESS EXCLUSIVE MODE",
    "CREATE PUBLICATION keel_pub3 FOR TABLE items",
    "ALTER DATABASE {db} SET work_mem = '8MB'",
    "ALTER DATABASE {db} WITH CONNECTION LIMIT 50",
    "SET LOCAL work_mem = '8MB'",
];

/** Runs `sql` inside BEGIN … ROLLBACK; the error, if any. */
async function inTransaction(client: Client, sql: string): Promise<{ code?: string; message: string } | undefined> {
    await client.query("BEGIN");
    try {
        await client.query(sql);
        return undefined;
    } catch (err: any) {
        return { code: err.code, message: err.message };
    } finally {
        await client.query("ROLLBACK");
    }
}

describe("statements refused inside a transaction (NO_TRANSACTION_STATEMENTS) on PostgreSQL 15", function () {
    this.timeout(120000);
    let url: string;
    let db: string;
    let client: Client;

    before(async () => {
        url = await freshDatabase();
        db = new URL(url).pathname.slice(1);
        client = await connect(url);
        for (const s of SETUP) await client.query(s);
    });

    after(async () => {
        if (!client) return;
        for (const s of CLEANUP) await client.query(s).catch(() => undefined);
        await client.end();
    });

    it("has one row per statement, each with an example of its kind", async () => {
        assert.equal(new Set(NO_TRANSACTION_STATEMENTS.map((r) => r.statement)).size, NO_TRANSACTION_STATEMENTS.length);
        for (const row of NO_TRANSACTION_STATEMENTS) {
            const { statements } = await analyzeSql(row.example, "example.sql");
            assert.equal(statements.length, 1, row.example);
            assert.equal(statements[0].kind, row.kind, row.example);
        }
    });

    for (const row of NO_TRANSACTION_STATEMENTS) {
        it(`${row.statement}: '${row.example}' fails inside BEGIN … COMMIT with 25001, and Keel ${row.dependsOnDatabase ? "leaves it to the server" : "refuses it in a transactional file"}`, async () => {
            const err = await inTransaction(client, row.example);
            assert.ok(err, `PostgreSQL ran '${row.example}' inside a transaction block`);
            assert.equal(err.code, "25001", `${row.example}: ${err.message}`);
            assert.match(err.message, /cannot run inside a transaction block/);
            const [st] = (await analyzeSql(row.example, "example.sql")).statements;
            if (row.dependsOnDatabase) {
                assert.equal(st.needsNoTransaction, undefined, "only the database tells, so Keel does not refuse it");
            } else {
                assert.equal(st.needsNoTransaction, true);
                assert.equal(st.refusedAs, row.statement);
            }
        });
    }

    it("a transactional file with a statically refused statement is refused at load time, naming it", async () => {
        const dir = migrationsDir({ "1_vacuum.sql": "CREATE TABLE t (id int);\n\nVACUUM (ANALYZE) t;\n" });
        await assert.rejects(loadMigrations(dir), (err: Error) => {
            assert.match(
                err.message,
                /1_vacuum\.sql: line 3: this statement cannot run inside a transaction \(PostgreSQL refuses VACUUM in one\)\. Start the file with '-- keel:no-transaction'/,
            );
            return true;
        });
    });

    it("a statement only the database refuses rolls its file back, naming file and line, and records nothing", async () => {
        const dir = migrationsDir({ "1_cluster.sql": "CREATE TABLE t (id int);\nCLUSTER measurements USING measurements_at;\n" });
        await assert.rejects(
            applyMigrations(url, scanMigrations(dir), engineSettings({ historyTable: "keel_cluster_history" })),
            (err: Error) => {
                assert.match(err.message, /^1_cluster\.sql:2: CLUSTER cannot run inside a transaction block \[SQLSTATE 25001\]/);
                return true;
            },
        );
        assert.deepEqual(await historyRows(url, "public.keel_cluster_history"), []);
        assert.equal((await client.query("SELECT to_regclass('public.t') AS t")).rows[0].t, null);
    });

    for (const sample of ALLOWED_IN_TRANSACTION) {
        it(`runs inside a transaction and is not refused: ${sample}`, async () => {
            const sql = sample.replace("{db}", db);
            const err = await inTransaction(client, sql);
            assert.equal(err, undefined, `${sql}: ${err?.message}`);
            const [st] = (await analyzeSql(sql, "sample.sql")).statements;
            assert.equal(st.needsNoTransaction, undefined, sql);
        });
    }
});
