/**
 * The period a report covers: `--since` as `Nd`, `Nh`, `Nw` (days, hours,
 * weeks before now) or an ISO date, up to now; and its weeks. Pure: `now` is
 * the caller's.
 */

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** The forms `--since` accepts, for its help and its usage error. */
export const SINCE_FORMS = "Nd, Nh or Nw (days, hours or weeks before now: 30d, 12h, 8w) or an ISO date (2026-11-01, 2026-11-01T09:00Z)";

/** The period's start, or undefined when `value` is none of the accepted forms or not before `now`. */
export function parseSince(value: string, now: Date): Date | undefined {
    const relative = /^(\d+)([hdw])$/.exec(value.trim());
    if (relative) {
        const n = Number(relative[1]);
        return n > 0 ? new Date(now.getTime() - n * UNIT_MS[relative[2]]) : undefined;
    }
    // A date alone or a date and time: Date.parse takes other forms too ("Dec 1"), which are not ISO and not accepted.
    if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) return undefined;
    const at = Date.parse(value.trim());
    return Number.isNaN(at) || at >= now.getTime() ? undefined : new Date(at);
}

/** Monday 00:00 UTC on or before `at`. */
export function weekStart(at: Date): Date {
    const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
    const sinceMonday = (day.getUTCDay() + 6) % 7;
    return new Date(day.getTime() - sinceMonday * 86_400_000);
}

/** [since, until) cut at each Monday 00:00 UTC, oldest first: the first and last weeks may be partial. */
export function weeksOf(since: Date, until: Date): [Date, Date][] {
    const weeks: [Date, Date][] = [];
    let from = since;
    while (from < until) {
        const next = new Date(weekStart(from).getTime() + UNIT_MS.w);
        const to = next < until ? next : until;
        weeks.push([from, to]);
        from = to;
    }
    return weeks;
}
