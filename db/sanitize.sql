-- Run by `npm run db:reset -- --stack staging` right after staging's branch is
-- reset from prod, before anything else connects. Keep it idempotent.
-- Mask personal data, so that staging never mails a real customer.
UPDATE accounts SET email = 'user' || id || '@example.invalid' WHERE email NOT LIKE '%@example.invalid';
