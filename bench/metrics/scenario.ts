/**
 * A long, plausible history of one stack for the metrics benchmark: an update
 * every 4 hours (some failed, some rollbacks, some refreshes, a backup every
 * tenth deploy), and Keel's records of the newest ones (deploys, rollbacks,
 * failed watches, incidents, drift runs, drills). Deterministic: the same
 * figures on every run.
 */
import { createHash } from "crypto";
import type { KeelRecord } from "../../components/records/record";
import type { SyntheticUpdate } from "./history";

const HOUR = 3_600_000;

export interface Scenario {
    updates: SyntheticUpdate[];
    records: KeelRecord[];
    /** When the first update began. */
    first: Date;
}

const commitOf = (i: number) => createHash("sha1").update(`commit ${i}`).digest("hex");

/** `count` updates ending before `now`; records for about the newest `recorded` deploys and what followed them. */
export function scenario(stack: string, count: number, recorded: number, now: Date): Scenario {
    const first = new Date(now.getTime() - (count + 1) * 4 * HOUR);
    const updates: SyntheticUpdate[] = [];
    const records: KeelRecord[] = [];
    let backup: { id: string; takenAt: string; sizeBytes: number } | undefined;
    const iso = (ms: number) => new Date(ms).toISOString();
    for (let i = 0; i < count; i++) {
        const start = first.getTime() + i * 4 * HOUR;
        const end = start + (60 + ((i * 37) % 180)) * 1000;
        const version = i + 1;
        const withRecord = i >= count - recorded;
        if (i % 50 === 49) {
            updates.push({ kind: "refresh", result: "succeeded", start: new Date(start), end: new Date(end) });
            continue;
        }
        if (i % 40 === 39) {
            const to = version - 2;
            updates.push({
                result: "succeeded",
                start: new Date(start),
                end: new Date(end),
                message: `rollback to version ${to} (commit ${commitOf(i - 2).slice(0, 12)})`,
                commit: commitOf(i - 2),
            });
            if (withRecord) {
                records.push({ kind: "watch-failed", stack, at: iso(start - 5 * 60_000), commit: commitOf(i - 1) });
                records.push({
                    kind: "rollback",
                    stack,
                    at: iso(end + 10_000),
                    outcome: "succeeded",
                    fromVersion: version - 1,
                    toVersion: to,
                    durationMs: end + 10_000 - start,
                    trigger: "watch",
                });
            }
            continue;
        }
        const failed = i % 25 === 24;
        if (!failed && i % 10 === 0) backup = { id: `${stack}-${i}.dump`, takenAt: iso(start), sizeBytes: 40_000_000 + i * 10_000 };
        updates.push({
            result: failed ? "failed" : "succeeded",
            start: new Date(start),
            end: new Date(end),
            message: `deploy ${i}`,
            commit: commitOf(i),
            outputs: {
                schemaVersion: String(i),
                backendImage: `registry.fly.io/shop:1.0.${i}`,
                ...(backup
                    ? { latestBackup: { ...backup, kind: "pg_dump", stack, schemaVersion: "", beforeVersion: "", location: backup.id } }
                    : {}),
            },
        });
        if (withRecord) {
            records.push({
                kind: "deploy",
                stack,
                at: iso(end + 30_000),
                outcome: failed ? "failed" : "succeeded",
                version,
                commit: commitOf(i),
                committedAt: iso(start - (20 + (i % 7) * 15) * 60_000),
                durationMs: end + 30_000 - start,
                ...(failed ? { step: "up", cause: "the rollout's health check failed" } : {}),
                migrationsApplied: i % 3,
                destructiveMigrations: i % 30 === 0 ? 1 : 0,
                ...(backup && i % 10 === 0 ? { backup: { id: backup.id, bytes: backup.sizeBytes } } : {}),
                trigger: "push",
            });
        }
        // An incident now and then, closed the next hour; a drift run a day; a drill a fortnight.
        if (withRecord && i % 30 === 7) {
            records.push({ kind: "incident-opened", stack, at: iso(end + HOUR), issue: `#${i}` });
            records.push({ kind: "incident-closed", stack, at: iso(end + 2 * HOUR), issue: `#${i}` });
        }
        if (withRecord && i % 6 === 3)
            records.push({ kind: "drift", stack, at: iso(end + 2 * HOUR), drifted: i % 42 === 3, findings: i % 42 === 3 ? 2 : 0 });
        if (withRecord && i % 84 === 5) {
            records.push({ kind: "drill", stack, at: iso(end + 3 * HOUR), drill: "restore", outcome: "succeeded", durationMs: 95_000 });
            records.push({
                kind: "drill",
                stack,
                at: iso(end + 3.5 * HOUR),
                drill: "rollback",
                outcome: "succeeded",
                durationMs: 120_000,
                backMs: 55_000,
                forwardMs: 65_000,
            });
        }
    }
    return { updates, records, first };
}
