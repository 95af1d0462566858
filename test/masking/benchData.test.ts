/**
 * The masking benchmark's database (bench/mask/data.ts), generated small: the rows
 * planned, the foreign keys in place, and the benchmark's rules classifying every
 * column it has, so that `npm run bench:mask` masks what it claims to.
 */
import { strict as assert } from "assert";
import { Client } from "pg";
import { BENCH_MASKING_RULES, BENCH_TABLES, generateBenchData, rowPlan } from "../../bench/mask/data";
import { checkExhaustive } from "../../components/masking/exhaustive";
import { parseMaskingRules } from "../../components/masking/rules";
import { freshDatabase } from "../support/postgres";

async function rows(url: string, text: string): Promise<any[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(text)).rows;
    } finally {
        await c.end();
    }
}

describe("bench mask: the generated database", () => {
    it("scales the rows with --mb: about 4.7 million at 1 GB, a tenth of that at 100 MB, split over the three tables", () => {
        const big = rowPlan(1024);
        const total = BENCH_TABLES.reduce((n, t) => n + big[t], 0);
        assert.ok(total > 4.5e6 && total < 5e6, String(total));
        const small = rowPlan(102.4);
        for (const t of BENCH_TABLES) assert.ok(Math.abs(small[t] * 10 - big[t]) <= 10, t);
        assert.ok(big.events > big.orders && big.orders > big.accounts);
    });

    it("holds the planned rows, its foreign keys, and the rules classify every column and name nothing else", async () => {
        const url = await freshDatabase("benchmask");
        const plan = await generateBenchData(url, 0.2);
        assert.deepEqual(plan, rowPlan(0.2));
        for (const t of BENCH_TABLES) assert.equal(Number((await rows(url, `SELECT count(*) AS n FROM ${t}`))[0].n), plan[t], t);
        const fks = await rows(url, "SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' ORDER BY 1");
        assert.deepEqual(
            fks.map((r) => r.t),
            ["events", "orders"],
        );
        // Every payload carries the customer's email the json rule masks.
        const [{ n }] = await rows(url, "SELECT count(*) AS n FROM events WHERE payload->'customer'->>'email' NOT LIKE '%@%'");
        assert.equal(Number(n), 0);

        const columns = await rows(
            url,
            "SELECT table_name AS table, column_name AS column, data_type AS type FROM information_schema.columns WHERE table_schema = 'public'",
        );
        assert.equal(columns.length, 15);
        const result = checkExhaustive(columns, parseMaskingRules(BENCH_MASKING_RULES, "bench/mask/data.ts"));
        assert.deepEqual(result, { unclassified: [], stale: [] });
    });
});
