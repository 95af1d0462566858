/**
 * Which deploys were change failures, and the outages (failure to healthy) a
 * time to restore is measured on. Decided on the stack's whole timeline, so a
 * figure over a period never depends on where the period ends. Pure.
 */
import { Change, Timeline } from "./timeline";

/** How long after a deploy a failure is still blamed on it (unless another deploy came first). */
export const CHANGE_FAILURE_WINDOW_MS = 24 * 3_600_000;

/**
 * The definitions the report prints beside its figures, so a reader knows
 * exactly what was counted.
 */
export const DEFINITIONS = {
    changeFailure:
        "a deploy is a change failure when it failed itself (its update failed, or Keel's record says a step after preflight failed; " +
        "a preflight failure changed nothing), or when, from its start until the next deploy starts or 24 h after it ended (whichever " +
        "is first), a rollback not made by a drill, a failed health watch or an opened incident followed it. A fix deploy counts " +
        "through the failure it fixes (that failed deploy, watch or incident): a next deploy alone is no evidence of failure.",
    timeToRestore:
        "from the failure (a failed deploy, a failed watch, an opened incident) to the first sign of health after it: the end of a " +
        "successful deploy or rollback, or the closing of the incident; failures during an outage are part of it. Counted in the " +
        "period the outage began; one not yet over is 'ongoing'.",
    leadTime: "from the commit's time (Keel's deploy record, else git) to the end of the successful deploy that shipped it.",
    timeDeploying: "the durations of deploys and rollbacks (Keel's record of each, else its update's start to end).",
    periods:
        "a deploy, rollback or record counts in the period it ended in; an outage in the period it began in; weeks start on Monday 00:00 UTC.",
} as const;

/** A deploy's failure that changed the stack (a preflight failure did not). */
export const failedChange = (c: Change) => c.outcome === "failed" && c.step !== "preflight";

/** The deploys (by their index in `timeline.changes`) that were change failures. */
export function changeFailures(t: Timeline): Set<Change> {
    const deploys = t.changes.filter((c) => c.kind === "deploy");
    const signals = [
        ...t.changes.filter((c) => c.kind === "rollback" && c.trigger !== "drill").map((c) => c.start),
        ...t.events.filter((e) => e.kind === "watch-failed" || e.kind === "incident-opened").map((e) => Date.parse(e.at)),
    ].sort((a, b) => a - b);
    const failures = new Set<Change>();
    deploys.forEach((d, i) => {
        if (failedChange(d)) return void failures.add(d);
        const next = deploys[i + 1]?.start ?? Infinity;
        const until = Math.min(next, d.end + CHANGE_FAILURE_WINDOW_MS);
        if (signals.some((s) => s >= d.start && s < until)) failures.add(d);
    });
    return failures;
}

export interface Outage {
    /** The first failure, ms. */
    start: number;
    /** When the stack was healthy again; absent while it is not. */
    end?: number;
    cause: "deploy failed" | "watch failed" | "incident";
    /** What ended it. */
    restoredBy?: "deploy" | "rollback" | "incident closed";
}

/**
 * The outages, oldest first. One begins at a failure (a failed deploy, a failed
 * watch, an opened incident) and ends at the first sign of health after it: a
 * successful deploy or rollback, or the closing of an incident opened while it
 * lasted. Failures during an outage are part of it. The first sign, not the
 * last: an incident issue nobody closes (the watch files one; without the
 * monitor nothing closes it) must not stretch every later outage into one. A
 * fix counts as the incident's end, so the monitor closing it later ends nothing.
 * At one instant, recoveries are taken before failures: a failure seen at the
 * moment a deploy ended is that deploy's, and leaves the stack broken.
 */
export function outages(t: Timeline): Outage[] {
    type Step = { at: number; order: 0 | 1; failure?: Outage["cause"]; recovery?: Outage["restoredBy"] };
    const steps: Step[] = [];
    for (const c of t.changes) {
        if (c.kind === "deploy" && failedChange(c)) steps.push({ at: c.end, order: 1, failure: "deploy failed" });
        if (c.outcome === "succeeded") steps.push({ at: c.end, order: 0, recovery: c.kind });
    }
    for (const e of t.events) {
        const at = Date.parse(e.at);
        if (e.kind === "watch-failed") steps.push({ at, order: 1, failure: "watch failed" });
        if (e.kind === "incident-opened") steps.push({ at, order: 1, failure: "incident" });
        if (e.kind === "incident-closed") steps.push({ at, order: 0, recovery: "incident closed" });
    }
    steps.sort((a, b) => a.at - b.at || a.order - b.order);
    const found: Outage[] = [];
    let current: Outage | undefined;
    let incidentOpen = false;
    for (const step of steps) {
        if (step.failure) {
            if (step.failure === "incident") incidentOpen = true;
            if (!current) found.push((current = { start: step.at, cause: step.failure }));
            continue;
        }
        // An incident's closing is a sign of health only for an incident opened (and not yet fixed) before it.
        if (step.recovery === "incident closed" && !incidentOpen) continue;
        incidentOpen = false;
        if (current) {
            current.end = step.at;
            current.restoredBy = step.recovery;
            current = undefined;
        }
    }
    return found;
}
