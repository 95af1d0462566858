/** SchemaMigrations inputs for provider tests: the files in `dir`, short timeouts, no backup unless asked. */
import { loadMigrations } from "../../components/schema/migrationSet";
import { SchemaMigrationsInputs, SchemaSettings, summarizeMigration } from "../../components/schema/provider";

export async function schemaInputs(url: string, dir: string, settings: Partial<SchemaSettings> = {}): Promise<SchemaMigrationsInputs> {
    return {
        databaseUrl: url,
        migrationsDir: dir,
        migrations: (await loadMigrations(dir)).map(summarizeMigration),
        settings: {
            historySchema: "public",
            lockTimeout: "5s",
            statementTimeout: "1min",
            lockWaitSeconds: 5,
            allowMissing: false,
            outOfOrder: false,
            backup: false,
            backupDir: "backups",
            keepBackups: 3,
            backupRetentionDays: 7,
            ...settings,
        },
        appliedBy: "test:provider",
    };
}
