/**
 * Keel's composition root: validated config, then components, then stack outputs.
 * Everything that can be wrong with the config or the migration files is found
 * before the first resource is declared.
 */
import * as os from "os";
import { Database } from "./components/database";
import { readKeelConfig } from "./components/pulumiConfig";
import { loadMigrations, Schema } from "./components/schema";

export = async () => {
    const config = readKeelConfig();
    const migrations = await loadMigrations(config.migrations.dir);

    const database = new Database("database", { config: config.database, stack: config.stack, protect: config.defaults.protect });

    const { dir, baseline, ...settings } = config.migrations;
    const schema = new Schema(
        "schema",
        {
            databaseUrl: database.directUrl,
            migrationsDir: dir,
            migrations,
            settings: { ...settings, ...(baseline ? { baseline } : {}) },
            appliedBy: `${config.stack}:${process.env.GITHUB_ACTOR ?? os.userInfo().username}`,
            stack: config.stack,
            databaseKind: database.kind,
            ...(database.neon && config.database.kind === "neon"
                ? { neon: { projectId: database.neon.projectId, branchId: database.neon.branchId, branchName: config.database.branch.name } }
                : {}),
        },
        { dependsOn: [database] },
    );

    return {
        stage: config.stage,
        databaseKind: database.kind,
        databaseUrl: database.directUrl,
        databasePooledUrl: database.pooledUrl,
        ...(database.neon
            ? { neonProjectId: database.neon.projectId, neonBranchId: database.neon.branchId, neonEndpointId: database.neon.endpointId }
            : {}),
        schemaVersion: schema.version,
        schemaFingerprint: schema.fingerprint,
        appliedMigrations: schema.applied.apply((a) => a.length),
        schemaDrift: schema.drift,
        // Which backup belongs to which deploy (pulumi stack output / stack history): id, time, schema version.
        latestBackup: schema.latestBackup.apply((b) =>
            b ? { id: b.id, kind: b.kind, takenAt: b.takenAt, schemaVersion: b.schemaVersion, beforeVersion: b.beforeVersion, location: b.location } : undefined,
        ),
    };
};
