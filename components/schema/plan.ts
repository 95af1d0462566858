/**
 * migrationPlan: what to run, given the files and the history table.
 * Pure: no database, no Pulumi; every problem is reported at once.
 */
import { compareVersions } from "./migrationSet";

/** What planning needs of a file: identity and checksum, no parsed SQL. */
export interface PlannedFile {
    version: string;
    name: string;
    file: string;
    checksum: string;
}

export type HistoryStatus = "applied" | "baseline" | "failed" | "running";

export interface HistoryRow {
    version: string;
    name: string;
    checksum: string;
    status: HistoryStatus;
    appliedAt?: string;
    executionMs?: number;
    appliedBy?: string;
}

export interface PlanOptions {
    /** Applied versions whose files are gone are accepted (code rolled back, schema ahead). */
    allowMissing: boolean;
    /** New files older than the newest applied version may run. */
    outOfOrder: boolean;
    /** Versions up to this one are recorded as applied without running (adopting an existing database). */
    baseline?: string;
}

export interface MigrationPlan<F extends PlannedFile = PlannedFile> {
    /** Files to run, in order. */
    pending: F[];
    /** Files at or below the baseline to record without running. */
    baselined: F[];
    /** History rows that count as applied. */
    applied: HistoryRow[];
    /** Every reason the plan cannot run; empty when it can. */
    problems: string[];
}

export function migrationPlan<F extends PlannedFile>(files: F[], history: HistoryRow[], options: PlanOptions): MigrationPlan<F> {
    const problems: string[] = [];
    const byVersion = new Map(files.map((f) => [f.version, f]));
    const recorded = new Map(history.map((h) => [h.version, h]));
    const applied: HistoryRow[] = [];
    let newest: string | undefined;

    for (const row of [...history].sort((a, b) => compareVersions(a.version, b.version))) {
        if (row.status === "failed" || row.status === "running") {
            problems.push(
                `version ${row.version} (${row.name}) is recorded as ${row.status}: it ran outside a transaction and ` +
                    (row.status === "failed" ? "a statement failed" : "the runner stopped before it finished") +
                    `, so its changes may be partly in place. Inspect the database, then run ` +
                    `'npm run schema:resolve -- ${row.version} --applied' if its changes are complete, or ` +
                    `'npm run schema:resolve -- ${row.version} --rolled-back' once you have undone them.`,
            );
            continue;
        }
        applied.push(row);
        if (!newest || compareVersions(row.version, newest) > 0) newest = row.version;
        const file = byVersion.get(row.version);
        if (!file) {
            if (!options.allowMissing) {
                problems.push(
                    `version ${row.version} (${row.name}) is applied in the database but its file is missing. ` +
                        `Restore the file, or set 'pulumi config set --path keel:migrations.allowMissing true' ` +
                        `if the code was rolled back on purpose while the schema stays ahead.`,
                );
            }
        } else if (file.checksum !== row.checksum) {
            problems.push(
                `${file.file} was edited after it was applied: checksum in the database ${row.checksum}, on disk ${file.checksum}. ` +
                    `Applied migrations must not change: restore the file and put the change in a new migration.`,
            );
        }
    }

    const pending: F[] = [];
    const baselined: F[] = [];
    for (const file of files) {
        if (recorded.has(file.version)) continue;
        if (options.baseline !== undefined && compareVersions(file.version, options.baseline) <= 0) {
            baselined.push(file);
        } else if (newest && compareVersions(file.version, newest) < 0 && !options.outOfOrder) {
            problems.push(
                `${file.file} is new but older than the newest applied version ${newest}. ` +
                    `Give it a version above ${newest}, or set 'pulumi config set --path keel:migrations.outOfOrder true' to run it anyway.`,
            );
        } else {
            pending.push(file);
        }
    }
    return { pending, baselined, applied, problems };
}
