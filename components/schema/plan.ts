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
    /** The file's SQL, when at hand: finds the tables a failed no-transaction file worked on. */
    text?: string;
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

/** An index PostgreSQL marked INVALID (a CREATE INDEX or REINDEX CONCURRENTLY that failed or was killed). */
export interface InvalidIndex {
    /** Schema-qualified, quoted where PostgreSQL needs it, e.g. `public.items_sku_key`. */
    index: string;
    /** Its table, likewise. */
    table: string;
    /** The statement that removes it, e.g. `DROP INDEX CONCURRENTLY public.items_sku_key;`. */
    drop: string;
}

/** What the database shows beyond the history table, for the plan's messages. */
export interface PlanFacts {
    /** Per failed or running version: the INVALID indexes on the tables its file builds indexes on. */
    invalidIndexes?: Record<string, InvalidIndex[]>;
    /** Versions whose file was not at hand (or did not parse): their invalidIndexes are the whole database's. */
    searchedDatabase?: string[];
}

/** "1 invalid index public.a on public.t (PostgreSQL keeps it …)", "2 invalid indexes a on t, b on u (…)". */
export function describeInvalidIndexes(indexes: InvalidIndex[]): string {
    const one = indexes.length === 1;
    return (
        `${indexes.length} invalid index${one ? "" : "es"} ${indexes.map((i) => `${i.index} on ${i.table}`).join(", ")} ` +
        `(PostgreSQL keeps ${one ? "it" : "them"} up to date on every write but never uses ${one ? "it" : "them"})`
    );
}

/**
 * The problem of a version recorded as failed or running: what happened, the
 * INVALID indexes it left (or, `searchedDatabase`, that the database has while
 * its file is not at hand), and how to settle it.
 */
export function unsettledProblem(row: HistoryRow, invalid: InvalidIndex[] = [], searchedDatabase = false): string {
    const what =
        `version ${row.version} (${row.name}) is recorded as ${row.status}: it ran outside a transaction and ` +
        (row.status === "failed" ? "a statement failed" : "the runner stopped before it finished") +
        `, so its changes may be partly in place.`;
    if (!invalid.length) {
        return (
            `${what} Inspect the database, then run ` +
            `'npm run schema:resolve -- ${row.version} --applied' if its changes are complete, or ` +
            `'npm run schema:resolve -- ${row.version} --rolled-back' once you have undone them.`
        );
    }
    const left = searchedDatabase
        ? `Its file is not at hand, so any invalid index may be its; the database has ${describeInvalidIndexes(invalid)}.`
        : `It left ${describeInvalidIndexes(invalid)}.`;
    return (
        `${what} ${left} Drop ${invalid.length === 1 ? "it" : "them"} first: ` +
        invalid.map((i) => i.drop).join(" ") +
        ` Then either build what the file meant by hand and run 'npm run schema:resolve -- ${row.version} --applied', or undo the rest of its changes ` +
        `and run 'npm run schema:resolve -- ${row.version} --rolled-back' so the file runs again; schema:resolve refuses both while an invalid index remains.`
    );
}

/** The file name a history row had, written with the digits of `like` when they are the same version (else zero-padded to their width). */
function formerFileName(row: HistoryRow, like: PlannedFile): string {
    const digits = like.file.slice(0, like.file.indexOf("_"));
    const version = BigInt(digits).toString() === row.version ? digits : row.version.padStart(digits.length, "0");
    return `${version}_${row.name}.sql`;
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

export function migrationPlan<F extends PlannedFile>(
    files: F[],
    history: HistoryRow[],
    options: PlanOptions,
    facts: PlanFacts = {},
): MigrationPlan<F> {
    const problems: string[] = [];
    const byVersion = new Map(files.map((f) => [f.version, f]));
    const recorded = new Map(history.map((h) => [h.version, h]));
    const applied: HistoryRow[] = [];
    let newest: string | undefined;

    // An applied file's bytes under a version the history lacks, while that applied version has no file:
    // the file was renamed to a new version, and would run again. (Same bytes beside the applied file is a copy.)
    const renamedFrom = new Map<F, HistoryRow>();
    const renamedTo = new Set<string>();
    const orphans = new Map<string, HistoryRow>();
    for (const row of history) {
        if ((row.status === "applied" || row.status === "baseline") && !byVersion.has(row.version) && !orphans.has(row.checksum))
            orphans.set(row.checksum, row);
    }
    for (const file of files) {
        const row = recorded.has(file.version) ? undefined : orphans.get(file.checksum);
        if (row && !renamedTo.has(row.version)) {
            renamedFrom.set(file, row);
            renamedTo.add(row.version);
        }
    }

    for (const row of [...history].sort((a, b) => compareVersions(a.version, b.version))) {
        if (row.status === "failed" || row.status === "running") {
            problems.push(unsettledProblem(row, facts.invalidIndexes?.[row.version], facts.searchedDatabase?.includes(row.version)));
            continue;
        }
        applied.push(row);
        if (!newest || compareVersions(row.version, newest) > 0) newest = row.version;
        const file = byVersion.get(row.version);
        if (!file) {
            if (renamedTo.has(row.version)) continue; // reported with the file it became
            if (!options.allowMissing) {
                problems.push(
                    `version ${row.version} (${row.name}) is applied in the database but its file is missing. ` +
                        `Restore the file, or set 'npm run pulumi -- config set --path keel:migrations.allowMissing true' ` +
                        `if the code was rolled back on purpose while the schema stays ahead.`,
                );
            }
        } else if (file.checksum !== row.checksum) {
            problems.push(
                `${file.file} was edited after it was applied: checksum in the database ${row.checksum}, on disk ${file.checksum}. ` +
                    `Applied migrations must not change: restore the file and put the change in a new migration.`,
            );
        } else if (file.name !== row.name) {
            const former = formerFileName(row, file);
            problems.push(
                `${file.file} is ${former} renamed: version ${row.version} was applied as '${row.name}', and applied migrations keep their names ` +
                    `(the history and every database already migrated know it by that name). Rename it back to ${former}.`,
            );
        }
    }

    const pending: F[] = [];
    const baselined: F[] = [];
    for (const file of files) {
        if (recorded.has(file.version)) continue;
        const was = renamedFrom.get(file);
        if (was) {
            const former = formerFileName(was, file);
            problems.push(
                `${file.file} has the same bytes as version ${was.version} (${was.name}), which is applied and whose file is gone: ` +
                    `it looks like ${former} renamed to ${file.file}, and running it under a new version would run it again. ` +
                    `Rename it back to ${former}. If it is meant to run a second time, make it differ from the applied file (a comment will do).`,
            );
            continue;
        }
        if (options.baseline !== undefined && compareVersions(file.version, options.baseline) <= 0) {
            baselined.push(file);
        } else if (newest && compareVersions(file.version, newest) < 0 && !options.outOfOrder) {
            problems.push(
                `${file.file} is new but older than the newest applied version ${newest}. ` +
                    `Give it a version above ${newest}, or set 'npm run pulumi -- config set --path keel:migrations.outOfOrder true' to run it anyway.`,
            );
        } else {
            pending.push(file);
        }
    }
    return { pending, baselined, applied, problems };
}
