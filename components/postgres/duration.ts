/**
 * A PostgreSQL duration setting (lock_timeout, statement_timeout): pure, below
 * both config validation and the migration files' directives, which check it.
 */
const DURATION = /^\d+\s*(us|ms|s|min|h|d)?$/;

/** True for a PostgreSQL duration such as `5s`, `250ms`, `10min` or a bare number of milliseconds. */
export function isPgDuration(value: string): boolean {
    return DURATION.test(value.trim());
}
