/** The exhaustiveness check and the guesses of `db:mask init`, on generated tables, columns and rules. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { assertExhaustive, checkExhaustive, MaskingCoverageError } from "../../components/masking/exhaustive";
import { ColumnInfo, guessStrategy, renderRulesFile } from "../../components/masking/guess";
import { MaskingRules, parseMaskingRules, yamlKey } from "../../components/masking/rules";

const ident = fc.oneof(
    fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
    fc.constantFrom("email", "phone", "first_name", "ip_address", "password_hash", "profile", "null", "01", "Mixed Case", "a:b"),
);
const type = fc.constantFrom("text", "integer", "jsonb", "inet", "character varying(80)", "timestamptz");
/** A schema: tables of distinct columns, each column with a migration source. */
const schema = fc.uniqueArray(
    fc.tuple(ident, fc.uniqueArray(fc.tuple(ident, type), { minLength: 1, maxLength: 6, selector: ([c]) => c })),
    {
        minLength: 1,
        maxLength: 6,
        selector: ([t]) => t,
    },
);

function columnsOf(s: [string, [string, string][]][]): ColumnInfo[] {
    let line = 0;
    return s.flatMap(([table, cols]) =>
        cols.map(([column, t]) => ({ table, column, type: t, source: { file: "migrations/001_init.sql", line: ++line } })),
    );
}

/** A rules file (as text, parsed) classifying exactly the chosen columns, plus extra stale ones. */
function rulesFor(cols: ColumnInfo[], extra: { table: string; column: string }[] = []): MaskingRules {
    const byTable = new Map<string, string[]>();
    for (const c of [...cols, ...extra]) {
        if (!byTable.has(c.table)) byTable.set(c.table, []);
        byTable.get(c.table)!.push(c.column);
    }
    const text = [...byTable].map(([t, cs]) => `${yamlKey(t)}:\n${cs.map((c) => `  ${yamlKey(c)}: keep`).join("\n")}`).join("\n");
    return parseMaskingRules(text);
}

const key = (c: { table: string; column: string }) => JSON.stringify([c.table, c.column]);

describe("masking exhaustiveness", () => {
    it("finds every unclassified column exactly once, and only those", () => {
        fc.assert(
            fc.property(schema, fc.infiniteStream(fc.boolean()), fc.integer({ min: 0, max: 3 }), (s, covered, dupes) => {
                const cols = columnsOf(s);
                const classified = cols.filter(() => covered.next().value);
                // the same columns read twice (migrations and catalog) are reported once
                const input = [...cols, ...cols.slice(0, dupes).map((c) => ({ ...c, source: undefined }))];
                const result = checkExhaustive(input, rulesFor(classified));
                const expected = cols.filter((c) => !classified.includes(c)).map(key);
                const found = result.unclassified.map(key);
                assert.equal(new Set(found).size, found.length, "reported twice");
                assert.deepEqual([...found].sort(), [...expected].sort());
                assert.deepEqual(result.stale, []);
                for (const u of result.unclassified) {
                    const c = cols.find((x) => key(x) === key(u))!;
                    assert.deepEqual(u.source, c.source, "names the migration line that added it");
                    assert.equal(u.tableMissing, !classified.some((x) => x.table === u.table));
                    // the line to add parses back as a rule for that column
                    const added = parseMaskingRules(`${yamlKey(u.table)}:\n${u.line}\n`);
                    assert.equal(added.tables[0].columns[0].column, u.column);
                }
            }),
        );
    });

    it("a full classification reports nothing", () => {
        fc.assert(
            fc.property(schema, (s) => {
                const cols = columnsOf(s);
                assert.deepEqual(checkExhaustive(cols, rulesFor(cols)), { unclassified: [], stale: [] });
                assertExhaustive(cols, rulesFor(cols));
            }),
        );
    });

    it("finds every stale rule with its rules-file line: dropped columns and dropped tables", () => {
        fc.assert(
            fc.property(schema, fc.infiniteStream(fc.boolean()), (s, dropped) => {
                const cols = columnsOf(s);
                const rules = rulesFor(cols);
                const remaining = cols.filter(() => !dropped.next().value);
                const result = checkExhaustive(remaining, rules);
                assert.deepEqual(result.unclassified, []);
                const liveTables = new Set(remaining.map((c) => c.table));
                const expected: string[] = [];
                for (const t of rules.tables) {
                    if (!liveTables.has(t.table)) expected.push(JSON.stringify([t.table, null, t.line]));
                    else
                        for (const c of t.columns)
                            if (!remaining.some((r) => r.table === t.table && r.column === c.column))
                                expected.push(JSON.stringify([t.table, c.column, c.line]));
                }
                const found = result.stale.map((x) => JSON.stringify([x.table, x.column ?? null, x.line]));
                assert.deepEqual([...found].sort(), expected.sort());
                assert.ok(result.stale.every((x) => x.file === "db/masking.yaml"));
            }),
        );
    });

    it("a `public.` schema on either side matches the bare name", () => {
        const rules = parseMaskingRules("accounts:\n  id: keep\n");
        assert.deepEqual(checkExhaustive([{ table: "public.accounts", column: "id", type: "int" }], rules), {
            unclassified: [],
            stale: [],
        });
    });

    it("says what to add and where, and suggests the rename of a stale rule", () => {
        const rules = parseMaskingRules("accounts:\n  id: keep\n  email: email\n");
        const cols: ColumnInfo[] = [
            { table: "accounts", column: "id", type: "bigint" },
            { table: "accounts", column: "email_address", type: "text", source: { file: "migrations/20240101_emails.sql", line: 3 } },
            { table: "visits", column: "ip", type: "inet" },
        ];
        const result = checkExhaustive(cols, rules);
        assert.deepEqual(result.stale, [
            { table: "accounts", column: "email", file: "db/masking.yaml", line: 3, renamedTo: "email_address" },
        ]);
        assert.throws(
            () => assertExhaustive(cols, rules),
            (e: unknown) => {
                assert.ok(e instanceof MaskingCoverageError);
                assert.match(
                    e.message,
                    /accounts\.email_address \(added at migrations\/20240101_emails\.sql:3\)\n {4}fix: add under 'accounts:' the line 'email_address: email {2}# review/,
                );
                assert.match(e.message, /visits\.ip\n {4}fix: add 'visits:' and under it 'ip: hash {2}# review/);
                assert.match(
                    e.message,
                    /db\/masking\.yaml:3: column accounts\.email no longer exists\n {4}fix: delete the rule \(renamed to email_address\?/,
                );
                return true;
            },
        );
    });
});

describe("masking guesses", () => {
    it("guesses from names and types", () => {
        const cases: [string, string, string][] = [
            ["email", "text", "email"],
            ["contactEmail", "citext", "email"],
            ["phone_number", "text", "phone"],
            ["mobile", "text", "phone"],
            ["first_name", "text", "name"],
            ["surname", "text", "name"],
            ["street_address", "text", "text"],
            ["zip", "text", "text"],
            ["ip_address", "text", "hash"],
            ["last_seen_from", "inet", "hash"],
            ["password_hash", "text", "hash"],
            ["api_token", "text", "hash"],
            ["id", "bigint", "keep"],
            ["table_name", "text", "keep"],
            ["footprint", "integer", "keep"],
            ["created_at", "timestamptz", "keep"],
        ];
        for (const [column, t, strategy] of cases) assert.equal(guessStrategy(column, t).strategy, strategy, `${column} ${t}`);
    });

    it("renders a rules file that parses, classifies every column, and marks every non-keep guess for review", () => {
        fc.assert(
            fc.property(schema, (s) => {
                const cols = columnsOf(s);
                const text = renderRulesFile([...cols, ...cols.slice(0, 2)]);
                const rules = parseMaskingRules(text);
                assert.deepEqual(checkExhaustive(cols, rules), { unclassified: [], stale: [] });
                for (const t of rules.tables) {
                    for (const c of t.columns) {
                        const line = text.split("\n")[c.line - 1];
                        const col = cols.find((x) => x.table === t.table && x.column === c.column)!;
                        assert.equal(c.rule.kind, guessStrategy(col.column, col.type).strategy);
                        if (c.rule.kind !== "keep") assert.match(line, /# review/, line);
                    }
                }
            }),
        );
    });
});
