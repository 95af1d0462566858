/**
 * `keel:migrations`: where the migration files are, where their history lives,
 * the timeouts and lock wait, and the backups taken before migrating, with the
 * stage's defaults for what the stack leaves out. Pure: no Pulumi imports.
 */
import { z } from "zod";
import { ConfigContext, duration, identifier, parseSection } from "./context";

export interface MigrationConfig {
    /** Directory of `<version>_<name>.sql` files, relative to the project. */
    dir: string;
    /** Schema that holds keel_schema_history. */
    historySchema: string;
    lockTimeout: string;
    statementTimeout: string;
    lockWaitSeconds: number;
    allowMissing: boolean;
    outOfOrder: boolean;
    baseline?: string;
    /** Take a backup before applying pending migrations (pg_dump, or a Neon snapshot branch). */
    backup: boolean;
    /** Where pg_dump backups go (`<backupDir>/<stack>/`), relative to the project. */
    backupDir: string;
    /** How many pg_dump backups of the stack to keep; older ones are removed. */
    keepBackups: number;
    /** How long a Neon snapshot branch lives before Neon deletes it. */
    backupRetentionDays: number;
}

export const migrationsSchema = z
    .object({
        dir: z.string().min(1).default("migrations"),
        historySchema: identifier.default("public"),
        lockTimeout: duration.optional(),
        statementTimeout: duration.optional(),
        lockWaitSeconds: z.number().int().min(0).max(3600).optional(),
        allowMissing: z.boolean().default(false),
        outOfOrder: z.boolean().default(false),
        baseline: z
            .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, { message: "expected a migration version (digits)" })])
            .optional(),
        backup: z.boolean().optional(),
        backupDir: z.string().min(1).default("backups"),
        keepBackups: z.number().int().min(1).max(1000).optional(),
        backupRetentionDays: z.number().int().min(1).max(365).default(7),
    })
    .strict();

/** keel:migrations with the stage's defaults; undefined when invalid (the problems say why). */
export function parseMigrations(ctx: ConfigContext): MigrationConfig | undefined {
    const m = parseSection(ctx, "migrations", migrationsSchema);
    if (!m) return undefined;
    const defaults = ctx.defaults.migrations;
    return {
        dir: m.dir,
        historySchema: m.historySchema,
        lockTimeout: m.lockTimeout ?? defaults.lockTimeout,
        statementTimeout: m.statementTimeout ?? defaults.statementTimeout,
        lockWaitSeconds: m.lockWaitSeconds ?? defaults.lockWaitSeconds,
        allowMissing: m.allowMissing,
        outOfOrder: m.outOfOrder,
        baseline: m.baseline === undefined ? undefined : BigInt(m.baseline).toString(),
        backup: m.backup ?? defaults.backup,
        backupDir: m.backupDir,
        keepBackups: m.keepBackups ?? defaults.keepBackups,
        backupRetentionDays: m.backupRetentionDays,
    };
}
