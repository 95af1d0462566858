/**
 * The masking benchmark's database: accounts (emails, names, phones), their orders
 * (a free-text note) and the orders' events (a jsonb payload with the customer's
 * email and name inside), linked by foreign keys; about 4.7 million rows at 1 GB,
 * scaled by the size asked for, and the db/masking.yaml that classifies every column.
 */
import { Client } from "pg";

/** Rows per MB on disk (heap and indexes), as measured: about 4.7 million rows at 1 GB. */
const ROWS_PER_MB = 4600;

/** Each table's share of the rows. */
const SHARES = { accounts: 0.15, orders: 0.35, events: 0.5 } as const;

export type BenchTable = keyof typeof SHARES;

export const BENCH_TABLES: BenchTable[] = ["accounts", "orders", "events"];

/** How many rows each table gets for about `mb` MB (at least one each, so the foreign keys have a row to point at). */
export function rowPlan(mb: number): Record<BenchTable, number> {
    const total = mb * ROWS_PER_MB;
    return {
        accounts: Math.max(1, Math.round(total * SHARES.accounts)),
        orders: Math.max(1, Math.round(total * SHARES.orders)),
        events: Math.max(1, Math.round(total * SHARES.events)),
    };
}

/** The tables without their foreign keys and secondary indexes: those are added after the load, as a restore does. */
const SCHEMA = `
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    full_name text NOT NULL,
    phone text,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL,
    amount numeric(10, 2) NOT NULL,
    note text,
    created_at timestamptz NOT NULL
);
CREATE TABLE events (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL
);`;

const CONSTRAINTS = `
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE events ADD CONSTRAINT events_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);
CREATE INDEX orders_account_id ON orders (account_id);
CREATE INDEX events_order_id ON events (order_id, at);`;

/** The domain of every generated email, so that a leak is one LIKE away. */
export const SOURCE_EMAIL_DOMAIN = "mail.bench.test";

/** The masking rules for the schema above: every column classified. */
export const BENCH_MASKING_RULES = `# db/masking.yaml of the masking benchmark (bench/mask/data.ts)
accounts:
  id: keep
  email: email
  full_name: name
  phone: phone
  created_at: keep
orders:
  id: keep
  account_id: keep
  amount: keep
  note: text
  created_at: keep
events:
  id: keep
  order_id: keep
  at: keep
  kind: keep
  payload:
    json:
      customer.email: email
      customer.name: name
`;

// A first and a last name from g, spread so neighbouring rows differ. As SQL expressions over g.
const FIRST = `(ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','John','Margaret','Ken','Radia','Tim','Sophie','Linus','Joan','Niklaus','Hedy','Dennis','Karen','Guido'])[1 + (g * 7) % 20]`;
const LAST = `(ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Backus','Hamilton','Thompson','Perlman','Berners-Lee','Wilson','Torvalds','Clarke','Wirth','Lamarr','Ritchie','Jones','van Rossum'])[1 + (g * 13) % 20]`;
// The email of account a (an expression over a), unique by its number.
const email = (a: string) =>
    `lower((ARRAY['ada','grace','alan','edsger','barbara','donald','frances','john','margaret','ken'])[1 + (${a} * 3) % 10]) || '.' || ${a} || '@${SOURCE_EMAIL_DOMAIN}'`;

/** One chunk's INSERT of a table: rows $1..$2 (g); orders and events take the accounts count as $3, events the orders count as $4. */
const INSERTS: Record<BenchTable, string> = {
    accounts: `INSERT INTO accounts (id, email, full_name, phone, created_at)
        SELECT g, ${email("g")}, ${FIRST} || ' ' || ${LAST},
               CASE WHEN g % 10 = 0 THEN NULL
                    ELSE '+31 6 ' || lpad(((g * 7919) % 10000)::text, 4, '0') || ' ' || lpad(((g * 104729) % 10000)::text, 4, '0') END,
               timestamptz '2020-01-01' + g * interval '37 seconds'
        FROM generate_series($1::bigint, $2::bigint) g`,
    orders: `INSERT INTO orders (id, account_id, amount, note, created_at)
        SELECT g, 1 + (g * 7919) % $3::bigint, ((g * 31) % 100000) / 100.0,
               CASE WHEN g % 3 = 0 THEN NULL
                    ELSE 'Deliver to ' || ${FIRST} || ' ' || ${LAST} || ', ' || (1 + g % 300) || ' Canal Street, apartment ' || (g % 90) ||
                         '; call ahead, the bell is broken. Ref ' || left(md5(g::text), 12) END,
               timestamptz '2022-01-01' + g * interval '11 seconds'
        FROM generate_series($1::bigint, $2::bigint) g`,
    events: `INSERT INTO events (id, order_id, at, kind, payload)
        SELECT g, o, timestamptz '2022-01-01' + g * interval '5 seconds',
               (ARRAY['created','paid','packed','shipped','delivered'])[1 + g % 5],
               jsonb_build_object(
                   'customer', jsonb_build_object('email', ${email("(1 + (o * 7919) % $3::bigint)")}, 'name', ${FIRST} || ' ' || ${LAST}),
                   'items', jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (g % 5000), 'qty', 1 + g % 4)))
        FROM generate_series($1::bigint, $2::bigint) g, LATERAL (SELECT 1 + (g * 104729) % $4::bigint AS o) x`,
};

const CHUNK = 100000;

async function query(url: string, text: string, params: unknown[] = []): Promise<void> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        await c.query(text, params);
    } finally {
        await c.end();
    }
}

/**
 * Creates and fills the tables in an empty database at `url` for about `mb` MB, in
 * chunks of 100,000 rows (no statement holds gigabytes), a progress line about every
 * tenth of a table; then the foreign keys, the indexes and VACUUM ANALYZE.
 */
export async function generateBenchData(
    url: string,
    mb: number,
    progress: (line: string) => void = () => undefined,
): Promise<Record<BenchTable, number>> {
    const plan = rowPlan(mb);
    await query(url, SCHEMA);
    for (const table of BENCH_TABLES) {
        const rows = plan[table];
        const step = Math.max(CHUNK, Math.ceil(rows / 10 / CHUNK) * CHUNK);
        for (let done = 0; done < rows;) {
            const n = Math.min(CHUNK, rows - done);
            // A statement is given exactly the parameters it uses (PostgreSQL refuses more).
            const counts = table === "accounts" ? [] : table === "orders" ? [plan.accounts] : [plan.accounts, plan.orders];
            await query(url, INSERTS[table], [done + 1, done + n, ...counts]);
            done += n;
            if (done % step === 0 || done === rows)
                progress(`${table}: ${done.toLocaleString("en-US")} of ${rows.toLocaleString("en-US")} rows`);
        }
    }
    progress("foreign keys, indexes, VACUUM ANALYZE");
    await query(url, CONSTRAINTS);
    await query(url, "VACUUM ANALYZE");
    return plan;
}
