/**
 * The leak check's comparison, as properties: every value planted into the
 * target from the source is found (whole, and in the consistent sample when it
 * falls in it), a masked target has no candidates, and the units it compares
 * (pattern matches, json leaves) are the ones the rules mask.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { canCollide, LeakProbe, SAMPLE_UNITS, sqlJsonPath, unitOutput, unitQueries, unitsOf } from "../../components/copy/leakCheck";
import { maskEmail, parseMaskingRules } from "../../components/masking";
import type { Rule } from "../../components/masking";

const KEY = "leak-check-key-0123456789";
const ruleOf = (yaml: string): Rule => parseMaskingRules(`t:\n  c: ${yaml}\n`, "r.yaml").tables[0].columns[0].rule;
const EMAIL = ruleOf("email");

describe("leak check", () => {
    it("finds exactly the source values planted into a masked column (compared whole)", () => {
        fc.assert(
            fc.property(fc.uniqueArray(fc.emailAddress(), { minLength: 1, maxLength: 60 }), fc.array(fc.nat()), (source, picks) => {
                const planted = new Set(picks.map((p) => source[p % source.length]));
                const probe = new LeakProbe(EMAIL, source.length);
                source.forEach((v) => probe.addSource(v));
                source.forEach((v) => probe.addTarget(planted.has(v) ? v : maskEmail(KEY, v)));
                assert.ok(probe.whole);
                assert.deepEqual(new Set(probe.candidates()), planted);
            }),
        );
    });

    it("above the sample size, compares a consistent sample: a planted value in it is always found, nothing else is", () => {
        const rows = SAMPLE_UNITS * 4;
        const probe = new LeakProbe(EMAIL, rows);
        assert.equal(probe.whole, false);
        const source = Array.from({ length: 20000 }, (_, i) => `user${i}@mail.test`);
        source.forEach((v) => probe.addSource(v));
        source.forEach((v, i) => probe.addTarget(i % 2 ? maskEmail(KEY, v) : v));
        const found = probe.candidates();
        // About a quarter of the 10,000 planted values fall in the sample; each of them is found, and only planted ones.
        assert.ok(found.length > 1500 && found.length < 3500, String(found.length));
        for (const v of found) assert.equal(Number(v.slice(4, v.indexOf("@"))) % 2, 0);
        assert.ok(probe.sampledTarget < source.length);
    });

    it("NULLs and a fixed rule's own value are never leaks", () => {
        const fixed = new LeakProbe(ruleOf("{ fixed: NL }"), 3);
        ["NL", "DE", null].forEach((v) => fixed.addSource(v));
        ["NL", "NL", null].forEach((v) => fixed.addTarget(v));
        assert.deepEqual(fixed.candidates(), []);
    });

    it("compares a pattern's matches and a json rule's leaves, not whole values", () => {
        assert.deepEqual(unitsOf(ruleOf("{ text: { pattern: '\\d{3}-\\d{4}' } }"), "call 555-1234 or 555-9876"), ["555-1234", "555-9876"]);
        const json = ruleOf('{ json: { "contacts[*].email": email, name: keep } }');
        assert.deepEqual(unitsOf(json, '{"name":"Ada","contacts":[{"email":"a@x.test"},{"email":"b@x.test"}]}'), [
            "contacts[*].email\0a@x.test",
            "contacts[*].email\0b@x.test",
        ]);
        assert.deepEqual(unitsOf(json, "not json"), ["not json"]);
    });

    it("only rules that can map one source value onto another get a second look; it gives the rule's output per unit", () => {
        assert.equal(canCollide(EMAIL), false);
        for (const r of ["phone", "{ fixed: x }", "{ sql: 'lower(c)' }", "{ text: { pattern: '\\d+' } }", "{ json: { a: phone } }"])
            assert.equal(canCollide(ruleOf(r)), true, r);
        assert.equal(canCollide(ruleOf("{ json: { a: email } }")), false);
        assert.equal(unitOutput(EMAIL, KEY)!("a@x.test"), maskEmail(KEY, "a@x.test"));
        assert.equal(unitOutput(ruleOf("{ json: { a: email } }"), KEY)!("a\0a@x.test"), `a\0${maskEmail(KEY, "a@x.test")}`);
        assert.equal(unitOutput(ruleOf("{ sql: 'lower(c)' }"), KEY), undefined);
    });

    it("the database side: whole values as text, json leaves by a strict SQL/JSON path (keys quoted), patterns left to JavaScript", () => {
        assert.deepEqual(unitQueries(EMAIL, '"email"'), [{ prefix: "", expr: '"email"::text' }]);
        assert.equal(unitQueries(ruleOf("{ text: { pattern: '\\d+' } }"), '"note"'), undefined);
        assert.equal(sqlJsonPath([{ key: "a" }, { index: "*" }, { key: 'say "hi"' }, { index: 2 }]), 'strict $."a"[*]."say \\"hi\\""[2]');
        const [q] = unitQueries(ruleOf("{ json: { contact.email: email, id: keep } }"), '"p"')!;
        assert.equal(q.prefix, "contact.email\0");
        assert.equal(q.expr, `jsonb_path_query("p"::jsonb, 'strict $."contact"."email"', '{}', true) #>> '{}'`);
    });
});
