/**
 * A drill's result as one line of its command's output: what `keel db drill` and
 * `keel rollback drill` print last for each part, and what `keel issue drill`
 * (drill.yml's report) reads back from their logs. One module formats and parses
 * it, so the two cannot drift apart. Pure.
 *
 *   drill restore of staging: succeeded in 12.3 s
 *   drill snapshot of staging: failed in 4.0 s: no snapshot branch of stack 'staging' …
 *   drill rollback of staging: succeeded in 161.0 s (back 80.2 s, forward 80.8 s)
 */
import type { DrillRecord } from "../records/record";
import { maskSecrets } from "./mask";

export type DrillPart = DrillRecord["drill"];

/** The part of a DrillRecord a drill line carries. */
export type DrillLine = Pick<DrillRecord, "drill" | "stack" | "outcome" | "durationMs" | "backMs" | "forwardMs" | "cause">;

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** The line a drill command prints for one part of a drill. */
export function formatDrillLine(r: DrillLine): string {
    const ways =
        r.backMs !== undefined
            ? ` (back ${seconds(r.backMs)} s${r.forwardMs !== undefined ? `, forward ${seconds(r.forwardMs)} s` : ""})`
            : "";
    const cause = r.outcome === "failed" && r.cause ? `: ${r.cause.replace(/\s*\n\s*/g, " ")}` : "";
    return `drill ${r.drill} of ${r.stack}: ${r.outcome} in ${seconds(r.durationMs)} s${ways}${cause}`;
}

const LINE =
    /^drill (restore|snapshot|rollback) of (\S+): (succeeded|failed) in (\d+(?:\.\d+)?) s(?: \(back (\d+(?:\.\d+)?) s(?:, forward (\d+(?:\.\d+)?) s)?\))?(?:: (.*))?$/;

/** Every drill line in a command's output (the last one of each part wins), in the order the parts first appear. */
export function parseDrillLines(text: string): DrillLine[] {
    const found = new Map<string, DrillLine>();
    for (const raw of text.split("\n")) {
        const m = LINE.exec(raw.trimEnd());
        if (!m) continue;
        const ms = (s: string | undefined) => (s === undefined ? undefined : Math.round(Number(s) * 1000));
        const line: DrillLine = {
            drill: m[1] as DrillPart,
            stack: m[2],
            outcome: m[3] as DrillLine["outcome"],
            durationMs: ms(m[4])!,
            ...(m[5] !== undefined ? { backMs: ms(m[5]) } : {}),
            ...(m[6] !== undefined ? { forwardMs: ms(m[6]) } : {}),
            ...(m[7] !== undefined ? { cause: m[7] } : {}),
        };
        found.set(`${line.drill} ${line.stack}`, line);
    }
    return [...found.values()];
}

/** An error's text as one line for a record or a drill line, with the secrets it may hold masked (mask.ts: `known` values, and the secret shapes). */
export function oneLineCause(err: unknown, known: readonly string[] = []): string {
    const text = err instanceof Error ? err.message : String(err);
    return maskSecrets(text.replace(/\s*\n\s*/g, " ").trim(), known).slice(0, 500);
}
