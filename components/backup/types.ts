/**
 * Backups, whatever holds them: a pg_dump file (Docker or external PostgreSQL)
 * or a Neon branch snapshot. The Schema provider takes one before migrating;
 * the db:backups, db:restore and db:drill scripts list, restore and prove them.
 */

/** One backup, as recorded in outputs and listed by `npm run db:backups`. */
export interface BackupRecord {
    /** The file name (pg_dump) or the Neon branch id. */
    id: string;
    kind: "pg_dump" | "neon-branch";
    stack: string;
    /** ISO time the backup was taken. */
    takenAt: string;
    /** The newest applied migration version the backup holds ("" when none). */
    schemaVersion: string;
    /** The first pending version it was taken before ("" for a backup taken by hand or by a drill). */
    beforeVersion: string;
    /** A file path, or `<projectId>/<branch name>`. */
    location: string;
    /** pg_dump: size of the file and its sha256. */
    sizeBytes?: number;
    sha256?: string;
    /** Neon: the snapshot branch, the LSN it was taken at, and when Neon deletes it. */
    branchId?: string;
    lsn?: string;
    expiresAt?: string;
    /** pg_dump: the schema fingerprint and per-table row counts in the dump's snapshot (what a restore is checked against). */
    fingerprint?: string;
    rowCounts?: Record<string, number>;
    /** pg_dump: the server's and pg_dump's versions, and what verified the file. */
    serverVersion?: string;
    toolVersion?: string;
    verified?: string;
}

/** What a restore drill compared, and whether the copy matched. */
export interface DrillReport {
    passed: boolean;
    backup: BackupRecord;
    /** Schema fingerprints of the source and the restored copy. */
    fingerprint: { source: string; copy: string };
    /** Per table: row counts and data checksums of source and copy. */
    tables: { table: string; sourceRows: number; copyRows: number; sourceChecksum: string; copyChecksum: string; matches: boolean }[];
    /** Human lines: what differs, or that nothing does. */
    findings: string[];
}
