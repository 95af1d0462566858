/** Reading the schema catalog's entries: keys, names, quoting, column definitions (pure). */
import { strict as assert } from "assert";
import fc from "fast-check";
import {
    CatalogNames,
    ColumnDef,
    formatColumnDef,
    isDigest,
    parseColumnDef,
    parseKey,
    quoteIdentifier,
    splitSqlName,
} from "../../components/postgres/catalog";
import { identifier } from "../support/catalogFixtures";

describe("schema catalog entries", () => {
    it("a key's kind, two-word kinds included", () => {
        assert.deepEqual(parseKey("column public.orders.note"), { kind: "column", name: "public.orders.note" });
        assert.deepEqual(parseKey("materialized view app.totals"), { kind: "materialized view", name: "app.totals" });
        assert.deepEqual(parseKey("foreign table x.y"), { kind: "foreign table", name: "x.y" });
        assert.deepEqual(parseKey("function public.f(a integer, b text)"), { kind: "function", name: "public.f(a integer, b text)" });
    });

    it("quotes an identifier exactly when PostgreSQL would not read it back unchanged, and the quoted form reads back", () => {
        assert.equal(quoteIdentifier("orders"), "orders");
        assert.equal(quoteIdentifier("select"), '"select"');
        assert.equal(quoteIdentifier("Total Cents"), '"Total Cents"');
        assert.equal(quoteIdentifier('say "hi"'), '"say ""hi"""');
        fc.assert(
            fc.property(identifier, (name) => {
                const q = quoteIdentifier(name);
                if (!q.startsWith('"')) assert.match(q, /^[a-z_][a-z0-9_]*$/);
                assert.deepEqual(splitSqlName(q), [name]);
            }),
        );
    });

    it("splits dotted SQL names with quoted parts", () => {
        fc.assert(
            fc.property(fc.array(identifier, { minLength: 1, maxLength: 3 }), (parts) => {
                assert.deepEqual(splitSqlName(parts.map(quoteIdentifier).join(".")), parts);
            }),
        );
        assert.equal(splitSqlName('a."b'), undefined);
    });

    it("splits names against the catalog's own schemas and relations, dots in names included", () => {
        const names = new CatalogNames({
            "schema public": "schema",
            "schema a.b": "schema",
            "table a.b.c.d": "table",
            "table public.orders": "table",
            "view public.v.w": "view",
        });
        assert.deepEqual(names.splitSchema("a.b.c.d"), ["a.b", "c.d"]);
        assert.deepEqual(names.splitMember("a.b.c.d.e.f"), ["a.b.c.d", "e.f"]);
        assert.deepEqual(names.splitMember("public.v.w.x"), ["public.v.w", "x"]);
        assert.equal(names.splitMember("public.nothing.x"), undefined);
        assert.equal(names.sql("a.b.c.d"), '"a.b"."c.d"');
        assert.equal(names.sql("public.orders"), "public.orders");
    });

    const typeName = fc.oneof(
        fc.constantFrom("integer", "text", "character varying(20)", "timestamp with time zone", "numeric(10,2)[]", "public.mood"),
        identifier.map((n) => `public.${quoteIdentifier(n)}`),
        fc.constant('"weird not null default type"'),
    );
    const expression = fc.oneof(
        fc.constantFrom("0", "now()", "'x'::text", "nextval('public.s'::regclass)", "(a / 5)", "'not null default'::text"),
        fc.string({ maxLength: 20 }),
    );
    const column: fc.Arbitrary<ColumnDef> = fc
        .record({
            type: typeName,
            collation: fc.option(fc.constantFrom('"C"', '"en_US"', 'public."my coll"'), { nil: undefined }),
            notNull: fc.boolean(),
            identity: fc.option(fc.constantFrom<"always" | "by default">("always", "by default"), { nil: undefined }),
            value: fc.option(fc.tuple(fc.constantFrom("default", "generated"), expression), { nil: undefined }),
        })
        .map(({ type, collation, notNull, identity, value }) => ({
            type,
            ...(collation ? { collation } : {}),
            notNull,
            ...(identity ? { identity } : {}),
            // An identity column has no default; a default and a generation expression exclude each other.
            ...(value && !identity ? (value[0] === "default" ? { default: value[1] } : { generated: value[1] }) : {}),
        }));

    it("reads back every column definition it writes", () => {
        fc.assert(fc.property(column, (c) => assert.deepEqual(parseColumnDef(formatColumnDef(c)), c)));
    });

    it("writes column definitions as the fingerprint always has", () => {
        assert.equal(formatColumnDef({ type: "integer", notNull: true, default: "0" }), "integer not null default 0");
        assert.equal(
            formatColumnDef({ type: "bigint", notNull: true, identity: "always" }),
            "bigint not null generated always as identity",
        );
        assert.equal(formatColumnDef({ type: "integer", notNull: false, generated: "(a / 5)" }), "integer generated always as ((a / 5))");
    });

    it("knows a digest from a definition", () => {
        assert.ok(isDigest("sha256:7f33544604b932b1"));
        assert.ok(isDigest("md5:331ce6921873d1a34d535e263898dfc9"));
        assert.ok(!isDigest("CREATE INDEX i ON public.t USING btree (a)"));
    });
});
