/** The verdicts against the targets, and what the server's own work says about the 3x target. */
import type { ApplyResults } from "./applyRuns";
import { medianOf, secondsOf, serverMedian } from "./applyRuns";
import type { BenchRun } from "./context";
import type { NothingPending } from "./nothingPending";
import { TARGET_FLOOR_RATIO, TARGET_PENDING_MS, TARGET_RSS_MB, TARGET_SPEEDUP } from "./options";
import type { PeakRss } from "./peakMemory";
import { loadavg, ms1, s3, table, verdict, x2 } from "./report";

export function reportVerdicts(bench: BenchRun, a: ApplyResults, pending: NothingPending, rss: PeakRss | undefined): void {
    const { opts, out } = bench;
    const { all, floor, keel, keelNode } = a;
    const { statusCold, applyCold, refreshCold, keelNoopNpm } = pending;
    const secs = (key: string) => secondsOf(a, key);
    const med = (key: string) => medianOf(a, key);
    const serverMed = (key: string) => serverMedian(a, key);
    out(`Verdicts (Keel = npm run schema:apply; medians of ${opts.runs}; load average now ${loadavg()})`);
    // Runs of one round ran back to back, so their ratios cancel slow drift in the machine's load.
    const paired = (a: string, b: string) =>
        opts.runs > 1
            ? `; per run ${secs(a)
                  .map((x, i) => (x / secs(b)[i]).toFixed(2))
                  .join(", ")}`
            : "";
    const competitors = all.filter((x) => x.competitor);
    const lines: [string, boolean | undefined, string][] = [
        [
            `Keel within ${TARGET_FLOOR_RATIO}x of the psql floor`,
            keel / floor <= TARGET_FLOOR_RATIO,
            `${s3(keel)} s / ${s3(floor)} s = ${x2(keel / floor)}${paired("keel-npm", "psql")} (via node, no npm: ${x2(keelNode / floor)})`,
        ],
    ];
    for (const tool of competitors) {
        const m = med(tool.key);
        lines.push([
            `Keel >= ${TARGET_SPEEDUP}x faster than ${tool.label}`,
            m / keel >= TARGET_SPEEDUP,
            `${s3(m)} s / ${s3(keel)} s = ${x2(m / keel)}${paired(tool.key, "keel-npm")}`,
        ]);
    }
    lines.push([
        `nothing-pending check < ${TARGET_PENDING_MS} ms once up`,
        applyCold < TARGET_PENDING_MS && statusCold < TARGET_PENDING_MS,
        `schema:apply path (scanMigrations + applyMigrations) ${ms1(applyCold)}, schema:status path ${ms1(statusCold)}; ` +
            `with the fingerprint (pulumi refresh) ${ms1(refreshCold)}; whole npm process ${s3(keelNoopNpm)} s`,
    ]);
    lines.push([
        `peak RSS < ${TARGET_RSS_MB} MB with ${opts.bigCount} migrations`,
        rss ? rss.mb < TARGET_RSS_MB : undefined,
        rss ? `${rss.mb.toFixed(1)} MB (node dist/cli/main.js schema apply, ${rss.how})` : "skipped (--no-10k)",
    ]);
    out(
        table(
            ["target", "verdict", "figures"],
            lines.map(([what, ok, fig]) => [what, ok === undefined ? "SKIP" : verdict(ok), fig]),
        ),
    );
    if (competitors.length) {
        // The bound on the 3x target: no runner finishes before the server has done the DDL. The least
        // server CPU any tool's session needed for the same migrations is the work no client can avoid.
        const sessions = all.map((tool) => ({ label: tool.label, cpu: serverMed(tool.key) }));
        const least = sessions.every((x) => x.cpu !== undefined) ? sessions.reduce((a, b) => (a.cpu! <= b.cpu! ? a : b)) : undefined;
        const work = least?.cpu ?? floor;
        const thirds = competitors.map((tool) => {
            const m = med(tool.key);
            return { label: tool.label, third: m / TARGET_SPEEDUP, best: m / work };
        });
        const outOfReach = thirds.filter((x) => x.third < work);
        out(
            `3x bound: the server's work alone for these ${opts.count} migrations is ${s3(work)} s ` +
                (least
                    ? `(server CPU of the least demanding session, ${least.label}; psql floor's session ${s3(serverMed("psql")!)} s, ` +
                      `Keel's whole run ${s3(keel)} s)`
                    : "(psql floor wall time: no server CPU figures here)") +
                `; 3x needs Keel within 1/3 of each tool: ${thirds.map((x) => `${x.label} ${s3(x.third)} s`).join(", ")}; ` +
                `a client costing nothing would reach at most ${thirds.map((x) => x2(x.best)).join(", ")} respectively: ` +
                (outOfReach.length === thirds.length
                    ? "3x is physically out of reach against every one of them."
                    : outOfReach.length
                      ? `3x is physically out of reach against ${outOfReach.map((x) => x.label).join(", ")}; possible in principle against the rest.`
                      : "3x is possible in principle against each of them."),
        );
    }
    out("A benchmark, not a gate: it exits 0 whatever the verdicts.");
}
