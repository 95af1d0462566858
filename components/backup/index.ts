/**
 * Backups of a stack's database and what is done with them: pg_dump files for
 * PostgreSQL reached by URL (take, verify, list, restore through a checked swap,
 * drill) and snapshot branches on Neon (neon), a Neon stack's branch reset to
 * its parent's sanitized data (neonReset, db:reset), both made of the branch
 * steps in neonBranches; `types` is the record every backup leaves, which the
 * schema's outputs and the operator commands read.
 */
export * as neon from "./neon";
export * as neonReset from "./neonReset";
export * as pgDump from "./pgDump";
export type { BackupRecord, DrillReport } from "./types";
