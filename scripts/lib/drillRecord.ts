/**
 * A drill's part ended: its line for the log (components/operations/drillLine.ts)
 * and its DrillRecord beside the stack's state (scripts/lib/records.ts). A record
 * that cannot be kept is said and never fails the drill.
 */
import { formatDrillLine, oneLineCause } from "../../components/operations/drillLine";
import { secretValuesIn } from "../../components/operations/mask";
import type { DrillRecord } from "../../components/records/record";
import { keepRecord } from "./records";

export interface DrillRecordIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
}

export type DrillResult = Omit<DrillRecord, "kind" | "at"> & { at?: string };

/** Prints the part's drill line and appends its record; resolves whether the record was kept (never rejects). */
export async function endDrillPart(io: DrillRecordIo, result: DrillResult, endedMs: number): Promise<boolean> {
    const record: DrillRecord = {
        kind: "drill",
        stack: result.stack,
        at: result.at ?? new Date(endedMs).toISOString(),
        drill: result.drill,
        outcome: result.outcome,
        durationMs: Math.max(0, Math.round(result.durationMs)),
        ...(result.backMs !== undefined ? { backMs: Math.max(0, Math.round(result.backMs)) } : {}),
        ...(result.forwardMs !== undefined ? { forwardMs: Math.max(0, Math.round(result.forwardMs)) } : {}),
        // No record holds a secret: the environment's secret values and the secret shapes are masked.
        ...(result.cause ? { cause: oneLineCause(result.cause, secretValuesIn(io.env)) } : {}),
    };
    io.out(formatDrillLine(record));
    return keepRecord(io.root, record.stack, io.env, record, io.out);
}
