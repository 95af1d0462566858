/**
 * The figures every rendering shows (terminal, Markdown, Slack), in one order,
 * each with its value in words and the weekly number its trend is drawn from.
 * Pure.
 */
import { PeriodMetrics, StackMetrics } from "./report";
import { sparkline } from "./sparkline";

/** 42 s, 3.5 min, 2.1 h, 3.2 d. */
export function duration(msValue: number | null): string {
    if (msValue === null) return "-";
    const s = msValue / 1000;
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 90 * 60) return `${+(s / 60).toFixed(1)} min`;
    if (s < 48 * 3600) return `${+(s / 3600).toFixed(1)} h`;
    return `${+(s / 86400).toFixed(1)} d`;
}

export function bytes(n: number | null): string {
    if (n === null) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${v} B` : `${+v.toFixed(1)} ${units[i]}`;
}

export function percent(rate: number | null): string {
    return rate === null ? "-" : `${+(rate * 100).toFixed(1)}%`;
}

export interface Figure {
    label: string;
    value(p: PeriodMetrics): string;
    /** The number a week's bar shows (null: nothing to show that week). */
    trend(p: PeriodMetrics): number | null;
}

/** `1 update`, `2 updates`. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const FIGURES: Figure[] = [
    {
        label: "Deploys",
        value: (p) => `${p.deploys.count} (${+p.deploys.perDay.toFixed(2)} a day)`,
        trend: (p) => p.deploys.count,
    },
    {
        label: "Success rate",
        value: (p) => `${percent(p.deploys.successRate)} (${p.deploys.succeeded} of ${p.deploys.count})`,
        trend: (p) => p.deploys.successRate,
    },
    { label: "Time spent deploying", value: (p) => duration(p.timeDeployingMs), trend: (p) => p.timeDeployingMs },
    {
        label: "Change failure rate",
        value: (p) => `${percent(p.changeFailures.rate)} (${p.changeFailures.count} of ${p.deploys.count})`,
        trend: (p) => p.changeFailures.rate,
    },
    {
        label: "Rollbacks",
        value: (p) => {
            const by = Object.entries(p.rollbacks.byTrigger)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([t, n]) => `${t} ${n}`)
                .join(", ");
            return `${p.rollbacks.count}${by ? ` (${by})` : ""}`;
        },
        trend: (p) => p.rollbacks.count,
    },
    {
        label: "Time to restore",
        value: (p) =>
            p.timeToRestore.count || p.timeToRestore.ongoing
                ? `median ${duration(p.timeToRestore.medianMs)}, worst ${duration(p.timeToRestore.worstMs)} ` +
                  `(${plural(p.timeToRestore.count, "outage")}${p.timeToRestore.ongoing ? `, ${p.timeToRestore.ongoing} ongoing` : ""})`
                : "no outage",
        trend: (p) => p.timeToRestore.medianMs,
    },
    {
        label: "Lead time",
        value: (p) =>
            p.leadTime.count
                ? `median ${duration(p.leadTime.medianMs)}, worst ${duration(p.leadTime.worstMs)} (${plural(p.leadTime.count, "deploy")})`
                : "- (no commit time known)",
        trend: (p) => p.leadTime.medianMs,
    },
    {
        label: "Incidents",
        value: (p) =>
            `${p.incidents.opened} opened, ${p.incidents.closed} closed; ${plural(p.watchFailures, "failed watch", "failed watches")}`,
        trend: (p) => p.incidents.opened + p.watchFailures,
    },
    {
        label: "Migrations",
        value: (p) => `${p.migrations.applied} applied, ${p.migrations.destructive} destructive`,
        trend: (p) => p.migrations.applied,
    },
    {
        label: "Backups",
        value: (p) =>
            p.backups.count ? `${p.backups.count}, ${bytes(p.backups.bytes)} in all (largest ${bytes(p.backups.largestBytes)})` : "0",
        trend: (p) => p.backups.count,
    },
    {
        label: "Drift runs",
        value: (p) => `${p.drift.runs}, ${p.drift.drifted} found drift (${plural(p.drift.findings, "finding")})`,
        trend: (p) => p.drift.drifted,
    },
];

/** A figure's weekly trend. */
export function trendOf(figure: Figure, s: StackMetrics): string {
    return sparkline(s.weeks.map((w) => figure.trend(w)));
}

/** The last drills in words: "restore 2026-11-30 succeeded in 2.1 min; rollback … back 40 s, forward 45 s". */
export function drillsLine(s: StackMetrics): string {
    if (!s.lastDrills.length) return "none recorded";
    return s.lastDrills
        .map(
            (d) =>
                `${d.drill} ${d.at.slice(0, 10)} ${d.outcome} in ${duration(d.durationMs)}` +
                (d.backMs !== undefined || d.forwardMs !== undefined
                    ? ` (back ${duration(d.backMs ?? null)}, forward ${duration(d.forwardMs ?? null)})`
                    : ""),
        )
        .join("; ");
}
