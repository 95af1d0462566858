/**
 * A stack's changes, each counted once: the deploys and rollbacks of its
 * history merged with Keel's records of them. A DeployRecord and the history
 * update it made are one deploy; a RollbackRecord and its `rollback to version
 * N` update are one rollback. A record without an update (a deploy that failed
 * before `up`, Keel's rollback on a backend whose history was pruned) and an
 * update without a record (made before records were kept, or by `pulumi up`
 * itself, or on Pulumi Cloud, which keeps no records) count alone. Pure.
 */
import type { DeployRecord, KeelRecord, RollbackRecord, Trigger } from "../records/record";
import { HistoryUpdate, rollbackTarget } from "./history";

/** How far a record's time may lie outside its update's: the two clocks are one machine's, but Keel's own steps run on either side. */
export const MATCH_TOLERANCE_MS = 2 * 60_000;

export interface Change {
    kind: "deploy" | "rollback";
    /** Milliseconds since the epoch. */
    start: number;
    /** When it ended as Keel saw it (its record's time: after the health check), else the update's end. */
    end: number;
    /** Failed when either the update or Keel's record says so. */
    outcome: "succeeded" | "failed";
    durationMs: number;
    /** The history version, when there is an update. */
    version?: number;
    commit?: string;
    /** The commit's time (DeployRecord.committedAt), ms. */
    committedAt?: number;
    /** A failed deploy's step (preflight, up, health check, watch), from its record. */
    step?: string;
    /** Who started it: from the record; "unknown" for an update alone. */
    trigger: Trigger | "unknown";
    /** A rollback: the version it went back to. */
    toVersion?: number;
    migrationsApplied: number;
    destructiveMigrations: number;
    backup?: { id: string; bytes?: number };
    seenIn: "history" | "record" | "both";
}

/** The changes, oldest first, and the records that are not changes (watch failures, incidents, drift runs, drills). */
export interface Timeline {
    changes: Change[];
    events: Exclude<KeelRecord, DeployRecord | RollbackRecord>[];
}

const ms = (d: Date | undefined) => (d ? d.getTime() : undefined);

/** Two commits are one when either is a prefix of the other (records may keep a short one). */
const sameCommit = (a?: string, b?: string) => !a || !b || a.startsWith(b) || b.startsWith(a);

function fromUpdate(u: HistoryUpdate, kind: Change["kind"]): Change {
    const start = u.startTime.getTime();
    const end = ms(u.endTime) ?? start;
    return {
        kind,
        start,
        end,
        outcome: u.result === "succeeded" ? "succeeded" : "failed",
        durationMs: Math.max(0, end - start),
        version: u.version,
        ...(u.commit ? { commit: u.commit } : {}),
        trigger: "unknown",
        ...(kind === "rollback" ? { toVersion: rollbackTarget(u) } : {}),
        migrationsApplied: 0,
        destructiveMigrations: 0,
        ...(u.backup ? { backup: u.backup } : {}),
        seenIn: "history",
    };
}

/** The update a record describes: its version when it names one, else the unmatched one its time (and commit) fits, nearest its end. */
function matchUpdate(
    r: DeployRecord | RollbackRecord,
    candidates: HistoryUpdate[],
    taken: Set<HistoryUpdate>,
    fits: (u: HistoryUpdate) => boolean,
): HistoryUpdate | undefined {
    const free = candidates.filter((u) => !taken.has(u) && fits(u));
    if (r.kind === "deploy" && r.version !== undefined) {
        const named = free.find((u) => u.version === r.version);
        if (named) return named;
    }
    const at = Date.parse(r.at);
    const inside = free.filter((u) => {
        const start = u.startTime.getTime();
        const end = ms(u.endTime) ?? start;
        return start >= at - r.durationMs - MATCH_TOLERANCE_MS && end <= at + MATCH_TOLERANCE_MS;
    });
    return inside.sort((a, b) => Math.abs(at - (ms(a.endTime) ?? 0)) - Math.abs(at - (ms(b.endTime) ?? 0)))[0];
}

function merge(kind: Change["kind"], r: DeployRecord | RollbackRecord, u: HistoryUpdate | undefined): Change {
    const at = Date.parse(r.at);
    const base = u ? fromUpdate(u, kind) : undefined;
    const start = base?.start ?? at - r.durationMs;
    const failed = r.outcome === "failed" || base?.outcome === "failed";
    const change: Change = {
        kind,
        start,
        end: Math.max(at, start),
        outcome: failed ? "failed" : "succeeded",
        durationMs: r.durationMs,
        ...(base?.version !== undefined ? { version: base.version } : {}),
        trigger: r.trigger,
        migrationsApplied: 0,
        destructiveMigrations: 0,
        seenIn: u ? "both" : "record",
    };
    if (r.kind === "deploy") {
        const commit = r.commit ?? base?.commit;
        if (commit) change.commit = commit;
        if (r.committedAt && !Number.isNaN(Date.parse(r.committedAt))) change.committedAt = Date.parse(r.committedAt);
        if (r.step && failed) change.step = r.step;
        change.migrationsApplied = r.migrationsApplied ?? 0;
        change.destructiveMigrations = r.destructiveMigrations ?? 0;
        const backup = r.backup ?? base?.backup;
        if (backup) change.backup = backup;
    } else {
        change.toVersion = r.toVersion;
    }
    return change;
}

/** The stack's changes and other records, each once, oldest first. */
export function timeline(history: HistoryUpdate[], records: KeelRecord[]): Timeline {
    // An update still in progress (or one whose process died) has no outcome yet: it is not counted.
    const updates = history.filter((u) => u.kind === "update" && u.result !== "in-progress");
    const rollbackUpdates = updates.filter((u) => rollbackTarget(u) !== undefined);
    const deployUpdates = updates.filter((u) => rollbackTarget(u) === undefined);
    const sorted = [...records].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const taken = new Set<HistoryUpdate>();
    const changes: Change[] = [];
    const events: Timeline["events"] = [];
    for (const r of sorted) {
        if (r.kind === "deploy") {
            const u = matchUpdate(r, deployUpdates, taken, (x) => sameCommit(r.commit, x.commit));
            if (u) taken.add(u);
            changes.push(merge("deploy", r, u));
        } else if (r.kind === "rollback") {
            const u = matchUpdate(r, rollbackUpdates, taken, (x) => rollbackTarget(x) === r.toVersion);
            if (u) taken.add(u);
            changes.push(merge("rollback", r, u));
        } else {
            events.push(r);
        }
    }
    for (const u of deployUpdates) if (!taken.has(u)) changes.push(fromUpdate(u, "deploy"));
    for (const u of rollbackUpdates) if (!taken.has(u)) changes.push(fromUpdate(u, "rollback"));
    changes.sort((a, b) => a.start - b.start || a.end - b.end);
    return { changes, events };
}
