/** The rules file: every form parses, and every problem is reported at once with file:line, key, what and how to fix. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { MaskingRulesError, nearest, parseJsonPath, parseMaskingRules } from "../../components/masking/rules";

function problemsOf(text: string): MaskingRulesError["problems"] {
    try {
        parseMaskingRules(text);
    } catch (e) {
        assert.ok(e instanceof MaskingRulesError, String(e));
        assert.ok(e instanceof Error);
        assert.equal(e.name, "MaskingRulesError");
        return e.problems;
    }
    assert.fail("parsed without problems");
}

describe("masking rules file", () => {
    it("parses every strategy, with the line of each key", () => {
        const rules = parseMaskingRules(
            [
                "# comment",
                "accounts:",
                "  id: keep",
                "  email: email",
                "  full_name: name",
                "  phone: phone",
                "  bio: text",
                "  notes: { text: { pattern: '\\d{3}-\\d{4}' } }",
                "  token: hash",
                "  reset: null",
                "  country: { fixed: NL }",
                "  born: { sql: \"date_trunc('year', born)\" }",
                "  profile:",
                "    json:",
                "      address.street: text",
                "      '$.phones[*]': phone",
                "      '[\"odd key\"].x': { fixed: 0 }",
                "  01: keep",
                "orders: { id: keep }",
            ].join("\n"),
        );
        assert.equal(rules.file, "db/masking.yaml");
        const [accounts, orders] = rules.tables;
        assert.equal(accounts.table, "accounts");
        assert.equal(accounts.line, 2);
        const byName = Object.fromEntries(accounts.columns.map((c) => [c.column, c]));
        assert.deepEqual(byName.id.rule, { kind: "keep" });
        assert.equal(byName.email.line, 4);
        assert.deepEqual(byName.reset.rule, { kind: "null" });
        assert.deepEqual(byName.country.rule, { kind: "fixed", value: "NL" });
        assert.deepEqual(byName.born.rule, { kind: "sql", sql: "date_trunc('year', born)" });
        const notes = byName.notes.rule;
        assert.ok(notes.kind === "text" && "pattern" in notes && notes.pattern.test("555-1234"));
        const profile = byName.profile.rule;
        assert.ok(profile.kind === "json");
        assert.deepEqual(
            profile.paths.map((p) => [p.path, p.steps, p.rule, p.line]),
            [
                ["address.street", [{ key: "address" }, { key: "street" }], { kind: "text" }, 15],
                ["$.phones[*]", [{ key: "phones" }, { index: "*" }], { kind: "phone" }, 16],
                ['["odd key"].x', [{ key: "odd key" }, { key: "x" }], { kind: "fixed", value: 0 }, 17],
            ],
        );
        assert.ok(byName["01"], "a numeric-looking key stays as written");
        assert.deepEqual(orders.columns, [{ column: "id", rule: { kind: "keep" }, line: 19 }]);
    });

    it("the example in the module's header comment parses", () => {
        const source = fs.readFileSync(path.join(__dirname, "../../components/masking/rules.ts"), "utf8");
        const block = source.match(/```yaml\n([\s\S]*?)```/)![1];
        const example = block
            .split("\n")
            .map((l) => l.replace(/^ \* ?/, ""))
            .join("\n");
        const rules = parseMaskingRules(example);
        const kinds = rules.tables[0].columns.map((c) => c.rule.kind);
        assert.deepEqual(kinds, ["keep", "email", "name", "phone", "text", "text", "hash", "null", "fixed", "sql", "json"]);
    });

    it("an empty file has no tables", () => {
        assert.deepEqual(parseMaskingRules("# nothing yet\n").tables, []);
    });

    it("reports every problem at once, each with file:line, key, what and a fix", () => {
        const problems = problemsOf(
            [
                "accounts:", //                          1
                "  email: emial", //                     2  typo'd strategy
                "  phone: phnoe", //                     3  typo'd strategy
                "  notes: { text: { patern: 'x' } }", // 4  typo'd option
                "  ssn: { text: { pattern: '(' } }", //  5  bad regex
                "  age: { fxed: 1 }", //                 6  typo'd mapping key
                "  doc:", //                             7
                "    json:", //                          8
                "      'a..b': text", //                 9  unreadable path
                "      c: { sql: x }", //                10 sql not allowed in json
                "  flag:", //                            11 no strategy
                "  email: keep", //                      12 listed twice
                "  wat: obliterate", //                  13 unknown, no suggestion
                "orders: keep", //                       14 no columns
            ].join("\n"),
        );
        const at = (line: number) => {
            const p = problems.find((x) => x.line === line);
            assert.ok(p, `no problem reported at line ${line}: ${JSON.stringify(problems)}`);
            assert.equal(p.file, "db/masking.yaml");
            assert.ok(p.message.length > 0 && p.fix.length > 0);
            return p;
        };
        assert.equal(problems.length, 11);
        assert.equal(at(2).key, "accounts.email");
        assert.match(at(2).message, /'emial' is not a masking strategy/);
        assert.match(at(2).fix, /did you mean 'email'/);
        assert.match(at(3).fix, /did you mean 'phone'/);
        assert.equal(at(4).key, "accounts.notes.text.patern");
        assert.match(at(4).fix, /did you mean 'pattern'/);
        assert.equal(at(5).key, "accounts.ssn.text.pattern");
        assert.match(at(5).message, /not a valid regular expression/);
        assert.equal(at(6).key, "accounts.age.fxed");
        assert.match(at(6).fix, /did you mean 'fixed'/);
        assert.equal(at(9).key, "accounts.doc.json.a..b");
        assert.match(at(9).message, /not a path Keel reads/);
        assert.match(at(10).message, /'sql' is not allowed inside a json rule/);
        assert.match(at(11).message, /has no strategy/);
        assert.match(at(12).message, /listed twice \(first on line 2\)/);
        assert.match(at(13).message, /'obliterate' is not a masking strategy/);
        assert.doesNotMatch(at(13).fix, /did you mean/);
        assert.match(at(14).message, /holds no columns/);
    });

    it("the error message names file:line, key and fix for each problem", () => {
        try {
            parseMaskingRules("t:\n  a: emial\n  b: nul\n", "db/masking.yaml");
            assert.fail("parsed");
        } catch (e) {
            const msg = (e as Error).message;
            assert.match(msg, /2 problems/);
            assert.match(msg, /db\/masking\.yaml:2: t\.a: 'emial' is not a masking strategy\n {4}fix: did you mean 'email'\?/);
            assert.match(msg, /db\/masking\.yaml:3: t\.b: 'nul' is not a masking strategy\n {4}fix: did you mean 'null'\?/);
        }
    });

    it("reports YAML syntax errors with their line", () => {
        const problems = problemsOf("t:\n  a: keep\n  b: [unclosed\n");
        assert.ok(problems.length >= 1);
        assert.ok(
            problems.every((p) => p.file === "db/masking.yaml" && p.line >= 3 && /not valid YAML/.test(p.message)),
            JSON.stringify(problems),
        );
    });

    it("rejects a pattern that matches the empty string, and a top level that is not a mapping", () => {
        assert.match(problemsOf("t:\n  a: { text: { pattern: 'x*' } }\n")[0].message, /matches the empty string/);
        assert.match(problemsOf("- a\n- b\n")[0].message, /not a mapping of tables/);
    });

    it("json paths", () => {
        assert.deepEqual(parseJsonPath("$.a[0].b"), [{ key: "a" }, { index: 0 }, { key: "b" }]);
        assert.deepEqual(parseJsonPath("$[*].a"), [{ index: "*" }, { key: "a" }]);
        for (const bad of ["", "$", "a.", ".a", "a[x]", "a b", "[0]", "a[*"]) assert.equal(typeof parseJsonPath(bad), "string", bad);
    });

    it("suggests only near words", () => {
        assert.equal(nearest("emial", ["email", "name"]), "email");
        assert.equal(nearest("obliterate", ["email", "name"]), undefined);
    });
});
