/** Two catalogs and two histories compared, and the differences in words (pure). */
import { strict as assert } from "assert";
import fc from "fast-check";
import {
    comparisonIsEqual,
    describeHistoryDifference,
    describeObjectDifference,
    diffCatalogs,
    diffHistories,
    firstDifference,
    formatComparison,
    HistoryEntry,
    indexTarget,
} from "../../components/postgres/catalogDiff";

const LABELS = { a: "staging", b: "prod" };

const key = fc
    .tuple(
        fc.constantFrom("table", "column", "index", "constraint", "view", "function", "materialized view"),
        fc.string({ minLength: 1, maxLength: 12 }),
    )
    .map(([k, n]) => `${k} public.${n}`);
const catalog = fc.dictionary(key, fc.string({ maxLength: 30 }), { maxKeys: 30, noNullPrototype: true });

/** Every key of either side, as the diff accounts for it. */
function accounted(d: ReturnType<typeof diffCatalogs>): string[] {
    return [...d.onlyA, ...d.onlyB, ...d.differ].flatMap((x) => [x.key, ...(x.members ?? [])]);
}

describe("comparing catalogs", () => {
    it("accounts for every object once: only on a side (alone or folded into its relation), different, or the same", () => {
        fc.assert(
            fc.property(catalog, catalog, (a, b) => {
                const d = diffCatalogs(a, b);
                const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
                const listed = accounted(d);
                assert.equal(new Set(listed).size, listed.length, "no key twice");
                assert.equal(listed.length + d.same, keys.size);
                for (const k of listed) assert.ok(keys.has(k));
                for (const x of d.differ) assert.notEqual(a[x.key], b[x.key]);
                for (const x of d.onlyA) assert.ok(!(x.key in b));
            }),
        );
    });

    it("is symmetric, and equal exactly when the catalogs are", () => {
        fc.assert(
            fc.property(catalog, catalog, (a, b) => {
                const ab = diffCatalogs(a, b);
                const ba = diffCatalogs(b, a);
                assert.deepEqual(
                    ab.onlyA.map((x) => x.key),
                    ba.onlyB.map((x) => x.key),
                );
                assert.deepEqual(
                    ab.differ.map((x) => [x.key, x.a, x.b]),
                    ba.differ.map((x) => [x.key, x.b, x.a]),
                );
                const equal = comparisonIsEqual({ catalog: ab, history: [] });
                assert.equal(equal, JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort()));
                assert.ok(comparisonIsEqual({ catalog: diffCatalogs(a, { ...a }), history: [] }));
            }),
        );
    });

    it("folds a missing table's columns, constraints, indexes and triggers into the table's line", () => {
        const a = {
            "schema public": "schema",
            "table public.orders": "table",
            "column public.orders.id": "integer not null",
            "column public.orders.note": "text",
            "constraint public.orders.orders_pkey": "PRIMARY KEY (id)",
            "index public.orders_pkey": "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
            "trigger public.orders.t": "CREATE TRIGGER t BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.f()",
            "table public.accounts": "table",
            "column public.accounts.note": "text",
        };
        const b = { "schema public": "schema", "table public.accounts": "table" };
        const d = diffCatalogs(a, b);
        assert.deepEqual(
            d.onlyA.map((x) => describeObjectDifference(x, LABELS)),
            [
                "table orders (2 columns, 1 constraint, 1 index, 1 trigger): on staging, missing on prod",
                "column accounts.note: text on staging, missing on prod",
            ],
        );
        assert.deepEqual(formatComparison({ catalog: d, history: [] }, LABELS), [
            "schema objects: 2 only on staging (2 the same)",
            "  table orders (2 columns, 1 constraint, 1 index, 1 trigger): on staging, missing on prod",
            "  column accounts.note: text on staging, missing on prod",
            "migrations: the same history on both",
        ]);
    });

    it("says how definitions differ: both when short, the first differing line when long", () => {
        const d = diffCatalogs(
            {
                "column public.accounts.email": "text not null",
                "function public.f()": "CREATE FUNCTION public.f()\n RETURNS int\nAS $$ 1 $$",
            },
            { "column public.accounts.email": "text", "function public.f()": "CREATE FUNCTION public.f()\n RETURNS bigint\nAS $$ 1 $$" },
        );
        assert.deepEqual(
            d.differ.map((x) => describeObjectDifference(x, LABELS)),
            [
                "function f(): definitions differ at line 2: `RETURNS int` on staging, `RETURNS bigint` on prod",
                "column accounts.email: text not null on staging, text on prod",
            ],
        );
        assert.equal(firstDifference("a\nb", "a", LABELS), "definitions differ at line 2: `b` on staging, (end) on prod");
    });

    it("keeps other schemas in names", () => {
        const d = diffCatalogs({}, { "index app.orders_idx": "CREATE INDEX orders_idx ON app.orders USING btree (a)" });
        assert.equal(
            describeObjectDifference(d.onlyB[0], LABELS),
            "index app.orders_idx: missing on staging, CREATE INDEX orders_idx ON app.orders USING btree (a) on prod",
        );
    });

    it("finds the relation of an index definition, quoted names included", () => {
        assert.equal(indexTarget('CREATE UNIQUE INDEX "my idx" ON ONLY app."Audit Log" USING btree (at)'), "app.Audit Log");
        assert.equal(indexTarget("CREATE INDEX i ON public.t USING gist (a)"), "public.t");
        assert.equal(indexTarget("sha256:7f33544604b932b1"), undefined);
    });
});

describe("comparing histories", () => {
    const row = (version: string, name = `m${version}`, checksum = `c${version}`, status = "applied"): HistoryEntry => ({
        version,
        name,
        checksum,
        status,
    });

    it("lists versions on one side only and versions recorded differently, in version order", () => {
        const d = diffHistories([row("1"), row("2"), row("10"), row("3", "m3", "x")], [row("1"), row("3"), row("4", "m4", "c4", "failed")]);
        assert.deepEqual(
            d.map((h) => describeHistoryDifference(h, LABELS)),
            [
                "version 2 (m2): applied on staging, missing on prod",
                "version 3 (m3): applied (checksum x) on staging, applied (checksum c3) on prod",
                "version 4 (m4): missing on staging, failed on prod",
                "version 10 (m10): applied on staging, missing on prod",
            ],
        );
    });

    it("is empty exactly for the same history", () => {
        const history = fc.uniqueArray(
            fc.record({
                version: fc.bigInt({ min: 1n, max: 99n }).map(String),
                name: fc.constant("m"),
                checksum: fc.constantFrom("a", "b"),
                status: fc.constant("applied"),
            }),
            { selector: (r) => r.version, maxLength: 8 },
        );
        fc.assert(
            fc.property(history, history, (a, b) => {
                const same =
                    JSON.stringify([...a].sort((x, y) => x.version.localeCompare(y.version))) ===
                    JSON.stringify([...b].sort((x, y) => x.version.localeCompare(y.version)));
                assert.equal(diffHistories(a, b).length === 0, same);
                assert.deepEqual(diffHistories(a, a), []);
            }),
        );
    });
});
