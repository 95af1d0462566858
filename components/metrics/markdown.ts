/**
 * The report as Markdown (`--markdown <file>`, a job summary): a table per stack
 * with a sparkline per figure, then the definitions. Pure.
 */
import { drillsLine, FIGURES, plural, trendOf } from "./figures";
import { MetricsReport, StackMetrics } from "./report";

/** A table cell: a pipe would end it, a newline the row. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function stackMarkdown(s: StackMetrics): string[] {
    const lines = [`### ${cell(s.stack)}`, ""];
    if (s.problem) return [...lines, `Could not be read: ${cell(s.problem)}`, ""];
    lines.push("| Figure | Value | Weekly trend |", "| --- | --- | --- |");
    for (const f of FIGURES) lines.push(`| ${f.label} | ${cell(f.value(s.totals))} | ${trendOf(f, s)} |`);
    lines.push(`| Last drills | ${cell(drillsLine(s))} | |`, "");
    if (s.ongoingOutage) lines.push(`**An outage is going on** since ${s.ongoingOutage.since} (${s.ongoingOutage.cause}).`, "");
    lines.push(`_${plural(s.read.updates, "update")} and ${plural(s.read.records, "record")} read._`, "");
    return lines;
}

export function formatMarkdown(r: MetricsReport): string {
    return [
        `## Keel metrics, ${r.since.slice(0, 10)} to ${r.until.slice(0, 10)}`,
        "",
        `Trends: one bar a week (Monday to Sunday, UTC), oldest first; · marks a week without a value.`,
        "",
        ...r.stacks.flatMap(stackMarkdown),
        "<details><summary>What is counted</summary>",
        "",
        ...Object.entries(r.definitions).map(([k, v]) => `- **${k}**: ${v}`),
        "",
        "</details>",
        "",
    ].join("\n");
}
