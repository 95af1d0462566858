/** The columns the migration files leave behind: each statement kind, renames and drops, and generated histories. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { MigrationColumns, ParseStatement, replayColumns, statementParser } from "../../components/masking/migrationColumns";
import { analyzeSql } from "../../components/schema/sql";

let parse: ParseStatement;
before(async () => {
    parse = await statementParser();
});

/** Replays files given as [path, sql] pairs through the real splitter and parser. */
async function replay(...files: [string, string][]): Promise<MigrationColumns> {
    const parsed = [];
    for (const [path, sql] of files) parsed.push({ path, statements: (await analyzeSql(sql, path)).statements });
    return replayColumns(parsed, parse);
}

const cols = (r: MigrationColumns) => r.columns.map((c) => `${c.table}.${c.column}`);
const at = (r: MigrationColumns, id: string) => {
    const c = r.columns.find((x) => `${x.table}.${x.column}` === id);
    assert.ok(c, `${id} in ${cols(r).join(", ")}`);
    return `${c.source?.file}:${c.source?.line}`;
};

describe("masking: the columns of the migration files", () => {
    it("CREATE TABLE: each column with the line that declares it and its type", async () => {
        const r = await replay([
            "m/0001_a.sql",
            "-- accounts\nCREATE TABLE public.accounts (\n  id bigint PRIMARY KEY,\n  email varchar(80),\n  tags text[],\n  UNIQUE (email)\n);\n",
        ]);
        assert.deepEqual(cols(r), ["accounts.id", "accounts.email", "accounts.tags"]);
        assert.equal(at(r, "accounts.id"), "m/0001_a.sql:3");
        assert.equal(at(r, "accounts.email"), "m/0001_a.sql:4");
        assert.deepEqual(
            r.columns.map((c) => c.type),
            ["int8", "varchar(80)", "text[]"],
        );
        assert.deepEqual(r.unknown, []);
    });

    it("ADD COLUMN, DROP COLUMN, RENAME COLUMN across files; a renamed column keeps the line that added it", async () => {
        const r = await replay(
            ["m/0001.sql", "CREATE TABLE a (id int, old text);"],
            ["m/0002.sql", "\nALTER TABLE a ADD COLUMN phone text, ADD COLUMN note text;\nALTER TABLE a DROP COLUMN old;"],
            ["m/0003.sql", "ALTER TABLE a RENAME COLUMN phone TO mobile;"],
        );
        assert.deepEqual(new Set(cols(r)), new Set(["a.id", "a.note", "a.mobile"]));
        assert.equal(at(r, "a.mobile"), "m/0002.sql:2");
    });

    it("ALTER TABLE … RENAME TO and SET SCHEMA move the columns; DROP TABLE removes them", async () => {
        const r = await replay([
            "m.sql",
            "CREATE TABLE a (x int);\nCREATE TABLE b (y int);\nALTER TABLE a RENAME TO c;\nALTER TABLE b SET SCHEMA app;\nCREATE TABLE d (z int);\nDROP TABLE IF EXISTS d;",
        ]);
        assert.deepEqual(cols(r), ["c.x", "app.b.y"]);
    });

    it("Keel's history table is left out", async () => {
        const r = await replay(["m.sql", "CREATE TABLE keel_schema_history (version bigint);\nCREATE TABLE t (a int);"]);
        assert.deepEqual(cols(r), ["t.a"]);
    });

    it("what the files cannot tell is reported with file:line, never guessed", async () => {
        const r = await replay([
            "m.sql",
            [
                "CREATE TABLE src (a int);",
                "CREATE TABLE copy AS SELECT * FROM src;",
                "CREATE TABLE lk (LIKE src);",
                "DO $$ BEGIN EXECUTE 'CREATE TABLE x (y int)'; END $$;",
                "CREATE TABLE p (id int) PARTITION BY RANGE (id);",
                "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (10);",
                "ALTER TABLE adopted ADD COLUMN email text;",
                "SELECT 1 INTO sel;",
            ].join("\n"),
        ]);
        assert.deepEqual(
            r.unknown.map((u) => `${u.line}`),
            ["2", "3", "4", "6", "7", "8"],
        );
        for (const u of r.unknown) {
            assert.equal(u.file, "m.sql");
            assert.match(u.what, /the files cannot tell: check the live catalog/);
        }
        assert.match(r.unknown[0].what, /CREATE TABLE copy AS/);
        assert.match(r.unknown[1].what, /LIKE src/);
        assert.match(r.unknown[2].what, /DO/);
        assert.match(r.unknown[3].what, /PARTITION OF p/);
        assert.match(r.unknown[4].what, /adopted/);
        // The column added to a table no file created is still listed, and the partitioned table's own column.
        assert.deepEqual(cols(r), ["src.a", "p.id", "adopted.email"]);
    });

    it("a generated history of add, drop and rename gives exactly the final set, each column from the line that added it", async () => {
        type Op = { op: "add" | "drop" | "rename"; pick: number; fresh: number };
        const ops = fc.array(
            fc.record({ op: fc.constantFrom("add", "drop", "rename") as fc.Arbitrary<Op["op"]>, pick: fc.nat(), fresh: fc.nat() }),
            { maxLength: 25 },
        );
        await fc.assert(
            fc.asyncProperty(ops, fc.integer({ min: 1, max: 4 }), async (history, perFile) => {
                // The model: column name → the file:line that added it.
                const model = new Map<string, string>([["id", "m/0000.sql:1"]]);
                const files: [string, string][] = [["m/0000.sql", "CREATE TABLE t (id int);"]];
                let next = 0;
                let lines: string[] = [];
                const flush = () => {
                    if (lines.length) files.push([`m/${String(files.length).padStart(4, "0")}.sql`, lines.join("\n")]);
                    lines = [];
                };
                for (const step of history) {
                    const file = `m/${String(files.length).padStart(4, "0")}.sql`;
                    const names = [...model.keys()];
                    const line = lines.length + 1;
                    if (step.op === "add" || names.length === 0) {
                        const name = `c${next++}`;
                        lines.push(`ALTER TABLE t ADD COLUMN ${name} text;`);
                        model.set(name, `${file}:${line}`);
                    } else if (step.op === "drop") {
                        const name = names[step.pick % names.length];
                        lines.push(`ALTER TABLE t DROP COLUMN ${name};`);
                        model.delete(name);
                    } else {
                        const name = names[step.pick % names.length];
                        const to = `r${next++}`;
                        lines.push(`ALTER TABLE t RENAME COLUMN ${name} TO ${to};`);
                        model.set(to, model.get(name)!);
                        model.delete(name);
                    }
                    if (lines.length >= perFile) flush();
                }
                flush();
                const r = await replay(...files);
                assert.deepEqual(new Map(r.columns.map((c) => [c.column, `${c.source?.file}:${c.source?.line}`])), model);
                assert.equal(r.columns.length, new Set(r.columns.map((c) => c.column)).size, "no column twice");
                assert.deepEqual(r.unknown, []);
            }),
            { numRuns: 60 },
        );
    });
});
