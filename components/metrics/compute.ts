/**
 * The solo operator's metrics of one stack over a period [since, until), from
 * its history and Keel's records. Every fact is decided on the whole timeline
 * first (failures.ts), then counted in the period it falls in, so the additive
 * figures of [a, b) and [b, c) add up to those of [a, c). Pure.
 */
import type { KeelRecord } from "../records/record";
import { changeFailures, Outage, outages } from "./failures";
import { HistoryUpdate } from "./history";
import { weeksOf } from "./period";
import { LastDrill, PeriodMetrics, Spread, StackMetrics } from "./report";
import { Change, Timeline, timeline } from "./timeline";

const DAY_MS = 86_400_000;

export interface MetricsInput {
    stack: string;
    history: HistoryUpdate[];
    records: KeelRecord[];
    /** Commit times the caller knows (from git), by full hash: lead time when a deploy's record has none. */
    commitTimes?: Map<string, Date>;
}

/** A stack's timeline and the facts decided on all of it. */
export interface StackFacts {
    timeline: Timeline;
    failures: Set<Change>;
    outages: Outage[];
    commitTimes: Map<string, Date>;
}

export function stackFacts(input: Pick<MetricsInput, "history" | "records" | "commitTimes">): StackFacts {
    const t = timeline(input.history, input.records);
    return { timeline: t, failures: changeFailures(t), outages: outages(t), commitTimes: input.commitTimes ?? new Map() };
}

export function median(xs: number[]): number | null {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function spread(xs: number[]): Spread {
    return { count: xs.length, medianMs: median(xs), worstMs: xs.length ? Math.max(...xs) : null };
}

function commitTime(c: Change, known: Map<string, Date>): number | undefined {
    if (c.committedAt !== undefined) return c.committedAt;
    if (!c.commit) return undefined;
    const exact = known.get(c.commit);
    if (exact) return exact.getTime();
    // A record may keep a short hash.
    if (c.commit.length >= 7 && c.commit.length < 40) for (const [hash, at] of known) if (hash.startsWith(c.commit)) return at.getTime();
    return undefined;
}

/** The figures of [since, until). */
export function periodMetrics(facts: StackFacts, since: Date, until: Date): PeriodMetrics {
    const from = since.getTime();
    const to = until.getTime();
    const inPeriod = (at: number) => at >= from && at < to;
    const { changes, events } = facts.timeline;
    const deploys = changes.filter((c) => c.kind === "deploy" && inPeriod(c.end));
    const rollbacks = changes.filter((c) => c.kind === "rollback" && inPeriod(c.end));
    const records = events.filter((e) => inPeriod(Date.parse(e.at)));
    const succeeded = deploys.filter((d) => d.outcome === "succeeded");
    const failing = deploys.filter((d) => facts.failures.has(d));
    const byTrigger: Record<string, number> = {};
    for (const r of rollbacks) byTrigger[r.trigger] = (byTrigger[r.trigger] ?? 0) + 1;
    const began = facts.outages.filter((o) => inPeriod(o.start));
    const restored = began.filter((o): o is Outage & { end: number } => o.end !== undefined).map((o) => o.end - o.start);
    const leads = succeeded
        .map((d) => {
            const at = commitTime(d, facts.commitTimes);
            return at === undefined ? undefined : d.end - at;
        })
        // A commit dated after its deploy is a clock's mistake, not a lead time.
        .filter((x): x is number => x !== undefined && x >= 0);
    // A backup counts with the first deploy that names it: the stack's outputs keep naming it after.
    const firstNamed = new Map<string, Change>();
    for (const c of changes) if (c.kind === "deploy" && c.backup && !firstNamed.has(c.backup.id)) firstNamed.set(c.backup.id, c);
    const backups = [...firstNamed.values()].filter((c) => inPeriod(c.end)).map((c) => c.backup!.bytes ?? 0);
    const drift = records.filter((e) => e.kind === "drift");
    const drills = records.filter((e) => e.kind === "drill");
    const days = (to - from) / DAY_MS;
    return {
        since: since.toISOString(),
        until: until.toISOString(),
        deploys: {
            count: deploys.length,
            succeeded: succeeded.length,
            failed: deploys.length - succeeded.length,
            perDay: days > 0 ? deploys.length / days : 0,
            successRate: deploys.length ? succeeded.length / deploys.length : null,
        },
        timeDeployingMs: [...deploys, ...rollbacks].reduce((n, c) => n + c.durationMs, 0),
        changeFailures: {
            count: failing.length,
            rate: deploys.length ? failing.length / deploys.length : null,
            versions: failing.map((d) => d.version).filter((v): v is number => v !== undefined),
        },
        rollbacks: {
            count: rollbacks.length,
            succeeded: rollbacks.filter((r) => r.outcome === "succeeded").length,
            byTrigger,
        },
        timeToRestore: { ...spread(restored), ongoing: began.length - restored.length },
        leadTime: spread(leads),
        incidents: {
            opened: records.filter((e) => e.kind === "incident-opened").length,
            closed: records.filter((e) => e.kind === "incident-closed").length,
        },
        watchFailures: records.filter((e) => e.kind === "watch-failed").length,
        migrations: {
            applied: deploys.reduce((n, d) => n + d.migrationsApplied, 0),
            destructive: deploys.reduce((n, d) => n + d.destructiveMigrations, 0),
        },
        backups: {
            count: backups.length,
            bytes: backups.reduce((n, b) => n + b, 0),
            largestBytes: backups.length ? Math.max(...backups) : null,
        },
        drift: {
            runs: drift.length,
            drifted: drift.filter((d) => d.kind === "drift" && d.drifted).length,
            findings: drift.reduce((n, d) => n + (d.kind === "drift" && d.drifted ? d.findings : 0), 0),
        },
        drills: { count: drills.length, failed: drills.filter((d) => d.kind === "drill" && d.outcome === "failed").length },
    };
}

/** The last drill of each kind before `until`. */
export function lastDrills(facts: StackFacts, until: Date): LastDrill[] {
    const last = new Map<string, LastDrill>();
    for (const e of facts.timeline.events) {
        if (e.kind !== "drill" || Date.parse(e.at) >= until.getTime()) continue;
        const prev = last.get(e.drill);
        if (prev && Date.parse(prev.at) > Date.parse(e.at)) continue;
        last.set(e.drill, {
            drill: e.drill,
            at: new Date(Date.parse(e.at)).toISOString(),
            outcome: e.outcome,
            durationMs: e.durationMs,
            ...(e.backMs !== undefined ? { backMs: e.backMs } : {}),
            ...(e.forwardMs !== undefined ? { forwardMs: e.forwardMs } : {}),
        });
    }
    return [...last.values()].sort((a, b) => a.drill.localeCompare(b.drill));
}

/** One stack's report over [since, until): totals, weekly buckets, the last drills. */
export function stackMetrics(input: MetricsInput, since: Date, until: Date): StackMetrics {
    const facts = stackFacts(input);
    const ongoing = facts.outages.find((o) => o.start < until.getTime() && (o.end === undefined || o.end >= until.getTime()));
    return {
        stack: input.stack,
        read: { updates: input.history.length, records: input.records.length },
        totals: periodMetrics(facts, since, until),
        weeks: weeksOf(since, until).map(([a, b]) => periodMetrics(facts, a, b)),
        lastDrills: lastDrills(facts, until),
        ...(ongoing ? { ongoingOutage: { since: new Date(ongoing.start).toISOString(), cause: ongoing.cause } } : {}),
    };
}
