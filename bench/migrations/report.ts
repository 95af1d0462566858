/** How the figures are printed: number formats, verdicts and aligned tables. */
import * as os from "os";
import { median } from "../cli";

export const min = (xs: number[]) => Math.min(...xs);

/** The median when every run has the figure, else undefined. */
export const optionalMedian = (xs: (number | undefined)[]) => (xs.every((x) => x !== undefined) ? median(xs as number[]) : undefined);

export const s3 = (x: number) => x.toFixed(3);
export const x2 = (x: number) => `${x.toFixed(2)}x`;
export const ms1 = (x: number) => `${x.toFixed(1)} ms`;
export const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");

/** Columns are right-aligned except the first and the text columns named in `left`. */
export function table(head: string[], rows: string[][], left: string[] = ["target", "verdict", "figures"]): string {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const leftAligned = (i: number) => i === 0 || left.includes(head[i]);
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (leftAligned(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
            .join("  ")
            .trimEnd();
    return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n") + "\n";
}

export const loadavg = () =>
    os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ");
