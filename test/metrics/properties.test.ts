/**
 * The metrics as properties of generated histories (test/metrics/generate.ts):
 * every deploy and rollback counted once, whether the history, Keel's record
 * or both hold it; a rollback adds exactly one change failure; a time to
 * restore is never negative and spans exactly the failure to healthy; the
 * additive figures of adjoining periods add up.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { periodMetrics, stackFacts } from "../../components/metrics/compute";
import { CHANGE_FAILURE_WINDOW_MS } from "../../components/metrics/failures";
import type { PeriodMetrics } from "../../components/metrics/report";
import type { KeelRecord } from "../../components/records/record";
import { build, Generated, RECORD_LAG, Slot, slotArb, slotsArb, T0 } from "./generate";

/** A cut: a fraction of the generated span, or an offset from one of its changes' times. */
const cutArb = fc.oneof(fc.double({ min: -0.1, max: 1.1, noNaN: true }), fc.record({ at: fc.nat(), off: fc.constantFrom(-1, 0, 1) }));

const all = (g: Generated) => periodMetrics(stackFacts(g), new Date(T0 - 1000), new Date(g.end));

/** The figures that add up over adjoining periods. */
function additive(p: PeriodMetrics): Record<string, number> {
    const figures: Record<string, number> = {
        deploys: p.deploys.count,
        succeeded: p.deploys.succeeded,
        failed: p.deploys.failed,
        timeDeployingMs: p.timeDeployingMs,
        changeFailures: p.changeFailures.count,
        rollbacks: p.rollbacks.count,
        rollbacksSucceeded: p.rollbacks.succeeded,
        outages: p.timeToRestore.count + p.timeToRestore.ongoing,
        restored: p.timeToRestore.count,
        leadTimes: p.leadTime.count,
        incidentsOpened: p.incidents.opened,
        incidentsClosed: p.incidents.closed,
        watchFailures: p.watchFailures,
        migrations: p.migrations.applied,
        destructive: p.migrations.destructive,
        backups: p.backups.count,
        backupBytes: p.backups.bytes,
        driftRuns: p.drift.runs,
        drifted: p.drift.drifted,
        findings: p.drift.findings,
        drills: p.drills.count,
    };
    for (const [t, n] of Object.entries(p.rollbacks.byTrigger)) figures[`rollbacks.${t}`] = n;
    return figures;
}

describe("metrics: properties of generated histories", () => {
    it("every deploy and every rollback is counted once, whether the history, Keel's record or both hold it", () => {
        fc.assert(
            fc.property(slotsArb, (slots) => {
                const g = build(slots);
                const p = all(g);
                assert.equal(p.deploys.count, slots.length);
                assert.equal(p.rollbacks.count, g.rollbacks);
                assert.equal(p.deploys.succeeded + p.deploys.failed, p.deploys.count);
                const backups = new Set(
                    slots.map((s, i) => (s.migrations > 0 && s.outcome === "succeeded" ? i : -1)).filter((i) => i >= 0),
                );
                assert.equal(p.backups.count, backups.size, "a backup counts once, however many deploys' outputs name it");
                assert.equal(
                    p.deploys.failed,
                    slots.filter((s) => s.outcome === "failed").length,
                    "a deploy failed when its update or Keel's record says so",
                );
            }),
            { numRuns: 300 },
        );
    });

    it("a rollback after a deploy that was not a change failure adds exactly one", () => {
        fc.assert(
            fc.property(
                slotsArb,
                fc.nat(),
                fc.integer({ min: 0, max: 23 * 3600 }),
                fc.constantFrom("history", "record", "both"),
                fc.constantFrom("hand", "button", "watch"),
                (slots, pick, afterS, seen, trigger) => {
                    const g = build(slots);
                    const facts = stackFacts(g);
                    const before = periodMetrics(facts, new Date(T0 - 1000), new Date(g.end + 48 * 3_600_000));
                    const deploys = facts.timeline.changes.filter((c) => c.kind === "deploy");
                    const clean = deploys.filter((d) => !facts.failures.has(d));
                    fc.pre(clean.length > 0);
                    const d = clean[pick % clean.length];
                    const next = deploys[deploys.indexOf(d) + 1]?.start ?? Infinity;
                    const start = d.end + afterS * 1000;
                    fc.pre(start < Math.min(next, d.end + CHANGE_FAILURE_WINDOW_MS) - 2 * 60_000);
                    // Two rollbacks minutes apart, one known only from the history and one only from a record, are
                    // told apart by nothing but their times: the new one must not sit where an existing one is.
                    fc.pre(!facts.timeline.changes.some((c) => c.kind === "rollback" && Math.abs(c.start - start) < 10 * 60_000));
                    const end = start + 60_000;
                    const history = [...g.history];
                    const records: KeelRecord[] = [...g.records];
                    if (seen !== "record")
                        history.push({
                            version: history.length + 1,
                            kind: "update",
                            result: "succeeded",
                            startTime: new Date(start),
                            endTime: new Date(end),
                            message: "rollback to version 1 (commit 0000000100000001)",
                        });
                    if (seen !== "history")
                        records.push({
                            kind: "rollback",
                            stack: "prod",
                            at: new Date(end + 1000).toISOString(),
                            outcome: "succeeded",
                            toVersion: 1,
                            durationMs: 61_000,
                            trigger: trigger as "hand",
                        });
                    const after = periodMetrics(stackFacts({ history, records }), new Date(T0 - 1000), new Date(g.end + 48 * 3_600_000));
                    assert.equal(after.changeFailures.count, before.changeFailures.count + 1);
                    assert.equal(after.rollbacks.count, before.rollbacks.count + 1);
                    assert.equal(after.deploys.count, before.deploys.count);
                },
            ),
            { numRuns: 300 },
        );
    });

    it("a time to restore is never negative, begins at a failure and ends at the first sign of health after it", () => {
        fc.assert(
            fc.property(slotsArb, (slots) => {
                const g = build(slots);
                const facts = stackFacts(g);
                const failures = new Set([
                    ...facts.timeline.changes
                        .filter((c) => c.kind === "deploy" && c.outcome === "failed" && c.step !== "preflight")
                        .map((c) => c.end),
                    ...g.records.filter((r) => r.kind === "watch-failed" || r.kind === "incident-opened").map((r) => Date.parse(r.at)),
                ]);
                const recoveries = new Set([
                    ...facts.timeline.changes.filter((c) => c.outcome === "succeeded").map((c) => c.end),
                    ...g.records.filter((r) => r.kind === "incident-closed").map((r) => Date.parse(r.at)),
                ]);
                for (const o of facts.outages) {
                    assert.ok(failures.has(o.start), "an outage begins at a failure");
                    if (o.end === undefined) continue;
                    assert.ok(o.end >= o.start, "never negative");
                    assert.ok(recoveries.has(o.end), "an outage ends at a recovery");
                }
                const p = all(g);
                if (p.timeToRestore.worstMs !== null) assert.ok(p.timeToRestore.worstMs >= 0 && p.timeToRestore.medianMs! >= 0);
                // It ends at the first sign of health: no successful deploy or rollback ended inside it.
                const successes = facts.timeline.changes.filter((c) => c.outcome === "succeeded").map((c) => c.end);
                for (const o of facts.outages)
                    assert.ok(!successes.some((r) => r > o.start && r < (o.end ?? Infinity)), "ended at the first recovery");
                // Every failure is inside an outage (one seen at the instant of a recovery begins the next).
                for (const f of failures)
                    assert.ok(
                        facts.outages.some((o) => o.start <= f && (o.end === undefined || f < o.end || o.start === f)),
                        `the failure at ${f} is in no outage`,
                    );
                // Outages do not overlap: each starts after the one before ended.
                facts.outages.forEach((o, i) => i && assert.ok(facts.outages[i - 1].end! <= o.start));
            }),
            { numRuns: 300 },
        );
    });

    it("a failure followed by a recovery is one outage spanning exactly the two", () => {
        // Each slot: a healthy deploy, then (maybe) a failed watch `fail` later and a rollback `fix` after that.
        const episode = fc.record({
            slot: slotArb.map((s): Slot => ({
                ...s,
                gapMs: Math.max(s.gapMs, 30 * 3_600_000),
                outcome: "succeeded",
                rollback: undefined,
                incident: undefined,
                watchFailedAfterMs: undefined,
            })),
            failure: fc.option(fc.record({ fail: fc.integer({ min: 1, max: 3600 }), fix: fc.integer({ min: 1, max: 7200 }) }), {
                nil: undefined,
            }),
        });
        fc.assert(
            fc.property(fc.array(episode, { minLength: 1, maxLength: 15 }), (episodes) => {
                const g = build(episodes.map((e) => e.slot));
                const expected: [number, number][] = [];
                const records = [...g.records];
                episodes.forEach((e, i) => {
                    if (!e.failure) return;
                    const failedAt = g.deployEnds[i] + (e.slot.seen === "history" ? RECORD_LAG : 0) + e.failure.fail * 1000;
                    const fixedAt = failedAt + e.failure.fix * 1000;
                    records.push({ kind: "watch-failed", stack: "prod", at: new Date(failedAt).toISOString() });
                    records.push({
                        kind: "rollback",
                        stack: "prod",
                        at: new Date(fixedAt).toISOString(),
                        outcome: "succeeded",
                        toVersion: 1,
                        durationMs: 0,
                        trigger: "watch",
                    });
                    expected.push([failedAt, fixedAt]);
                });
                const facts = stackFacts({ history: g.history, records });
                assert.deepEqual(
                    facts.outages.map((o) => [o.start, o.end]),
                    expected,
                );
                const p = periodMetrics(facts, new Date(T0 - 1000), new Date(g.end + 10 * 3_600_000));
                assert.equal(p.timeToRestore.count, expected.length);
                if (expected.length) assert.equal(p.timeToRestore.worstMs, Math.max(...expected.map(([a, b]) => b - a)));
            }),
            { numRuns: 200 },
        );
    });

    it("the additive figures of [a, b) and [b, c) add up to those of [a, c)", () => {
        fc.assert(
            fc.property(slotsArb, fc.tuple(cutArb, cutArb, cutArb), (slots, cuts) => {
                const g = build(slots);
                const facts = stackFacts(g);
                // Cuts anywhere, and right at (or a millisecond either side of) a change's start or end: where a figure could be counted twice or lost.
                const edges = facts.timeline.changes.flatMap((c) => [c.start, c.end]);
                const [a, b, c] = cuts
                    .map((x) => new Date(typeof x === "number" ? Math.round(T0 + x * (g.end - T0)) : edges[x.at % edges.length] + x.off))
                    .sort((x, y) => x.getTime() - y.getTime());
                const whole = additive(periodMetrics(facts, a, c));
                const first = additive(periodMetrics(facts, a, b));
                const second = additive(periodMetrics(facts, b, c));
                for (const key of new Set([...Object.keys(whole), ...Object.keys(first), ...Object.keys(second)]))
                    assert.equal((first[key] ?? 0) + (second[key] ?? 0), whole[key] ?? 0, key);
            }),
            { numRuns: 300 },
        );
    });

    it("the weeks partition the period: their additive figures add up to the totals", async () => {
        const { stackMetrics } = await import("../../components/metrics/compute");
        fc.assert(
            fc.property(slotsArb, fc.integer({ min: 0, max: 6 }), (slots, shift) => {
                const g = build(slots);
                const since = new Date(T0 - shift * 86_400_000 - 3_600_000);
                const m = stackMetrics({ stack: "prod", ...g }, since, new Date(g.end));
                const sum: Record<string, number> = {};
                for (const w of m.weeks) for (const [k, v] of Object.entries(additive(w))) sum[k] = (sum[k] ?? 0) + v;
                const total = additive(m.totals);
                for (const key of Object.keys(total)) assert.equal(sum[key] ?? 0, total[key], key);
                assert.equal(m.weeks[0].since, since.toISOString());
                assert.equal(m.weeks.at(-1)!.until, new Date(g.end).toISOString());
            }),
            { numRuns: 100 },
        );
    });
});
