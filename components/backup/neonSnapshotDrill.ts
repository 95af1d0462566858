/**
 * The other half of a Neon stack's restore drill: what a real recovery uses is
 * the newest snapshot branch that is already there (taken before a migration,
 * or by hand), not one taken for the drill. So the newest backup branch of the
 * stack (the drill's own left out) is restored into a scratch branch with its
 * own compute, its tables and row counts are read and checked against what the
 * snapshot recorded and what the stack's branch holds now, and the scratch
 * branch is deleted, also when anything failed.
 *
 * The snapshot is older than the branch, so row counts may differ and are only
 * shown; a snapshot that restores no tables, a schema version other than the
 * one it recorded, or tables missing at the branch's own schema version fail.
 * No secret in a message: URIs go to the caller's inspect() only.
 */
import { isNotFound } from "../vendors/neon";
import { backupStamp, listNeonBackups, NeonBackupError, NeonBackupTarget, parseNeonBackupName } from "./neon";
import { createBranchWithCompute, deleteBranch, directConnectionUri } from "./neonBranches";
import type { BackupRecord } from "./types";

/** What a database holds, as the check reads it: its schema version and rows per table (`schema.table`). */
export interface DatabaseSummary {
    schemaVersion: string;
    tables: Record<string, number>;
}

export interface SnapshotCheck {
    passed: boolean;
    /** The snapshot branch restored. */
    backup: BackupRecord;
    scratchName: string;
    /** Per table: rows in the restored snapshot and in the stack's branch now (-1: not there). */
    tables: { table: string; copyRows: number; sourceRows: number }[];
    copySchemaVersion: string;
    sourceSchemaVersion: string;
    /** Human lines: what failed, notes, or that the snapshot restores. */
    findings: string[];
}

export interface NeonSnapshotDrillOptions {
    databaseName: string;
    roleName: string;
    /** Reads a database's schema version and row counts through a direct URI (with its password: never print it). */
    inspect: (uri: string) => Promise<DatabaseSummary>;
    now?: Date;
    progress?: (line: string) => void;
}

const isDrillBackup = (stack: string, r: BackupRecord) =>
    parseNeonBackupName(stack, r.location.slice(r.location.indexOf("/") + 1))?.label === "drill";

/** The stack's newest snapshot a recovery would use (a drill's own left out), or undefined. */
export async function newestSnapshot(target: NeonBackupTarget): Promise<BackupRecord | undefined> {
    return (await listNeonBackups(target)).find((r) => !isDrillBackup(target.stack, r));
}

/** Restores the newest snapshot into a scratch branch, checks it, deletes the scratch branch. */
export async function neonSnapshotDrill(target: NeonBackupTarget, options: NeonSnapshotDrillOptions): Promise<SnapshotCheck> {
    const { api, projectId } = target;
    const progress = options.progress;
    const wait = { ...target.wait, onProgress: target.wait?.onProgress ?? progress };
    const now = options.now ?? new Date();
    const backup = await newestSnapshot(target);
    if (!backup) {
        throw new NeonBackupError(
            `Stack '${target.stack}' has no snapshot branch to restore (backup-${target.stack}-…): a recovery today would have none. ` +
                `Keep backups on (keel:migrations.backup), take one with npm run db:backup -- --stack ${target.stack}, ` +
                `and keep them longer than the drills are apart (keel:migrations.backupRetentionDays).`,
        );
    }
    const name = backup.location.slice(projectId.length + 1);
    const scratchName = `drill-${target.stack}-${backupStamp(now)}-snapshot`;
    progress?.(
        `restoring the newest snapshot '${name}' (${backup.id}, taken ${backup.takenAt}${backup.schemaVersion ? `, schema version ${backup.schemaVersion}` : ""}) into the scratch branch '${scratchName}'`,
    );
    let scratchId: string | undefined;
    const cleanup: string[] = [];
    let copy: DatabaseSummary;
    let source: DatabaseSummary;
    try {
        const expiresAt = new Date(Math.ceil(now.getTime() / 1000) * 1000 + 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
        const copyId = await createBranchWithCompute(
            api,
            projectId,
            { parentId: backup.id, name: scratchName, expiresAt },
            wait,
            (id) => (scratchId = id),
        );
        progress?.(`reading the tables of '${scratchName}' and of '${target.branchName}'`);
        copy = await options.inspect(await directConnectionUri(api, projectId, copyId, options));
        source = await options.inspect(await directConnectionUri(api, projectId, target.branchId, options));
    } finally {
        if (scratchId) {
            try {
                await deleteBranch(api, projectId, scratchId, wait);
                progress?.(`removed '${scratchName}'`);
            } catch (err) {
                if (!isNotFound(err)) {
                    const line = `could not remove branch '${scratchName}' (${scratchId}): ${(err as Error).message}; it expires by itself, or delete it in the Neon console`;
                    progress?.(line);
                    cleanup.push(line);
                }
            }
        }
    }
    const check = checkSnapshot(backup, copy, source);
    return { ...check, scratchName, findings: [...check.findings, ...cleanup], passed: check.passed && !cleanup.length };
}

/** The restored snapshot against what it recorded and what the branch holds now; pure. */
export function checkSnapshot(backup: BackupRecord, copy: DatabaseSummary, source: DatabaseSummary): Omit<SnapshotCheck, "scratchName"> {
    const failures: string[] = [];
    const notes: string[] = [];
    const names = [...new Set([...Object.keys(copy.tables), ...Object.keys(source.tables)])].sort();
    const tables = names.map((table) => ({ table, copyRows: copy.tables[table] ?? -1, sourceRows: source.tables[table] ?? -1 }));
    const copyTables = Object.keys(copy.tables).length;
    if (copyTables === 0 && (Object.keys(source.tables).length > 0 || backup.schemaVersion))
        failures.push(`the restored snapshot holds no tables`);
    if (backup.schemaVersion && copy.schemaVersion !== backup.schemaVersion)
        failures.push(
            `the restored snapshot is at schema version ${copy.schemaVersion || "none"}, but it was taken at ${backup.schemaVersion}`,
        );
    const sameSchema = copy.schemaVersion === source.schemaVersion;
    for (const t of tables) {
        if (t.copyRows < 0) {
            const line = `table ${t.table} is in the stack's branch but not in the snapshot`;
            if (sameSchema) failures.push(`${line}, at the same schema version ${source.schemaVersion || "(none)"}`);
            else notes.push(`note: ${line} (it came with a later migration)`);
        } else if (t.sourceRows < 0) notes.push(`note: table ${t.table} is only in the snapshot (dropped since)`);
    }
    if (!sameSchema)
        notes.push(
            `note: the snapshot is at schema version ${copy.schemaVersion || "none"}, the branch at ${source.schemaVersion || "none"}`,
        );
    const rows = Object.values(copy.tables).reduce((a, b) => a + b, 0);
    const findings = failures.length
        ? [...failures, ...notes]
        : [`the snapshot restores: ${copyTables} tables, ${rows} rows, schema version ${copy.schemaVersion || "none"}`, ...notes];
    return {
        passed: failures.length === 0,
        backup,
        tables,
        copySchemaVersion: copy.schemaVersion,
        sourceSchemaVersion: source.schemaVersion,
        findings,
    };
}

/** The check as text lines. */
export function formatSnapshotCheck(c: SnapshotCheck): string[] {
    const name = c.backup.location.slice(c.backup.location.indexOf("/") + 1);
    return [
        `snapshot drill ${c.passed ? "PASSED" : "FAILED"} (snapshot '${name}', ${c.backup.id}, taken ${c.backup.takenAt}, schema version ${c.backup.schemaVersion || "unknown"})`,
        ...c.tables.map(
            (t) =>
                `  ${t.copyRows >= 0 ? "ok  " : "MISS"} ${t.table}: ${t.copyRows >= 0 ? t.copyRows : "-"} rows restored (${t.sourceRows >= 0 ? t.sourceRows : "-"} in the branch now)`,
        ),
        ...c.findings.map((f) => `  - ${f}`),
    ];
}
