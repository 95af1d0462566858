/**
 * Fixtures for the schema catalog's tests: identifiers as users write them, and
 * RICH_SCHEMA_SQL, a schema with one of everything the schema catalog describes (components/postgres/fingerprint.ts):
 * schemas, an extension, an enum, sequences (serial, identity, free-standing), tables with defaults,
 * generated and identity columns, primary keys, unique, check, foreign-key and exclusion constraints,
 * indexes (partial, expression, unique), views (one on another), a materialized view, functions, a
 * procedure and triggers; names that need quoting too.
 */
import fc from "fast-check";

/** Identifiers as users name things: plain, keywords, upper case, spaces, dots, quotes, anything. */
export const identifier = fc.oneof(
    fc.constantFrom("orders", "note", "select", "user", "Total Cents", "a.b", 'say "hi"', "_x1", "x$y", "ÄÖ", "order", "json"),
    fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/),
    fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes("\u0000")),
);

export const RICH_SCHEMA_SQL = `
CREATE SCHEMA app;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TYPE public.mood AS ENUM ('happy', 'sad, really', 'it''s fine');
CREATE SEQUENCE public.invoice_numbers AS bigint START WITH 1000 INCREMENT BY 10 MAXVALUE 99999999 CACHE 5 CYCLE;

CREATE FUNCTION public.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE FUNCTION app.add(a integer, b integer DEFAULT 1) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE PROCEDURE app.noop(IN note text) LANGUAGE plpgsql AS $$ BEGIN PERFORM note; END; $$;

CREATE TABLE public.customers (
    id serial PRIMARY KEY,
    email text NOT NULL,
    mood public.mood DEFAULT 'happy',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_email_key UNIQUE (email),
    CONSTRAINT customers_email_check CHECK (position('@' in email) > 1)
);
CREATE TABLE app.orders (
    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 7 INCREMENT BY 2),
    customer_id integer NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    "Total Cents" integer NOT NULL DEFAULT 0,
    tax_cents integer GENERATED ALWAYS AS ("Total Cents" / 5) STORED,
    invoice bigint DEFAULT nextval('public.invoice_numbers'),
    during tstzrange,
    "select" text,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_total_nonnegative CHECK ("Total Cents" >= 0) NOT VALID,
    CONSTRAINT orders_no_overlap EXCLUDE USING gist (customer_id WITH =, during WITH &&)
);
CREATE UNLOGGED TABLE app."Audit Log" (
    at timestamptz DEFAULT now(),
    line text COLLATE "C"
);
CREATE INDEX orders_customer_idx ON app.orders (customer_id) WHERE "Total Cents" > 0;
CREATE UNIQUE INDEX customers_lower_email_idx ON public.customers (lower(email));
CREATE VIEW public.happy_customers AS SELECT id, email FROM public.customers WHERE mood = 'happy';
CREATE VIEW public.happy_emails AS SELECT email FROM public.happy_customers;
CREATE MATERIALIZED VIEW app.order_totals AS SELECT customer_id, sum("Total Cents") AS total FROM app.orders GROUP BY customer_id WITH NO DATA;
CREATE TRIGGER customers_touch BEFORE UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();
`;
