/** The short digest posted to Slack (`--slack`): one line per stack, the headline figures and the deploy trend. Pure. */
import { duration, FIGURES, percent, trendOf } from "./figures";
import { MetricsReport, StackMetrics } from "./report";

function stackLine(s: StackMetrics): string {
    if (s.problem) return `• ${s.stack}: could not be read (${s.problem})`;
    const t = s.totals;
    const restore = t.timeToRestore.count
        ? `restore median ${duration(t.timeToRestore.medianMs)} (worst ${duration(t.timeToRestore.worstMs)})`
        : "no outage";
    return (
        `• ${s.stack}: ${t.deploys.count} deploys ${trendOf(FIGURES[0], s)}, ${percent(t.deploys.successRate)} succeeded, ` +
        `change failure rate ${percent(t.changeFailures.rate)}, ${restore}, lead time median ${duration(t.leadTime.medianMs)}, ` +
        `${t.rollbacks.count} rollbacks, ${t.incidents.opened} incidents` +
        (s.ongoingOutage ? `; an outage is going on since ${s.ongoingOutage.since}` : "")
    );
}

export function formatDigest(r: MetricsReport): string {
    return [`Keel metrics, ${r.since.slice(0, 10)} to ${r.until.slice(0, 10)}:`, ...r.stacks.map(stackLine)].join("\n");
}
