/** Masking strategies: deterministic under a key, different under another, format-preserving, NULL-preserving, unique where promised. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseMaskingRules, Rule } from "../../components/masking/rules";
import {
    MASKED_EMAIL_DOMAIN,
    maskEmail,
    maskHash,
    maskName,
    maskPhone,
    maskText,
    maskTextPattern,
    strategyFor,
} from "../../components/masking/strategies";

const key = fc.string({ minLength: 16, maxLength: 48 });
const twoKeys = fc.tuple(key, key).filter(([a, b]) => a !== b);
const value = fc.string({ maxLength: 60 });
const email = fc.emailAddress();
const phone = fc.oneof(
    fc.stringMatching(/^\+[1-9][0-9]{0,2} [0-9]{1,4} [0-9]{3,4} [0-9]{3,4}$/),
    fc.stringMatching(/^\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}$/),
    fc.stringMatching(/^[0-9]{1,15}$/),
    // Over 16 digits the network's halves are BigInts (a different path).
    fc.stringMatching(/^[0-9]{17,30}$/),
);
const maskers: [string, (k: string, v: string | null) => string | null][] = [
    ["email", maskEmail],
    ["name", maskName],
    ["phone", maskPhone],
    ["hash", maskHash],
    ["text", maskText],
    ["pattern", (k, v) => maskTextPattern(k, /[0-9]+/gu, v)],
];
/** The strategies where distinct inputs must give distinct outputs. */
const unique = maskers.filter(([n]) => ["email", "name", "phone", "hash"].includes(n));

describe("masking strategies", () => {
    for (const [name, mask] of maskers) {
        it(`${name}: the same input and key give the same output`, () => {
            fc.assert(fc.property(key, value, (k, v) => assert.equal(mask(k, v), mask(k, v))));
        });

        it(`${name}: NULL in, NULL out`, () => {
            fc.assert(fc.property(key, (k) => assert.equal(mask(k, null), null)));
        });
    }

    for (const [name, mask] of unique) {
        it(`${name}: another key gives another output`, () => {
            const input = name === "phone" ? phone : fc.string({ minLength: 1, maxLength: 40 });
            // a 1-digit phone has 10 outputs: two keys agree 1 time in 10, so phones get at least 6 digits here
            const inputs = name === "phone" ? input.filter((p) => p.replace(/\D/g, "").length >= 6) : input;
            fc.assert(fc.property(twoKeys, inputs, ([a, b], v) => assert.notEqual(mask(a, v), mask(b, v))));
        });
    }

    it("email: a valid-looking address at the reserved domain, keeping nothing of the original", () => {
        fc.assert(
            fc.property(key, email, (k, e) => {
                const out = maskEmail(k, e)!;
                assert.match(out, /^u[0-9a-f]{24}@example\.com$/);
                assert.ok(out.endsWith(`@${MASKED_EMAIL_DOMAIN}`));
                const [local, domain] = e.split("@");
                if (local.length >= 8) assert.ok(!out.includes(local), `${out} holds ${local}`);
                if (domain !== MASKED_EMAIL_DOMAIN && domain.length >= 8) assert.ok(!out.includes(domain), `${out} holds ${domain}`);
            }),
        );
    });

    it("phone: the same length and punctuation, digits replaced by digits", () => {
        fc.assert(
            fc.property(key, phone, (k, p) => {
                const out = maskPhone(k, p)!;
                assert.equal(out.length, p.length);
                assert.equal(out.replace(/[0-9]/g, "#"), p.replace(/[0-9]/g, "#"));
            }),
        );
        // and the digits do change (an identity would pass the shape check)
        assert.notEqual(maskPhone("k".repeat(16), "+31 6 1234 5678"), "+31 6 1234 5678");
    });

    it("name: a first and last name from the lists and a hex suffix", () => {
        fc.assert(fc.property(key, value, (k, v) => assert.match(maskName(k, v)!, /^[A-Z][a-z]+ [A-Z][a-z]+ [0-9a-f]{16}$/)));
    });

    it("hash: 64 hex characters", () => {
        fc.assert(fc.property(key, value, (k, v) => assert.match(maskHash(k, v)!, /^[0-9a-f]{64}$/)));
    });

    it("text: the same length, the original gone", () => {
        fc.assert(
            fc.property(key, fc.string({ unit: "grapheme-ascii", maxLength: 200 }), (k, v) => {
                const out = maskText(k, v)!;
                assert.equal(out.length, v.length);
                assert.match(out, /^[a-z ]*$/);
            }),
        );
    });

    it("text with a pattern: only the matches change, in shape", () => {
        const ssn = /[0-9]{3}-[0-9]{2}-[0-9]{4}/gu;
        fc.assert(
            fc.property(
                key,
                fc.stringMatching(/^[0-9]{3}-[0-9]{2}-[0-9]{4}$/),
                fc.string({ maxLength: 20 }).filter((s) => !/[0-9]/.test(s)),
                (k, n, prefix) => {
                    const out = maskTextPattern(k, ssn, `${prefix} ssn ${n}.`)!;
                    assert.ok(out.startsWith(`${prefix} ssn `));
                    assert.match(out, /[0-9]{3}-[0-9]{2}-[0-9]{4}\.$/);
                },
            ),
        );
    });

    for (const [name, mask] of unique) {
        it(`${name}: distinct inputs stay distinct`, () => {
            const input = name === "email" ? email : name === "phone" ? phone : fc.string({ maxLength: 30 });
            fc.assert(
                fc.property(key, fc.uniqueArray(input, { minLength: 2, maxLength: 200 }), (k, inputs) => {
                    assert.equal(new Set(inputs.map((v) => mask(k, v))).size, inputs.length);
                }),
            );
        });
    }

    it("phone: every 4-digit number of one shape maps to a distinct number (a bijection)", () => {
        const all = Array.from({ length: 10000 }, (_, i) => `+1-${String(i).padStart(4, "0")}`.replace(/^\+1-(\d\d)/, "+1-$1 "));
        const out = new Set(all.map((p) => maskPhone("a-stack-secret-key", p)));
        assert.equal(out.size, all.length);
    });

    it("phone: numbers over 16 digits (the BigInt path) map one to one too, digits to digits", () => {
        const all = Array.from({ length: 3000 }, (_, i) => `12345678901234${String(i).padStart(4, "0")}`);
        const out = all.map((p) => maskPhone("a-stack-secret-key", p)!);
        assert.equal(new Set(out).size, all.length);
        for (const o of out) assert.match(o, /^\d{18}$/);
    });

    describe("strategyFor", () => {
        const rules = parseMaskingRules(
            [
                "t:",
                "  a: email",
                "  b: null",
                "  c: { fixed: n/a }",
                "  d: keep",
                '  e: { sql: "left(e, 1)" }',
                "  f:",
                "    json:",
                "      contact.email: email",
                "      phones[*]: phone",
                "      secret: null",
                "      nested[0].name: name",
            ].join("\n"),
        );
        const rule = (c: string): Rule => rules.tables[0].columns.find((x) => x.column === c)!.rule;
        const k = "k".repeat(32);

        it("masks each kind per value, NULL in NULL out", () => {
            assert.equal(strategyFor(rule("a"), k).mask("x@y.org"), maskEmail(k, "x@y.org"));
            assert.equal(strategyFor(rule("b"), k).mask("x"), null);
            assert.equal(strategyFor(rule("c"), k).mask("x"), "n/a");
            assert.equal(strategyFor(rule("d"), k).mask("x"), "x");
            for (const c of ["a", "b", "c", "d", "f"]) assert.equal(strategyFor(rule(c), k).mask(null), null, c);
        });

        it("leaves sql to the database", () => {
            const s = strategyFor(rule("e"), k);
            assert.equal(s.inDatabaseOnly, true);
            assert.throws(() => s.mask("x"), /masks only in the database/);
        });

        it("masks json by path and keeps the rest", () => {
            const doc = {
                contact: { email: "ada@home.org", city: "Delft" },
                phones: ["+31 6 1234 5678", null],
                secret: "s3",
                nested: [{ name: "Ada" }, { name: "Bob" }],
                other: 1,
            };
            const out = JSON.parse(strategyFor(rule("f"), k).mask(JSON.stringify(doc))!);
            assert.equal(out.contact.email, maskEmail(k, "ada@home.org"));
            assert.equal(out.contact.city, "Delft");
            assert.deepEqual(out.phones, [maskPhone(k, "+31 6 1234 5678"), null]);
            assert.equal(out.secret, null);
            assert.deepEqual(out.nested, [{ name: maskName(k, "Ada") }, { name: "Bob" }]);
            assert.equal(out.other, 1);
        });

        it("refuses a short key", () => {
            assert.throws(() => strategyFor(rule("a"), "short"), /shorter than 16 bytes/);
        });
    });
});
