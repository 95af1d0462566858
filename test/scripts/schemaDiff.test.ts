/**
 * npm run schema:diff against real databases (the PostgreSQL harness), sides
 * given by URL (stacks as sides run through the engine: test/e2e/drift.test.ts):
 * the whole catalog read, differences in words, exit codes, and --sql checked
 * by applying its output to the second database and comparing again.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as path from "path";
import { quoteIdentifier } from "../../components/postgres/catalog";
import { describeTarget } from "../../components/postgres/connection";
import { schemaCatalog, schemaFingerprint } from "../../components/postgres/fingerprint";
import { runSchemaDiff } from "../../scripts/schemaDiff";
import { identifier, RICH_SCHEMA_SQL } from "../support/catalogFixtures";
import { ROOT } from "../support/engine";
import { parseVerb } from "../support/keel";
import { applyDir, migrationsDir, withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";

/** Keywords PostgreSQL 16 and 17 added, which quoteIdentifier quotes though this server (15) would not. */
const LATER_KEYWORDS = [
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "merge_action",
    "system_user",
];

const sql = (url: string, text: string) => withClient(url, async (c) => void (await c.query(text)));

/** Runs the command in this process: its exit code and what it printed. */
async function schemaDiff(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const { args, options } = await parseVerb(["schema", "diff"], argv);
    const code = await runSchemaDiff(
        { sides: args[0] as string[], sql: options.sql, json: options.json, historySchema: options.historySchema },
        {
            root: ROOT,
            env: process.env,
            out: (t) => void (out += t),
            err: (t) => void (err += t),
        },
    );
    return { code, out, err };
}

/** The objects only on the first side and those that differ, after --sql's output ran on the second. */
async function applySqlAndCompare(a: string, b: string): Promise<{ script: string; after: any }> {
    const { out: script } = await schemaDiff(a, b, "--sql");
    await sql(b, script);
    const after = JSON.parse((await schemaDiff(a, b, "--json")).out);
    return { script, after };
}

describe("schema:diff (real PostgreSQL)", function () {
    this.timeout(5 * 60_000);

    it("reads the whole catalog without touching the fingerprint's short form or the session", async () => {
        const url = await freshDatabase("diff_catalog");
        await sql(url, RICH_SCHEMA_SQL);
        await withClient(url, async (c) => {
            const before = await schemaFingerprint(c, "public", "keel_schema_history");
            const full = await schemaCatalog(c, "public", "keel_schema_history", { full: true });
            assert.deepEqual(Object.keys(full).sort(), Object.keys(before.objects).sort(), "the same objects");
            // The short form, as the state has always kept it.
            assert.equal(before.objects["sequence public.invoice_numbers"], "sequence");
            assert.equal(before.objects["type public.mood"], "enum (happy, sad, really, it's fine)");
            assert.match(before.objects["function public.touch_updated_at()"], /^md5:[0-9a-f]{32}$/);
            assert.equal(before.objects["column app.orders.invoice"], "bigint default nextval('invoice_numbers'::regclass)");
            // The whole: qualified, undigested, sequences with their options and owner.
            assert.equal(full["column app.orders.invoice"], "bigint default nextval('public.invoice_numbers'::regclass)");
            assert.equal(full["column app.Audit Log.line"], 'text collate "C"');
            assert.equal(full["table app.Audit Log"], "unlogged table");
            assert.equal(
                full["sequence public.invoice_numbers"],
                "AS bigint START WITH 1000 INCREMENT BY 10 MINVALUE 1 MAXVALUE 99999999 CACHE 5 CYCLE",
            );
            assert.match(full["sequence app.orders_id_seq"], / IDENTITY OF app\.orders\.id$/);
            assert.match(full["function public.touch_updated_at()"], /^CREATE OR REPLACE FUNCTION public\.touch_updated_at\(\)/);
            assert.equal(full["type public.mood"], "enum ('happy', 'sad, really', 'it''s fine')");
            // Read in a transaction of its own, rolled back: the session is as it was.
            assert.deepEqual((await c.query("SHOW search_path")).rows, [{ search_path: '"$user", public' }]);
            assert.equal((await schemaFingerprint(c, "public", "keel_schema_history")).hash, before.hash);
        });
    });

    it("equal databases: exit 0", async () => {
        const [a, b] = [await freshDatabase("diff_eq_a"), await freshDatabase("diff_eq_b")];
        for (const url of [a, b]) await sql(url, RICH_SCHEMA_SQL);
        const res = await schemaDiff(a, b);
        assert.equal(res.code, 0, res.out);
        assert.match(res.out, /schema objects: the same on both \(\d+\)/);
        assert.match(res.out, /migrations: the same history on both/);
    });

    it("different databases: each difference on a line of its own, versions on one side only, exit 1", async () => {
        const [a, b] = [await freshDatabase("diff_a"), await freshDatabase("diff_b")];
        const files = {
            "0001_orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, email text NOT NULL);",
            "0002_note.sql": "ALTER TABLE orders ADD COLUMN note text;",
        };
        await applyDir(a, migrationsDir(files));
        await applyDir(b, migrationsDir({ "0001_orders.sql": files["0001_orders.sql"] }));
        await sql(
            b,
            "ALTER TABLE orders ALTER COLUMN email DROP NOT NULL; CREATE INDEX orders_email_idx ON orders (email); CREATE TABLE extra (x int)",
        );
        const [la, lb] = [describeTarget(a), describeTarget(b)];
        const res = await schemaDiff(a, b);
        assert.equal(res.code, 1);
        const lines = res.out.split("\n");
        assert.equal(lines[0], `${la}: the database at that URL`);
        for (const line of [
            `schema objects: 1 only on ${la}, 2 only on ${lb}, 1 different (5 the same)`,
            `  column orders.note: text on ${la}, missing on ${lb}`,
            `  table extra (1 column): missing on ${la}, on ${lb}`,
            `  index orders_email_idx: missing on ${la}, CREATE INDEX orders_email_idx ON public.orders USING btree (email) on ${lb}`,
            `  column orders.email: text not null on ${la}, text on ${lb}`,
            "migrations: 1 only on " + la,
            `  version 2 (note): applied on ${la}, missing on ${lb}`,
        ])
            assert.ok(lines.includes(line), `${line}\nin\n${res.out}`);
        const json = JSON.parse((await schemaDiff(a, b, "--json")).out);
        assert.equal(json.equal, false);
        assert.deepEqual(
            json.history.map((h: any) => h.version),
            ["2"],
        );
        assert.equal(JSON.stringify(json).includes("s3cret"), false, "no password in the output");
    });

    it("--sql: applied to the second database, its objects are then equal to the first's (one of everything)", async () => {
        const [a, b] = [await freshDatabase("diff_sql_a"), await freshDatabase("diff_sql_b")];
        await sql(a, RICH_SCHEMA_SQL);
        const { script, after } = await applySqlAndCompare(a, b);
        assert.match(script, /nothing has been applied/);
        assert.deepEqual(after.catalog.onlyA, [], script);
        assert.deepEqual(after.catalog.differ, [], script);
        assert.equal(after.equal, true);
    });

    it("--sql: on a second database that has part of it (new columns, constraints, indexes on existing tables)", async () => {
        const [a, b] = [await freshDatabase("diff_part_a"), await freshDatabase("diff_part_b")];
        await sql(a, RICH_SCHEMA_SQL);
        await sql(
            b,
            `CREATE TYPE public.mood AS ENUM ('happy', 'sad, really', 'it''s fine');
             CREATE TABLE public.customers (id serial, email text NOT NULL);
             CREATE TABLE public.extra (x int);`,
        );
        const before = JSON.parse((await schemaDiff(a, b, "--json")).out);
        const { script, after } = await applySqlAndCompare(a, b);
        assert.match(script, /ALTER TABLE public\.customers ADD COLUMN mood public\.mood DEFAULT 'happy'::public\.mood;/);
        assert.match(script, /ALTER TABLE public\.customers ADD CONSTRAINT customers_pkey PRIMARY KEY \(id\);/);
        assert.match(script, /-- Only on .* \(not dropped by this script\):\n-- {3}table extra/);
        assert.deepEqual(after.catalog.onlyA, [], script);
        assert.deepEqual(
            after.catalog.onlyB.map((d: any) => d.key),
            before.catalog.onlyB.map((d: any) => d.key),
            "what only the second side had is left alone",
        );
    });

    /** A table (with its schema) as users write one: odd names, defaults, NOT NULL, a key, an index. */
    const table = fc.record({
        schema: fc.constantFrom("public", "app", "Sales Data"),
        name: identifier,
        columns: fc.uniqueArray(
            fc.record({
                name: identifier,
                type: fc.constantFrom("integer", "text", "bigint", "numeric(10,2)", "timestamptz", "boolean", "text[]", "varchar(20)"),
                notNull: fc.boolean(),
                identity: fc.boolean(),
            }),
            { selector: (c) => c.name, minLength: 1, maxLength: 5 },
        ),
        key: fc.constantFrom("none", "primary", "unique"),
        index: fc.boolean(),
    });

    type TableSpec = typeof table extends fc.Arbitrary<infer T> ? T : never;

    function createSql(t: TableSpec): string {
        const q = `${quoteIdentifier(t.schema)}.${quoteIdentifier(t.name)}`;
        const cols = t.columns.map((c, i) => {
            const identity = c.identity && i === 0 && ["integer", "bigint"].includes(c.type);
            const def = identity
                ? " GENERATED BY DEFAULT AS IDENTITY"
                : c.type === "text"
                  ? " DEFAULT 'x'"
                  : c.type === "timestamptz"
                    ? " DEFAULT now()"
                    : "";
            return `${quoteIdentifier(c.name)} ${c.type}${def}${c.notNull ? " NOT NULL" : ""}`;
        });
        const first = quoteIdentifier(t.columns[0].name);
        return [
            t.schema === "public" ? "" : `CREATE SCHEMA ${quoteIdentifier(t.schema)};`,
            `CREATE TABLE ${q} (${cols.join(", ")}${t.key === "none" ? "" : `, ${t.key === "primary" ? "PRIMARY KEY" : "UNIQUE"} (${first})`});`,
            t.index ? `CREATE INDEX ON ${q} (${first});` : "",
        ].join("\n");
    }

    it("--sql round trip, whatever the names and columns (property, real databases)", async () => {
        await fc.assert(
            fc.asyncProperty(table, async (t) => {
                const [a, b] = [await freshDatabase("diff_prop_a"), await freshDatabase("diff_prop_b")];
                await sql(a, createSql(t));
                const { script, after } = await applySqlAndCompare(a, b);
                assert.equal(after.equal, true, `${createSql(t)}\n---\n${script}\n---\n${JSON.stringify(after.catalog, null, 1)}`);
            }),
            { numRuns: 15 },
        );
    });

    it("quotes identifiers as PostgreSQL's quote_ident does", async () => {
        const url = await freshDatabase("diff_quote");
        await withClient(url, async (c) => {
            await fc.assert(
                fc.asyncProperty(fc.oneof(identifier, fc.constantFrom(...LATER_KEYWORDS)), async (name) => {
                    const { rows } = await c.query("SELECT quote_ident($1) AS q", [name]);
                    // Words later PostgreSQL versions made keywords are quoted already: quoting more changes nothing.
                    if (LATER_KEYWORDS.includes(name)) assert.equal(quoteIdentifier(name), `"${name}"`);
                    else assert.equal(quoteIdentifier(name), rows[0].q);
                }),
                { numRuns: 200 },
            );
        });
    });

    it("the command: 2 when a side cannot be read, 2 with the usage for one side, --help", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(path.join(ROOT, "tools/build.js")).buildStale(ROOT);
        const run = (...args: string[]) =>
            spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "schema", "diff", ...args], { cwd: ROOT, encoding: "utf8" });
        const unreachable = run("postgres://keel:pw@127.0.0.1:1/nowhere", "postgres://keel:pw@127.0.0.1:1/nowhere2");
        assert.equal(unreachable.status, 2, unreachable.stderr);
        assert.match(unreachable.stderr, /Cannot connect to the database at 127\.0\.0\.1:1\/nowhere/);
        assert.doesNotMatch(unreachable.stderr, /:pw@/);
        const one = run("dev");
        assert.equal(one.status, 2);
        assert.match(one.stderr, /give two sides/);
        const neither = run("nosuchstack", "postgres://x@127.0.0.1:1/y");
        assert.equal(neither.status, 2);
        assert.match(neither.stderr, /'nosuchstack' is neither a postgres:\/\/ URL nor a stack/);
        const help = run("--help");
        assert.equal(help.status, 0);
        assert.match(help.stdout, /Usage: keel schema diff \[options\] \[sides\.\.\.\]/);
    });
});
