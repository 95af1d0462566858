/**
 * The shape of `keel metrics --json`: stable, versioned by `format`. Durations
 * are milliseconds, times ISO 8601 (UTC), rates fractions from 0 to 1 (null
 * when there was nothing to divide by), medians and worsts null without data.
 * A new field may be added; none is renamed or removed without a new format.
 */
import type { DrillRecord } from "../records/record";
import type { DEFINITIONS } from "./failures";

export interface MetricsReport {
    format: 1;
    /** [since, until): the period every total covers. */
    since: string;
    until: string;
    /** What each figure counts, in words (components/metrics/failures.ts). */
    definitions: typeof DEFINITIONS;
    /** The change failure window, hours. */
    changeFailureWindowHours: number;
    stacks: StackMetrics[];
}

export interface StackMetrics {
    stack: string;
    /** What was read: the stack history's updates, and Keel's records with the incidents read from the repository's issues. */
    read: { updates: number; records: number };
    /** Why the stack could not be read; its figures are then empty. */
    problem?: string;
    totals: PeriodMetrics;
    /** The period cut at Monday 00:00 UTC, oldest first (the first and last weeks may be partial). */
    weeks: PeriodMetrics[];
    /** The last drill of each kind up to the period's end, whenever it was. */
    lastDrills: LastDrill[];
    /** The outage going on at the period's end, if any. */
    ongoingOutage?: { since: string; cause: string };
}

export interface LastDrill {
    drill: DrillRecord["drill"];
    at: string;
    outcome: DrillRecord["outcome"];
    durationMs: number;
    backMs?: number;
    forwardMs?: number;
}

export interface Spread {
    /** How many values. */
    count: number;
    medianMs: number | null;
    worstMs: number | null;
}

export interface PeriodMetrics {
    since: string;
    until: string;
    deploys: {
        count: number;
        succeeded: number;
        failed: number;
        perDay: number;
        /** succeeded / count. */
        successRate: number | null;
    };
    /** Deploys and rollbacks, summed. */
    timeDeployingMs: number;
    changeFailures: {
        count: number;
        /** count / deploys.count. */
        rate: number | null;
        /** The failing deploys' history versions (those with an update). */
        versions: number[];
    };
    rollbacks: {
        count: number;
        succeeded: number;
        /** hand, button, watch, drill, …; "unknown" for a rollback the history holds without Keel's record. */
        byTrigger: Record<string, number>;
    };
    /** Outages that began in the period and are over: their lengths. */
    timeToRestore: Spread & { ongoing: number };
    /** Successful deploys with a known commit time. */
    leadTime: Spread;
    incidents: { opened: number; closed: number };
    watchFailures: number;
    migrations: { applied: number; destructive: number };
    /** Distinct backups, each counted with the first deploy that names it. */
    backups: { count: number; bytes: number; largestBytes: number | null };
    drift: { runs: number; drifted: number; findings: number };
    drills: { count: number; failed: number };
}
