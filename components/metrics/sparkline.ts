/**
 * A trend in one line of unicode blocks (▁▂▃▄▅▆▇█), one per week: GitHub's job
 * summaries strip inline SVG, while these render in Markdown, Slack and a
 * terminal alike. Pure.
 */

const BARS = "▁▂▃▄▅▆▇█";
/** A week without a value (no deploy to take a median of). */
export const NO_VALUE = "·";

/** Scaled from 0 (or the lowest value, when negative) to the highest: an all-zero trend is flat at the bottom. */
export function sparkline(values: (number | null)[]): string {
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
    if (!known.length) return values.map(() => NO_VALUE).join("");
    const low = Math.min(0, ...known);
    const high = Math.max(...known);
    return values
        .map((v) => {
            if (v === null || !Number.isFinite(v)) return NO_VALUE;
            if (high === low) return BARS[0];
            return BARS[Math.min(BARS.length - 1, Math.floor(((v - low) / (high - low)) * (BARS.length - 1) + 0.5))];
        })
        .join("");
}
