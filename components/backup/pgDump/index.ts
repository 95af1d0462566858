/**
 * pg_dump backups of a PostgreSQL reached by URL (Docker or external): take one
 * (custom format, owner-only files, a sidecar .json with size, sha256, schema
 * version, fingerprint and row counts), verify it, list and prune them, restore
 * one into a fresh database and swap it in, and drill the whole loop.
 *
 * No Pulumi imports: the Schema provider and the operator commands call these
 * directly. Credentials reach pg_dump and pg_restore through PG* environment
 * variables, never on argv (visible in `ps`) or in logs.
 */
export { databaseName, libpqEnv, quoteIdent, urlForDatabase } from "./connection";
export { adminClient, createDatabaseLike, databaseFacts } from "./databases";
export type { DatabaseFacts } from "./databases";
export { appliedSchemaVersion, compareDatabases, drill, drillReport, formatDrillReport } from "./drill";
export type { DrillOptions } from "./drill";
export { ensureBackupDir, takeDump, takeDumpWithStats, verifyDump } from "./dump";
export type { DumpOptions } from "./dump";
export { BackupError, RestoreError } from "./errors";
export { findDump, listDumps, pruneDumps } from "./listing";
export { formatBytes, runTool, seconds, sha256File, tail } from "./process";
export type { BackupProgress } from "./process";
export { compareWithRecord, executeRestore, planRestore, restoreDump, swapDatabases } from "./restore";
export type { RestoreHooks, RestorePlan, SwapNames } from "./restore";
export { readTableStats } from "./stats";
export type { DumpStats, TableStats } from "./stats";
export { candidateBinDirs, findPgTools, newestPgTools, pgToolsFor } from "./tools";
export type { PgTools } from "./tools";
