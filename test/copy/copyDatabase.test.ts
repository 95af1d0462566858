/**
 * copyDatabase through real PostgreSQL: a masked copy (every strategy, a
 * partitioned table, an inheritance child, a generated column, foreign keys and
 * unique constraints over masked columns, sequences), checked afterwards by
 * reading the copy; the leak check catching a masker that was dropped and a
 * value planted after the masking; refusals before anything is written.
 */
import { strict as assert } from "assert";
import { CopyPlanError, copyDatabase, LeakError } from "../../components/copy";
import { maskEmail, maskPhone, parseMaskingRules } from "../../components/masking";
import { freshDatabase, queryRows } from "../support/postgres";

const sql = queryRows;

const KEY = "copy-test-key-0123456789";

const SCHEMA = `
CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  full_name text,
  phone text,
  bio text,
  notes text,
  reset_code text,
  country text,
  born_on date,
  profile jsonb,
  email_lower text GENERATED ALWAYS AS (lower(email)) STORED
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  account_email text NOT NULL REFERENCES accounts (email),
  amount numeric(10, 2) NOT NULL
);
CREATE TABLE events (id bigint, at date NOT NULL, detail text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE audit (id int, who text);
CREATE TABLE audit_archive (archived boolean) INHERITS (audit);
CREATE TABLE keel_schema_history (version text PRIMARY KEY, checksum text);
CREATE INDEX orders_amount ON orders (amount);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.amount := NEW.amount + 1000; RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
`;

const RULES = `accounts:
  id: keep
  email: email
  full_name: name
  phone: phone
  bio: text
  notes:
    text: { pattern: '\\d{3}-\\d{2}-\\d{4}' }
  reset_code: null
  country: { fixed: NL }
  born_on: { sql: "date_trunc('year', born_on)" }
  profile:
    json:
      address.street: text
      contacts[*].email: email
  email_lower: keep
orders:
  id: keep
  account_email: email
  amount: keep
events:
  id: keep
  at: keep
  detail: hash
audit:
  id: keep
  who: name
audit_archive:
  id: keep
  who: name
  archived: keep
`;

async function seed(url: string, accounts = 50): Promise<void> {
    await sql(url, SCHEMA);
    await sql(
        url,
        `ALTER TABLE orders DISABLE TRIGGER orders_touch;
         INSERT INTO accounts (email, full_name, phone, bio, notes, reset_code, country, born_on, profile)
         SELECT 'user' || g || '@mail.test', 'Person ' || g, '+31 6 ' || lpad((g * 7919 % 100000000)::text, 8, '0'), 'bio of ' || g || E'\\twith a tab\\nand a newline \\\\ ü',
                'ssn ' || lpad(g::text, 3, '0') || '-12-3456 kept', 'code' || g, 'DE', date '1990-06-15' + g,
                jsonb_build_object('address', jsonb_build_object('street', g || ' Main St', 'city', 'Utrecht'), 'contacts', jsonb_build_array(jsonb_build_object('email', 'c' || g || '@mail.test')))
         FROM generate_series(1, ${accounts}) g;
         INSERT INTO orders (account_email, amount) SELECT 'user' || (1 + g % ${accounts}) || '@mail.test', g FROM generate_series(1, ${accounts * 3}) g;
         ALTER TABLE orders ENABLE TRIGGER orders_touch;
         INSERT INTO events SELECT g, date '2025-06-01' + g * 2, 'detail ' || g FROM generate_series(1, 200) g;
         INSERT INTO audit VALUES (1, 'Alice Admin');
         INSERT INTO audit_archive VALUES (2, 'Bob Archive', true);
         INSERT INTO keel_schema_history VALUES ('0001', 'abc');`,
    );
}

describe("copyDatabase (real PostgreSQL)", function () {
    this.timeout(120000);
    const rules = parseMaskingRules(RULES, "db/masking.yaml");

    it("copies masked over an existing target, swaps it in, keeps the previous database, and no original value is left", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await seed(source);
        await sql(target, "CREATE TABLE old_stuff (x int); INSERT INTO old_stuff VALUES (1)");
        const lines: string[] = [];
        const result = await copyDatabase({
            sourceUrl: source,
            targetUrl: target,
            masking: { rules, key: KEY },
            progress: (l) => lines.push(l),
        });

        // The target is the copy now; the old one is kept under result.previous.
        assert.deepEqual(await sql(target, "SELECT to_regclass('old_stuff') AS t"), [{ t: null }]);
        const prev = target.replace(/\/[^/?]+(\?|$)/, `/${result.previous}$1`);
        assert.deepEqual(await sql(prev, "SELECT x FROM old_stuff"), [{ x: 1 }]);

        const src = await sql(source, "SELECT * FROM accounts ORDER BY id");
        const dst = await sql(target, "SELECT * FROM accounts ORDER BY id");
        assert.equal(dst.length, 50);
        for (const [i, a] of dst.entries()) {
            const s = src[i];
            assert.equal(a.id, s.id);
            assert.equal(a.email, maskEmail(KEY, s.email));
            assert.equal(a.email_lower, a.email.toLowerCase(), "the generated column is recomputed from the masked email");
            assert.equal(a.phone, maskPhone(KEY, s.phone));
            assert.notEqual(a.full_name, s.full_name);
            assert.equal(a.bio.length, s.bio.length);
            assert.doesNotMatch(a.bio, /bio of/);
            assert.match(a.notes, /^ssn \d{3}-\d{2}-\d{4} kept$/);
            assert.notEqual(a.notes, s.notes);
            assert.equal(a.reset_code, null);
            assert.equal(a.country, "NL");
            assert.equal(new Date(a.born_on).getMonth(), 0);
            assert.equal(a.profile.address.city, "Utrecht");
            assert.notEqual(a.profile.address.street, s.profile.address.street);
            assert.equal(a.profile.contacts[0].email, maskEmail(KEY, s.profile.contacts[0].email));
        }
        // The foreign key over a masked column holds: the same email masks to the same value in both tables.
        const orphans = await sql(
            target,
            "SELECT count(*)::int AS n FROM orders o LEFT JOIN accounts a ON a.email = o.account_email WHERE a.id IS NULL",
        );
        assert.deepEqual(orphans, [{ n: 0 }]);
        // The trigger is created after the rows: amounts are not touched by it.
        assert.deepEqual(
            await sql(target, "SELECT sum(amount)::int AS s FROM orders"),
            await sql(source, "SELECT sum(amount)::int AS s FROM orders"),
        );
        // Partitions through their root, inheritance children on their own, no row twice.
        assert.deepEqual(
            await sql(target, "SELECT count(*)::int AS n FROM events_2025"),
            await sql(source, "SELECT count(*)::int AS n FROM events_2025"),
        );
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM ONLY audit"), [{ n: 1 }]);
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM audit"), [{ n: 2 }]);
        assert.notEqual((await sql(target, "SELECT who FROM ONLY audit"))[0].who, "Alice Admin");
        // Keel's history is copied as it is; the sequence continues after the copied ids.
        assert.deepEqual(await sql(target, "SELECT version, checksum FROM keel_schema_history"), [{ version: "0001", checksum: "abc" }]);
        assert.deepEqual(await sql(target, "SELECT nextval('accounts_id_seq')::int AS n"), [{ n: 51 }]);
        assert.ok(
            result.checked.some((c) => /no original value in \d+ masked columns/.test(c)),
            result.checked.join("\n"),
        );
        assert.ok(
            lines.some((l) => /copied accounts: 50 rows, \d+ columns masked/.test(l)),
            lines.join("\n"),
        );
        // The schema's own constraints (accounts: pkey, unique email; orders: pkey, fkey; history: pkey), not the catalogs'.
        assert.ok(result.checked.includes("5 constraints hold over the copied rows"), result.checked.join("\n"));
        // Nothing of the source's personal data anywhere in the copy's text.
        const dump = JSON.stringify(await sql(target, "SELECT a.*, (SELECT json_agg(o) FROM orders o) FROM accounts a"));
        assert.doesNotMatch(dump, /@mail\.test|Person \d|bio of/);
    });

    it("masked on worker threads: the same rows as in this thread, and a masker's failure fails the copy with its cause", async () => {
        const source = await freshDatabase("copy_src");
        await seed(source, 30);
        const inThread = await freshDatabase("copy_dst");
        const onWorkers = await freshDatabase("copy_dst");
        await copyDatabase({ sourceUrl: source, targetUrl: inThread, masking: { rules, key: KEY } }, { parallelMasking: "never" });
        await copyDatabase({ sourceUrl: source, targetUrl: onWorkers, masking: { rules, key: KEY } }, { parallelMasking: "always" });
        const rows = (url: string) =>
            sql(url, "SELECT a.*, (SELECT json_agg(o ORDER BY id) FROM orders o) AS orders FROM accounts a ORDER BY id");
        assert.deepEqual(await rows(onWorkers), await rows(inThread));
        // A json rule over a column that holds no JSON: the worker's error names the cause; the target is unchanged.
        await sql(source, "ALTER TABLE accounts ALTER COLUMN profile TYPE text; UPDATE accounts SET profile = 'not json' WHERE id = 3");
        const err = await copyDatabase(
            { sourceUrl: source, targetUrl: onWorkers, masking: { rules, key: KEY } },
            { parallelMasking: "always" },
        ).catch((e) => e);
        assert.match(String(err.message), /masking failed: .*JSON/);
        assert.deepEqual(await rows(onWorkers), await rows(inThread));
    });

    it("into a database that does not exist yet: creates it, nothing kept", async () => {
        const source = await freshDatabase("copy_src");
        await seed(source, 5);
        const target = source.replace(/\/[^/?]+(\?|$)/, `/copy_new_${Date.now()}$1`);
        const result = await copyDatabase({ sourceUrl: source, targetUrl: target, masking: { rules, key: KEY } });
        assert.equal(result.previous, "");
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM accounts"), [{ n: 5 }]);
    });

    it("a masker dropped from the plan is caught by the leak check: the copy is dropped, the target unchanged", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await seed(source, 20);
        await sql(target, "CREATE TABLE keep_me (x int)");
        const err = await copyDatabase(
            { sourceUrl: source, targetUrl: target, masking: { rules, key: KEY } },
            {
                alterPlan: (plan) => {
                    const t = plan.tables.find((x) => x.table === "accounts")!;
                    const i = t.targetColumns.indexOf('"full_name"');
                    t.maskedFields = t.maskedFields.filter((f) => f.index !== i);
                    return plan;
                },
            },
        ).catch((e) => e);
        assert.ok(err instanceof LeakError, String(err));
        assert.match(err.message, /accounts\.full_name: 20 values of the source found in the copy \(every 20 values compared\)/);
        assert.doesNotMatch(err.message, /Person/);
        assert.deepEqual(await sql(target, "SELECT to_regclass('keep_me')::text AS t"), [{ t: "keep_me" }]);
        const left = await sql(target, "SELECT datname FROM pg_database WHERE datname LIKE '%keel_copy%'");
        assert.deepEqual(left, []);
    });

    it("a value planted after masking (a phone, a pattern match, a json leaf, a sql column) is caught; legitimate equal outputs are not", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await seed(source, 20);
        // born_on's rule gives Jan 1st: a source date of Jan 1st is a legitimate output, not a leak.
        await sql(source, "UPDATE accounts SET born_on = '1991-01-01' WHERE id = 1");
        const plant = async (update: string, column: string) => {
            const err = await copyDatabase(
                { sourceUrl: source, targetUrl: target, masking: { rules, key: KEY } },
                { beforeChecks: (url) => sql(url, update).then(() => undefined) },
            ).catch((e) => e);
            assert.ok(err instanceof LeakError, `${column}: ${err}`);
            assert.match(err.message, new RegExp(`${column.replace(".", "\\.")}: 1 value`));
        };
        await plant("UPDATE accounts SET phone = '+31 6 00007919' WHERE id = 2", "accounts.phone");
        await plant("UPDATE accounts SET notes = 'x 003-12-3456' WHERE id = 2", "accounts.notes");
        await plant(`UPDATE accounts SET profile = jsonb_set(profile, '{address,street}', '"7 Main St"') WHERE id = 2`, "accounts.profile");
        await plant("UPDATE accounts SET born_on = '1990-06-18' WHERE id = 2", "accounts.born_on");
        await plant("UPDATE accounts SET reset_code = 'x' WHERE id = 2", "accounts.reset_code");
        // Without a plant the same copy passes (the Jan 1st date and the fixed value are not leaks).
        await copyDatabase({ sourceUrl: source, targetUrl: target, masking: { rules, key: KEY } });
    });

    it("a large column is compared by a consistent sample in the database: planted values in it are found, the masked rest is not", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await sql(
            source,
            `CREATE TABLE people (id int PRIMARY KEY, email text, profile jsonb);
             INSERT INTO people SELECT g, 'p' || g || '@mail.test', jsonb_build_object('contact', jsonb_build_object('email', 'c' || g || '@mail.test'))
             FROM generate_series(1, 2000) g`,
        );
        const peopleRules = parseMaskingRules(
            "people:\n  id: keep\n  email: email\n  profile:\n    json:\n      contact.email: email\n",
            "db/masking.yaml",
        );
        const masking = { rules: peopleRules, key: KEY };
        // 2,000 rows against a sample of 100: each value is looked at with probability 1/20.
        const clean = await copyDatabase({ sourceUrl: source, targetUrl: target, masking }, { leakSampleUnits: 100 });
        assert.ok(
            clean.checked.some((c) =>
                /no original value in 2 masked columns \(\d+ distinct values compared; 2 large columns by a consistent sample\)/.test(c),
            ),
            clean.checked.join("\n"),
        );
        // Half the rows put back as they were: P(none of 1,000 in a 1/20 sample) = 0.95^1000, about 5e-23.
        const err = await copyDatabase(
            { sourceUrl: source, targetUrl: target, masking },
            {
                leakSampleUnits: 100,
                beforeChecks: (url) =>
                    sql(
                        url,
                        `UPDATE people SET email = 'p' || id || '@mail.test', profile = jsonb_build_object('contact', jsonb_build_object('email', 'c' || id || '@mail.test')) WHERE id % 2 = 0`,
                    ).then(() => undefined),
            },
        ).catch((e) => e);
        assert.ok(err instanceof LeakError, String(err));
        assert.match(err.message, /people\.email: \d+ values? of the source found in the copy \(a sample of \d+ values? compared\)/);
        assert.match(err.message, /people\.profile: \d+ values? of the source found/);
    });

    it("refuses before anything is written: a column without a rule (live catalog), an unknown --tables name, a missing referenced table", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await seed(source, 3);
        await sql(source, "DO $$ BEGIN EXECUTE 'ALTER TABLE accounts ADD COLUMN ip inet'; END $$");
        const err = await copyDatabase({
            sourceUrl: source,
            targetUrl: target,
            masking: { rules, key: KEY },
            tables: ["order", "orders"],
        }).catch((e) => e);
        assert.ok(err instanceof CopyPlanError, String(err));
        assert.match(
            err.message,
            /accounts\.ip \(inet\) has no masking rule \(the live catalog of 127\.0\.0\.1:\d+\/\w+ has it\); in db\/masking\.yaml, add under 'accounts:' the line 'ip: /,
        );
        assert.match(err.message, /--tables names 'order', which the source does not have; did you mean 'orders'\?/);
        assert.match(
            err.message,
            /--tables copies orders, whose foreign key orders_account_email_fkey references accounts, which is not listed: add accounts to --tables/,
        );
        assert.deepEqual(await sql(target, "SELECT datname FROM pg_database WHERE datname LIKE '%keel_copy%'"), []);
    });

    it("a rule that makes a unique column's values equal fails the copy at the unique index, naming the fix; the target unchanged", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await seed(source, 5);
        await sql(target, "CREATE TABLE keep_me (x int)");
        const fixed = parseMaskingRules(RULES.replace("  email: email\n", "  email: { fixed: same@example.com }\n"), "db/masking.yaml");
        const err = await copyDatabase({ sourceUrl: source, targetUrl: target, masking: { rules: fixed, key: KEY } }).catch((e) => e);
        assert.match(
            String(err.message),
            /could not create unique index "accounts_email_key"[\s\S]*does not hold over the masked rows: mask that column with a strategy that keeps distinct values distinct/,
        );
        assert.deepEqual(await sql(target, "SELECT to_regclass('keep_me')::text AS t"), [{ t: "keep_me" }]);
    });

    it("unmasked, schema only, and a subset of tables", async () => {
        const source = await freshDatabase("copy_src");
        const target = await freshDatabase("copy_dst");
        await seed(source, 4);
        await copyDatabase({ sourceUrl: source, targetUrl: target });
        assert.deepEqual(await sql(target, "SELECT email FROM accounts ORDER BY id LIMIT 1"), [{ email: "user1@mail.test" }]);
        await copyDatabase({ sourceUrl: source, targetUrl: target, schemaOnly: true });
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM accounts"), [{ n: 0 }]);
        // Keel's history comes with its rows: the schema it describes is there, so nothing is migrated again.
        assert.deepEqual(await sql(target, "SELECT version FROM keel_schema_history"), [{ version: "0001" }]);
        await copyDatabase({ sourceUrl: source, targetUrl: target, tables: ["accounts", "orders"], masking: { rules, key: KEY } });
        assert.deepEqual(await sql(target, "SELECT (SELECT count(*) FROM orders)::int AS o, (SELECT count(*) FROM events)::int AS e"), [
            { o: 12, e: 0 },
        ]);
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM keel_schema_history"), [{ n: 1 }]);
    });
});
