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
        "from the failure (a failed deploy, a failed watch, an opened incident) to the end of the next successful deploy or rollback " +
        "and, when an incident was opened, its closing, whichever is later: overlapping failures are one outage. Counted in the " +
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
 * The outages, oldest first. A failed deploy or failed watch leaves the stack
 * broken until a deploy or rollback succeeds; an opened incident, until it is
 * closed. Failures while already broken extend the same outage. At one instant,
 * recoveries are taken before failures: a failure seen at the moment a deploy
 * ended is that deploy's, and leaves the stack broken.
 */
export function outages(t: Timeline): Outage[] {
    type Step = { at: number; order: number; apply: (s: State) => void };
    interface State {
        broken: boolean;
        incident: boolean;
        current?: Outage;
        by?: Outage["restoredBy"];
    }
    const fail = (cause: Outage["cause"]) => (s: State) => {
        if (cause === "incident") s.incident = true;
        else s.broken = true;
        s.current ??= { start: 0, cause };
    };
    const steps: Step[] = [];
    for (const c of t.changes) {
        if (c.kind === "deploy" && failedChange(c)) steps.push({ at: c.end, order: 1, apply: fail("deploy failed") });
        if (c.outcome === "succeeded")
            steps.push({
                at: c.end,
                order: 0,
                apply: (s) => {
                    s.broken = false;
                    s.by = c.kind;
                },
            });
    }
    for (const e of t.events) {
        const at = Date.parse(e.at);
        if (e.kind === "watch-failed") steps.push({ at, order: 1, apply: fail("watch failed") });
        if (e.kind === "incident-opened") steps.push({ at, order: 1, apply: fail("incident") });
        if (e.kind === "incident-closed")
            steps.push({
                at,
                order: 0,
                apply: (s) => {
                    if (!s.incident) return;
                    s.incident = false;
                    s.by = "incident closed";
                },
            });
    }
    steps.sort((a, b) => a.at - b.at || a.order - b.order);
    const found: Outage[] = [];
    const state: State = { broken: false, incident: false };
    for (const step of steps) {
        const before = state.current;
        step.apply(state);
        if (!before && state.current) {
            state.current.start = step.at;
            found.push(state.current);
        }
        if (state.current && !state.broken && !state.incident) {
            state.current.end = step.at;
            state.current.restoredBy = state.by;
            state.current = undefined;
        }
    }
    return found;
}
