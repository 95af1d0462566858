/**
 * What the metrics read of a stack's history: the fields of one update that
 * scripts/lib/stackHistory.ts's Deploy has (a Deploy is one), so tests build
 * histories without the rest. Pure: no Pulumi, no I/O.
 */

export interface HistoryUpdate {
    /** 1 for the stack's first update, as listDeploys numbers them. */
    version: number;
    /** update, refresh, destroy, import…: only updates are deploys or rollbacks. */
    kind: string;
    /** succeeded, failed, in-progress. */
    result: string;
    startTime: Date;
    endTime?: Date;
    message: string;
    /** The git commit the update ran from. */
    commit?: string;
    /** The backup the stack's outputs named after the update (outputs.latestBackup), when the caller read one. */
    backup?: { id: string; bytes?: number };
}

/**
 * The version a rollback's update went back to, from the message Keel gives it
 * (rollbackMessage in scripts/lib/rollbackPlan.ts, whose rollbackOf reads it the
 * same way: test/metrics/history.test.ts holds them together); else undefined.
 */
export function rollbackTarget(u: Pick<HistoryUpdate, "kind" | "message">): number | undefined {
    const m = u.kind === "update" ? /^rollback to version (\d+) \(commit [0-9a-f]{4,40}\)$/.exec(u.message) : null;
    return m ? Number(m[1]) : undefined;
}
