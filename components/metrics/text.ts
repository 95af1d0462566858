/** The report for a terminal: per stack, each figure, its value and its weekly trend. Pure. */
import { drillsLine, FIGURES, plural, trendOf } from "./figures";
import { MetricsReport, StackMetrics } from "./report";

function stackText(s: StackMetrics): string[] {
    const head = `${s.stack}: ${plural(s.read.updates, "update")}, ${plural(s.read.records, "record")} read`;
    if (s.problem) return [head, `  could not be read: ${s.problem}`];
    const rows = FIGURES.map((f) => [f.label, f.value(s.totals), trendOf(f, s)]);
    rows.push(["Last drills", drillsLine(s), ""]);
    const w0 = Math.max(...rows.map((r) => r[0].length));
    // The trends line up after the longest value that has one (the drills' line has none and may run long).
    const w1 = Math.max(...rows.filter((r) => r[2]).map((r) => r[1].length));
    const lines = [head, ...rows.map(([l, v, t]) => `  ${l.padEnd(w0)}  ${t ? v.padEnd(w1) : v}${t ? `  ${t}` : ""}`)];
    if (s.ongoingOutage) lines.push(`  ! an outage is going on since ${s.ongoingOutage.since} (${s.ongoingOutage.cause})`);
    return lines;
}

export function formatText(r: MetricsReport): string {
    const weeks = r.stacks[0]?.weeks.length ?? 0;
    return (
        [
            `Keel metrics from ${r.since} to ${r.until}; trends: one bar a week (Monday to Sunday, UTC), ${weeks} weeks, oldest first`,
            "",
            ...r.stacks.flatMap((s) => [...stackText(s), ""]),
            `Change failure: ${r.definitions.changeFailure}`,
            `Time to restore: ${r.definitions.timeToRestore}`,
        ].join("\n") + "\n"
    );
}
