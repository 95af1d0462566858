/**
 * Generated stack histories for the metrics' property tests: a run of deploys,
 * each seen in the stack history, in Keel's records or in both, and after some
 * of them a rollback (history, record or both), a failed watch, an incident, a
 * drift run or a drill. Whole seconds, as the diy backend keeps them.
 */
import fc from "fast-check";
import type { HistoryUpdate } from "../../components/metrics/history";
import type { KeelRecord, Trigger } from "../../components/records/record";

const S = 1000;
const H = 3600 * S;
export const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
/** Keel's record of a change ends this long after its update (the health check). */
export const RECORD_LAG = 20 * S;

export type Seen = "history" | "record" | "both";

export interface GenRollback {
    afterMs: number;
    trigger: Trigger;
    seen: Seen;
    outcome: "succeeded" | "failed";
}

export interface Slot {
    /** From this deploy's start to the next's. */
    gapMs: number;
    durationMs: number;
    outcome: "succeeded" | "failed";
    step: "up" | "preflight" | "health check";
    seen: Seen;
    /** The record names its history version. */
    versioned: boolean;
    commitAgeMs: number;
    migrations: number;
    rollback?: GenRollback;
    watchFailedAfterMs?: number;
    incident?: { afterMs: number; closeAfterMs?: number };
    drift?: { afterMs: number; drifted: boolean };
}

const seen = fc.constantFrom<Seen>("history", "record", "both");
const secs = (min: number, max: number) => fc.integer({ min: min / S, max: max / S }).map((x) => x * S);

export const slotArb: fc.Arbitrary<Slot> = fc.record(
    {
        gapMs: secs(1 * H, 40 * H),
        durationMs: secs(30 * S, 600 * S),
        outcome: fc.constantFrom<"succeeded" | "failed">("succeeded", "succeeded", "succeeded", "failed"),
        step: fc.constantFrom<Slot["step"]>("up", "preflight", "health check"),
        seen,
        versioned: fc.boolean(),
        commitAgeMs: secs(0, 10 * H),
        migrations: fc.nat(3),
        rollback: fc.option(
            fc.record({
                afterMs: secs(0, 30 * H),
                trigger: fc.constantFrom<Trigger>("hand", "button", "watch", "drill"),
                seen,
                outcome: fc.constantFrom<"succeeded" | "failed">("succeeded", "succeeded", "failed"),
            }),
            { nil: undefined },
        ),
        watchFailedAfterMs: fc.option(secs(0, 30 * H), { nil: undefined }),
        incident: fc.option(fc.record({ afterMs: secs(0, 30 * H), closeAfterMs: fc.option(secs(0, 50 * H), { nil: undefined }) }), {
            nil: undefined,
        }),
        drift: fc.option(fc.record({ afterMs: secs(0, 30 * H), drifted: fc.boolean() }), { nil: undefined }),
    },
    { requiredKeys: ["gapMs", "durationMs", "outcome", "step", "seen", "versioned", "commitAgeMs", "migrations"] },
);

export interface Generated {
    history: HistoryUpdate[];
    records: KeelRecord[];
    /** Each slot's deploy, as its end (the record's time when there is one). */
    deployEnds: number[];
    deployStarts: number[];
    /** The time after the last event. */
    end: number;
    /** Rollbacks written (each once, in the history, a record or both). */
    rollbacks: number;
}

const commitOf = (i: number) => (i + 1).toString(16).padStart(8, "0").repeat(5);

/**
 * The history and records of `slots`. Followers are kept inside their slot (before the next
 * deploy), so every slot's story is its own; a preflight failure has no update (nothing ran).
 */
export function build(slots: Slot[], stack = "prod"): Generated {
    const updates: (Omit<HistoryUpdate, "version"> & { rec?: (v: number) => void })[] = [];
    const records: KeelRecord[] = [];
    const deployEnds: number[] = [];
    const deployStarts: number[] = [];
    let t = T0;
    let rollbacks = 0;
    // A deploy that applies migrations takes a backup first; the stack's outputs name the latest one after.
    let backup: { id: string; bytes: number } | undefined;
    slots.forEach((s0, i) => {
        const s = { ...s0 };
        if (s.outcome === "failed" && s.step === "preflight") s.seen = "record";
        const start = t;
        const end = start + s.durationMs;
        const recordAt = end + RECORD_LAG;
        deployStarts.push(start);
        deployEnds.push(s.seen === "history" ? end : recordAt);
        const room = s.gapMs - s.durationMs - RECORD_LAG - 3 * 60 * S;
        const commit = commitOf(i);
        const taken = s.migrations > 0 && s.outcome === "succeeded" ? { id: `backup-${i}`, bytes: 1000 * (i + 1) } : undefined;
        if (taken) backup = taken;
        const record: KeelRecord = {
            kind: "deploy",
            stack,
            at: new Date(recordAt).toISOString(),
            outcome: s.outcome,
            commit,
            committedAt: new Date(start - s.commitAgeMs).toISOString(),
            durationMs: s.durationMs + RECORD_LAG,
            ...(s.outcome === "failed" ? { step: s.step } : {}),
            migrationsApplied: s.migrations,
            destructiveMigrations: s.migrations > 2 ? 1 : 0,
            ...(taken ? { backup: taken } : {}),
            trigger: "push",
        };
        if (s.seen !== "record") {
            const historyResult = s.outcome === "failed" && s.step === "up" ? "failed" : "succeeded";
            updates.push({
                kind: "update",
                result: s.seen === "history" ? s.outcome : historyResult,
                startTime: new Date(start),
                endTime: new Date(end),
                message: `deploy ${i}`,
                commit,
                ...(backup ? { backup } : {}),
                rec: s.seen === "both" ? (v) => records.push(s.versioned ? { ...record, version: v } : record) : undefined,
            });
        } else {
            records.push(record);
        }
        const within = (after: number) => room > 0 && after < room;
        if (s.rollback && within(s.rollback.afterMs + 70 * S)) {
            const rb = s.rollback;
            rollbacks++;
            const rs = recordAt + rb.afterMs;
            const re = rs + 60 * S;
            const to = Math.max(1, i);
            const rec: KeelRecord = {
                kind: "rollback",
                stack,
                at: new Date(re + 5 * S).toISOString(),
                outcome: rb.outcome,
                toVersion: to,
                durationMs: 65 * S,
                trigger: rb.trigger,
            };
            if (rb.seen !== "record") {
                updates.push({
                    kind: "update",
                    result: rb.outcome,
                    startTime: new Date(rs),
                    endTime: new Date(re),
                    message: `rollback to version ${to} (commit ${commitOf(to).slice(0, 12)})`,
                    commit: commitOf(to),
                    rec: rb.seen === "both" ? () => records.push(rec) : undefined,
                });
            } else {
                records.push(rec);
            }
        }
        if (s.watchFailedAfterMs !== undefined && within(s.watchFailedAfterMs))
            records.push({ kind: "watch-failed", stack, at: new Date(recordAt + s.watchFailedAfterMs).toISOString(), commit });
        if (s.incident && within(s.incident.afterMs)) {
            const opened = recordAt + s.incident.afterMs;
            records.push({ kind: "incident-opened", stack, at: new Date(opened).toISOString(), issue: `#${i}` });
            if (s.incident.closeAfterMs !== undefined)
                records.push({
                    kind: "incident-closed",
                    stack,
                    at: new Date(opened + s.incident.closeAfterMs).toISOString(),
                    issue: `#${i}`,
                });
        }
        if (s.drift && within(s.drift.afterMs))
            records.push({
                kind: "drift",
                stack,
                at: new Date(recordAt + s.drift.afterMs).toISOString(),
                drifted: s.drift.drifted,
                findings: s.drift.drifted ? 2 : 0,
            });
        t += s.gapMs;
    });
    updates.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    const history = updates.map(({ rec, ...u }, i) => {
        rec?.(i + 1);
        return { ...u, version: i + 1 };
    });
    const last = Math.max(t, ...records.map((r) => Date.parse(r.at)));
    return { history, records, deployEnds, deployStarts, end: last + 1000, rollbacks };
}

export const slotsArb = fc.array(slotArb, { minLength: 1, maxLength: 25 });
