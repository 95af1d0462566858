/**
 * The metrics on small histories whose figures are worked out by hand: the
 * change failure window, what a drill or a preflight failure counts as, a
 * record matched to its update, the period forms, the weeks, the sparklines
 * and the renderings.
 */
import { strict as assert } from "assert";
import { periodMetrics, stackFacts, stackMetrics } from "../../components/metrics/compute";
import { DEFINITIONS } from "../../components/metrics/failures";
import { formatDigest } from "../../components/metrics/digest";
import { rollbackTarget, HistoryUpdate } from "../../components/metrics/history";
import { formatMarkdown } from "../../components/metrics/markdown";
import { parseSince, weeksOf, weekStart } from "../../components/metrics/period";
import { MetricsReport } from "../../components/metrics/report";
import { sparkline } from "../../components/metrics/sparkline";
import { formatText } from "../../components/metrics/text";
import type { KeelRecord } from "../../components/records/record";
import { rollbackMessage, rollbackOf } from "../../scripts/lib/rollbackPlan";

const at = (s: string) => new Date(`2026-12-${s}Z`);
const iso = (s: string) => at(s).toISOString();
const MIN = 60_000;

function update(
    version: number,
    start: string,
    end: string,
    result = "succeeded",
    message = `deploy ${version}`,
    commit?: string,
): HistoryUpdate {
    return {
        version,
        kind: "update",
        result,
        startTime: at(start),
        endTime: at(end),
        message,
        commit: commit ?? `${version}`.repeat(40).slice(0, 40),
    };
}

/**
 * A week of prod: v1 deployed Monday; v2 Tuesday, its watch failed 10 minutes later and the watch rolled back to v1
 * (record and update); v4 Wednesday failed in `up`; v5 Wednesday evening fixed it; v6 Friday failed in preflight (no
 * update); an incident Saturday, closed 40 minutes later; a drift run that found drift; a restore drill.
 */
function week(): { history: HistoryUpdate[]; records: KeelRecord[] } {
    const history = [
        update(1, "07T10:00:00", "07T10:05:00", "succeeded", "deploy 1", "a".repeat(40)),
        update(2, "08T10:00:00", "08T10:04:00", "succeeded", "deploy 2", "b".repeat(40)),
        update(3, "08T10:20:00", "08T10:21:00", "succeeded", rollbackMessage(1, "a".repeat(40))),
        update(4, "09T10:00:00", "09T10:03:00", "failed", "deploy 4", "c".repeat(40)),
        update(5, "09T18:00:00", "09T18:02:00", "succeeded", "deploy 5", "d".repeat(40)),
        { version: 6, kind: "refresh", result: "succeeded", startTime: at("10T09:00:00"), endTime: at("10T09:01:00"), message: "" },
    ];
    const records: KeelRecord[] = [
        {
            kind: "deploy",
            stack: "prod",
            at: iso("07T10:05:30"),
            outcome: "succeeded",
            version: 1,
            commit: "a".repeat(40),
            committedAt: iso("07T09:00:00"),
            durationMs: 5.5 * MIN,
            migrationsApplied: 2,
            destructiveMigrations: 1,
            backup: { id: "prod-1.dump", bytes: 1024 },
            trigger: "push",
        },
        // No version: matched by its time and commit.
        {
            kind: "deploy",
            stack: "prod",
            at: iso("08T10:04:30"),
            outcome: "succeeded",
            commit: "b".repeat(12),
            committedAt: iso("08T09:30:00"),
            durationMs: 4.5 * MIN,
            trigger: "push",
        },
        { kind: "watch-failed", stack: "prod", at: iso("08T10:14:30"), commit: "b".repeat(40) },
        {
            kind: "rollback",
            stack: "prod",
            at: iso("08T10:21:10"),
            outcome: "succeeded",
            fromVersion: 2,
            toVersion: 1,
            durationMs: 70_000,
            trigger: "watch",
        },
        {
            kind: "deploy",
            stack: "prod",
            at: iso("10T11:00:00"),
            outcome: "failed",
            step: "preflight",
            cause: "no NEON_API_KEY",
            durationMs: 20_000,
            trigger: "hand",
        },
        { kind: "incident-opened", stack: "prod", at: iso("12T08:00:00"), issue: "#7" },
        { kind: "incident-closed", stack: "prod", at: iso("12T08:40:00"), issue: "#7" },
        { kind: "drift", stack: "prod", at: iso("11T06:00:00"), drifted: true, findings: 3 },
        { kind: "drift", stack: "prod", at: iso("12T06:00:00"), drifted: false, findings: 0 },
        { kind: "drill", stack: "prod", at: iso("11T03:00:00"), drill: "restore", outcome: "succeeded", durationMs: 95_000 },
        { kind: "drill", stack: "prod", at: iso("01T03:00:00"), drill: "restore", outcome: "failed", durationMs: 5_000 },
    ];
    return { history, records };
}

describe("metrics: worked examples", () => {
    it("reads a rollback's update as scripts/lib/rollbackPlan.ts writes and reads it", () => {
        const message = rollbackMessage(41, "0123456789abcdef0123456789abcdef01234567");
        assert.equal(rollbackTarget({ kind: "update", message }), 41);
        assert.equal(rollbackTarget({ kind: "update", message }), rollbackOf({ kind: "update", message }));
        assert.equal(rollbackTarget({ kind: "refresh", message }), undefined);
        assert.equal(rollbackTarget({ kind: "update", message: "deploy" }), undefined);
    });

    it("a week of prod, figure by figure", () => {
        const m = periodMetrics(stackFacts(week()), at("07T00:00:00"), at("14T00:00:00"));
        // v1, v2, v4, v5 and the preflight failure; v3 is the rollback, the refresh is neither.
        assert.deepEqual(m.deploys, { count: 5, succeeded: 3, failed: 2, perDay: 5 / 7, successRate: 3 / 5 });
        // v2 (its watch failed, then the rollback) and v4 (failed in up); not the preflight failure, which changed nothing.
        assert.deepEqual(m.changeFailures, { count: 2, rate: 2 / 5, versions: [2, 4] });
        assert.deepEqual(m.rollbacks, { count: 1, succeeded: 1, byTrigger: { watch: 1 } });
        // The failed watch 10:14:30 to the rollback's end 10:21:10 (its record); v4's end 10:03 to v5's 18:02; the incident's 40 min.
        assert.deepEqual(m.timeToRestore, { count: 3, medianMs: 40 * MIN, worstMs: 7 * 60 * MIN + 59 * MIN, ongoing: 0 });
        // v1: 9:00 to 10:05:30; v2: 9:30 to 10:04:30; v5 has no commit time (no record, no git).
        assert.deepEqual(m.leadTime, { count: 2, medianMs: (65.5 * MIN + 34.5 * MIN) / 2, worstMs: 65.5 * MIN });
        assert.equal(m.timeDeployingMs, 5.5 * MIN + 4.5 * MIN + 70_000 + 3 * MIN + 2 * MIN + 20_000);
        assert.deepEqual(m.migrations, { applied: 2, destructive: 1 });
        assert.deepEqual(m.backups, { count: 1, bytes: 1024, largestBytes: 1024 });
        assert.deepEqual(m.drift, { runs: 2, drifted: 1, findings: 3 });
        assert.deepEqual(m.incidents, { opened: 1, closed: 1 });
        assert.equal(m.watchFailures, 1);
        assert.deepEqual(m.drills, { count: 1, failed: 0 });
        const s = stackMetrics({ stack: "prod", ...week() }, at("07T00:00:00"), at("14T00:00:00"));
        assert.deepEqual(s.lastDrills, [{ drill: "restore", at: iso("11T03:00:00"), outcome: "succeeded", durationMs: 95_000 }]);
        assert.equal(s.weeks.length, 1, "Monday 7 December to Monday 14: one week");
    });

    it("git's commit times give a lead time to deploys whose record has none", () => {
        const times = new Map([["d".repeat(40), at("09T17:00:00")]]);
        const m = periodMetrics(stackFacts({ ...week(), commitTimes: times }), at("07T00:00:00"), at("14T00:00:00"));
        assert.equal(m.leadTime.count, 3);
        assert.equal(m.leadTime.worstMs, 65.5 * MIN);
    });

    it("a failure is blamed on the deploy before it for 24 h, unless another deploy came first", () => {
        const history = [
            update(1, "01T10:00:00", "01T10:05:00"),
            update(2, "03T10:00:00", "03T10:05:00"),
            update(3, "03T12:00:00", "03T12:05:00"),
        ];
        const cf = (records: KeelRecord[]) =>
            periodMetrics(stackFacts({ history, records }), at("01T00:00:00"), at("10T00:00:00")).changeFailures.versions;
        const watch = (t: string): KeelRecord => ({ kind: "watch-failed", stack: "prod", at: iso(t) });
        assert.deepEqual(cf([watch("02T10:04:00")]), [1], "23 h 59 min after v1");
        assert.deepEqual(cf([watch("02T10:06:00")]), [], "24 h 1 min after v1: nobody's");
        assert.deepEqual(cf([watch("03T11:59:00")]), [2], "before v3 started");
        assert.deepEqual(cf([watch("03T12:01:00")]), [3], "v3 had started");
        const drill: KeelRecord = {
            kind: "rollback",
            stack: "prod",
            at: iso("03T13:00:00"),
            outcome: "succeeded",
            toVersion: 2,
            durationMs: MIN,
            trigger: "drill",
        };
        assert.deepEqual(cf([drill]), [], "a drill's rollback is practice, not a failure");
    });

    it("an outage still going on is counted as ongoing, never as a time to restore", () => {
        const history = [update(1, "01T10:00:00", "01T10:05:00")];
        const records: KeelRecord[] = [{ kind: "incident-opened", stack: "prod", at: iso("02T10:00:00") }];
        const s = stackMetrics({ stack: "prod", history, records }, at("01T00:00:00"), at("05T00:00:00"));
        assert.deepEqual(s.totals.timeToRestore, { count: 0, medianMs: null, worstMs: null, ongoing: 1 });
        assert.deepEqual(s.ongoingOutage, { since: iso("02T10:00:00"), cause: "incident" });
        // A fix deploy is the first sign of health: the outage ends there, and the monitor closing the issue later ends nothing.
        history.push(update(2, "03T10:00:00", "03T10:05:00"));
        records.push({ kind: "incident-closed", stack: "prod", at: iso("03T11:00:00") });
        const fixed = stackMetrics({ stack: "prod", history, records }, at("01T00:00:00"), at("05T00:00:00"));
        assert.deepEqual(fixed.totals.timeToRestore, {
            count: 1,
            medianMs: 24 * 60 * MIN + 5 * MIN,
            worstMs: 24 * 60 * MIN + 5 * MIN,
            ongoing: 0,
        });
        assert.equal(fixed.ongoingOutage, undefined);
        // A failed watch after the fix is a new outage, which the old incident's late closing does not end.
        records.push({ kind: "watch-failed", stack: "prod", at: iso("03T10:30:00") });
        const again = stackMetrics({ stack: "prod", history, records }, at("01T00:00:00"), at("05T00:00:00"));
        assert.deepEqual(again.ongoingOutage, { since: iso("03T10:30:00"), cause: "watch failed" });
    });

    it("--since: Nd, Nh, Nw or an ISO date before now; anything else is refused", () => {
        const now = new Date("2026-12-07T12:00:00Z");
        assert.equal(parseSince("30d", now)?.toISOString(), "2026-11-07T12:00:00.000Z");
        assert.equal(parseSince("12h", now)?.toISOString(), "2026-12-07T00:00:00.000Z");
        assert.equal(parseSince("2w", now)?.toISOString(), "2026-11-23T12:00:00.000Z");
        assert.equal(parseSince("2026-11-01", now)?.toISOString(), "2026-11-01T00:00:00.000Z");
        assert.equal(parseSince("2026-11-01T09:30Z", now)?.toISOString(), "2026-11-01T09:30:00.000Z");
        for (const bad of ["30", "0d", "-3d", "3m", "d", "Dec 1", "2026-13-01", "2027-01-01", "yesterday", ""])
            assert.equal(parseSince(bad, now), undefined, bad);
    });

    it("weeks start on Monday 00:00 UTC; the first and last may be partial", () => {
        assert.equal(weekStart(new Date("2026-12-06T23:59:00Z")).toISOString(), "2026-11-30T00:00:00.000Z");
        assert.equal(weekStart(new Date("2026-12-07T00:00:00Z")).toISOString(), "2026-12-07T00:00:00.000Z");
        const weeks = weeksOf(new Date("2026-11-25T12:00:00Z"), new Date("2026-12-09T06:00:00Z")).map(([a, b]) => [
            a.toISOString(),
            b.toISOString(),
        ]);
        assert.deepEqual(weeks, [
            ["2026-11-25T12:00:00.000Z", "2026-11-30T00:00:00.000Z"],
            ["2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"],
            ["2026-12-07T00:00:00.000Z", "2026-12-09T06:00:00.000Z"],
        ]);
    });

    it("sparklines: one bar a value, scaled from zero, a dot where there is none", () => {
        assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), "▁▂▃▄▅▆▇█");
        assert.equal(sparkline([0, 0, 0]), "▁▁▁");
        assert.equal(sparkline([5, 5]), "██");
        assert.equal(sparkline([null, 2, null, 4]), "·▅·█");
        assert.equal(sparkline([null, null]), "··");
    });

    it("renders the same figures for a terminal, Markdown and Slack, with no secret and no record's cause text", () => {
        const s = stackMetrics({ stack: "prod", ...week() }, at("01T00:00:00"), at("14T00:00:00"));
        const report: MetricsReport = {
            format: 1,
            since: at("01T00:00:00").toISOString(),
            until: at("14T00:00:00").toISOString(),
            definitions: DEFINITIONS,
            changeFailureWindowHours: 24,
            stacks: [s, { ...s, stack: "staging", problem: "could not list s3://state" }],
        };
        const text = formatText(report);
        assert.match(text, /Deploys\s+5 \(0\.38 a day\)\s+[▁█]{2}/);
        assert.match(text, /Change failure rate\s+40% \(2 of 5\)/);
        assert.match(text, /Time to restore\s+median 40 min, worst 8 h \(3 outages\)/);
        assert.match(text, /Last drills\s+restore 2026-12-11 succeeded in 1\.6 min/);
        assert.match(text, /staging: .*\n {2}could not be read: could not list s3:\/\/state/);
        const md = formatMarkdown(report);
        assert.match(md, /^### prod$/m);
        assert.match(md, /^\| Figure \| Value \| Weekly trend \|$/m);
        assert.match(md, /^\| Deploys \| 5 \(0\.38 a day\) \| ▁█ \|$/m);
        assert.match(md, /^\| Success rate \| 60% \(3 of 5\) \| ·█ \|$/m);
        const digest = formatDigest(report);
        assert.match(digest, /^• prod: 5 deploys ▁█, 60% succeeded, change failure rate 40%, restore median 40 min/m);
        for (const out of [text, md, digest]) assert.doesNotMatch(out, /NEON_API_KEY/);
    });
});
