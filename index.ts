/**
 * Keel's composition root: validated config, then components, then stack outputs.
 * Everything that can be wrong with the config or the migration files is found
 * before the first resource is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import { readKeelConfig } from "./components/pulumiConfig";
import { loadMigrations, Schema } from "./components/schema";

export = async () => {
    const config = readKeelConfig();
    const migrations = await loadMigrations(config.migrations.dir);

    const databaseUrl = pulumi.secret(config.database.url);
    const { dir, baseline, ...settings } = config.migrations;
    const schema = new Schema("schema", {
        databaseUrl,
        migrationsDir: dir,
        migrations,
        settings: { ...settings, ...(baseline ? { baseline } : {}) },
        appliedBy: `${config.stack}:${process.env.GITHUB_ACTOR ?? os.userInfo().username}`,
    });

    return {
        stage: config.stage,
        databaseUrl,
        schemaVersion: schema.version,
        schemaFingerprint: schema.fingerprint,
        appliedMigrations: schema.applied.apply((a) => a.length),
        schemaDrift: schema.drift,
    };
};
