/**
 * `keel:migrations`: where the migration files are, where their history lives,
 * the timeouts and lock wait, and the backups taken before migrating, with the
 * stage's defaults for what the stack leaves out. Pure: no Pulumi imports.
 */
import { z } from "zod";
import { ConfigContext, duration, Filled, identifier, parseSection } from "./context";

export const migrationsSchema = z
    .object({
        dir: z
            .string()
            .min(1)
            .default("migrations")
            .describe("directory of `<version>_<name>.sql` migration files, relative to the project"),
        historySchema: identifier.default("public").describe("schema that holds the history table keel_schema_history"),
        lockTimeout: duration.optional().describe("`SET LOCAL lock_timeout` for each migration file"),
        statementTimeout: duration.optional().describe("`SET LOCAL statement_timeout` for each migration file"),
        lockWaitSeconds: z.number().int().min(0).max(3600).optional().describe("how long to wait for another runner's lock"),
        allowMissing: z.boolean().default(false).describe("accept applied versions whose files are gone (code rolled back, schema ahead)"),
        outOfOrder: z.boolean().default(false).describe("run new files older than the newest applied one"),
        baseline: z
            .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, { message: "expected a migration version (digits)" })])
            .optional()
            .describe("adopt an existing database: record versions up to this one as applied without running them"),
        backup: z
            .boolean()
            .optional()
            .describe("take a backup before `pulumi up` applies pending migrations (pg_dump, or a Neon snapshot branch)"),
        backupDir: z
            .string()
            .min(1)
            .default("backups")
            .describe("where pg_dump backups go (`<backupDir>/<stack>/`), relative to the project"),
        keepBackups: z
            .number()
            .int()
            .min(1)
            .max(1000)
            .optional()
            .describe("how many pg_dump backups of the stack to keep; older ones are removed after each new one"),
        backupRetentionDays: z
            .number()
            .int()
            .min(1)
            .max(365)
            .default(7)
            .describe("how long Neon keeps a snapshot branch taken as a backup"),
    })
    .strict();

/** keel:migrations as the stack file gives it (zod's output: the constant defaults filled in, the stage's not). */
export type MigrationsSection = z.output<typeof migrationsSchema>;

/** The keys whose default is the stage's (stage.ts). */
type StageDefaulted = "lockTimeout" | "statementTimeout" | "lockWaitSeconds" | "backup" | "keepBackups";

/** keel:migrations validated: every stage default filled in, the baseline as a version string. */
export type MigrationConfig = Omit<Filled<MigrationsSection, StageDefaulted>, "baseline"> & { baseline?: string };

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
