-- Sample accounts for a dev database (migrations/0001_create_accounts.sql makes the table).
-- `npm run dev:reset` runs the seeds after the migrations, `npm run dev:seed` on their own: every
-- *.sql file of db/seeds/ in name order, each in one transaction. Seeds are not recorded, so this
-- one is written to run again without failing: an address already there is left alone.
INSERT INTO accounts (email) VALUES
    ('ada@example.com'),
    ('grace@example.com'),
    ('linus@example.com')
ON CONFLICT ((lower(email))) DO NOTHING;
