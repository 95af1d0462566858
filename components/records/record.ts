/**
 * What Keel records about a stack beside its state, so that later commands (the
 * metrics report, the digest) can read what the stack history does not hold:
 * a deploy's outcome as Keel saw it (the failed step, migrations, backup), a
 * rollback and what triggered it, a failed health watch, an incident opened or
 * closed, a drift run that found drift, a drill. One small JSON object per
 * event, written once and never changed (scripts/lib/records.ts keeps them).
 * Pure: no Pulumi, no I/O. No record holds a secret: texts are masked
 * (components/operations/mask.ts) before they get here.
 */

/** Who or what started an operation. */
export const TRIGGERS = ["hand", "button", "watch", "push", "schedule", "drill"] as const;
export type Trigger = (typeof TRIGGERS)[number];

interface Base {
    stack: string;
    /** When it ended (or happened), ISO 8601. */
    at: string;
}

/** One `up` of the stack, by Keel (laptop or CI), whatever its outcome. */
export interface DeployRecord extends Base {
    kind: "deploy";
    outcome: "succeeded" | "failed";
    /** The stack history's version the update became, when known. */
    version?: number;
    commit?: string;
    /** The commit's time (lead time: commit to the end of the deploy that shipped it). */
    committedAt?: string;
    durationMs: number;
    /** A failure: the step that failed (preflight, up, health check, watch) and its cause in one line. */
    step?: string;
    cause?: string;
    migrationsApplied?: number;
    destructiveMigrations?: number;
    /** The backup taken before migrating, and its size. */
    backup?: { id: string; bytes?: number };
    trigger: Trigger;
}

/** A rollback (by hand, the Rollback button, the health watch, a drill). */
export interface RollbackRecord extends Base {
    kind: "rollback";
    outcome: "succeeded" | "failed";
    fromVersion?: number;
    toVersion: number;
    durationMs: number;
    trigger: Trigger;
    cause?: string;
}

/** The deploy watch found the stack unhealthy after a deploy (the failure a time to restore starts from). */
export interface WatchFailedRecord extends Base {
    kind: "watch-failed";
    commit?: string;
    /** The incident issue (or comment) the watch filed. */
    issue?: string;
}

/** The monitor opened the stack's incident, or closed it on recovery. */
export interface IncidentRecord extends Base {
    kind: "incident-opened" | "incident-closed";
    issue?: string;
}

/** A drift run's finding (clean runs are recorded too: "drift runs that found drift" needs the runs). */
export interface DriftRecord extends Base {
    kind: "drift";
    drifted: boolean;
    /** Objects that differ from the state, pending migrations counted. */
    findings: number;
}

/** A scheduled or on-demand drill: a backup restored, a snapshot branch restored, a rollback and forward again. */
export interface DrillRecord extends Base {
    kind: "drill";
    drill: "restore" | "snapshot" | "rollback";
    outcome: "succeeded" | "failed";
    durationMs: number;
    /** The rollback drill: the way back, then forward again. */
    backMs?: number;
    forwardMs?: number;
    cause?: string;
}

export type KeelRecord = DeployRecord | RollbackRecord | WatchFailedRecord | IncidentRecord | DriftRecord | DrillRecord;
export type RecordKind = KeelRecord["kind"];

export const RECORD_KINDS: readonly RecordKind[] = [
    "deploy",
    "rollback",
    "watch-failed",
    "incident-opened",
    "incident-closed",
    "drift",
    "drill",
];

/** A record's object name: its time first, so a listing sorts by time; a random tail, so two writers never collide. */
export function recordName(r: KeelRecord, random: string): string {
    const ms = Date.parse(r.at);
    return `${String(ms).padStart(15, "0")}-${r.kind}-${random}.json`;
}

/** A stored record, or undefined when the bytes are not one (a foreign or damaged object is skipped, never fatal). */
export function parseRecord(text: string): KeelRecord | undefined {
    let r: any;
    try {
        r = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (!r || typeof r !== "object" || !RECORD_KINDS.includes(r.kind)) return undefined;
    if (typeof r.stack !== "string" || typeof r.at !== "string" || Number.isNaN(Date.parse(r.at))) return undefined;
    return r as KeelRecord;
}

/** Records oldest first. */
export function byTime(records: KeelRecord[]): KeelRecord[] {
    return [...records].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
