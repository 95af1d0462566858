/**
 * Schema: the database schema as part of the stack. Wraps the SchemaMigrations
 * dynamic resource; the migration files are loaded and checked before anything
 * is declared (see loadMigrations), so a bad file fails preview early.
 */
import * as pulumi from "@pulumi/pulumi";
import { dataGuardFor } from "../dataGuard";
import type { BackupRecord } from "../backup/types";
import { AppliedMigration, SchemaMigrations, SchemaSettings } from "./provider";
import type { MigrationSummary } from "./summary";

export interface SchemaArgs {
    /** Direct (not pooled) connection URL; kept secret. */
    databaseUrl: pulumi.Input<string>;
    /** Directory the files were loaded from, relative to the project. */
    migrationsDir: string;
    /** Every migration file's identity and lint facts (loadMigrationSummaries). */
    migrations: MigrationSummary[];
    settings: SchemaSettings;
    /** Recorded in the history table, e.g. `dev:alice`. */
    appliedBy: string;
    /** Names the backup directory `<backupDir>/<stack>/`. */
    stack?: string;
    /** How the backup before migrating is taken (see the provider). */
    databaseKind?: string;
    /** A Neon database's project and branch: backups before migrating are snapshot branches of it. */
    neon?: { projectId: pulumi.Input<string>; branchId: pulumi.Input<string>; branchName: string };
    /**
     * `keel:allowDataLoss`: unless it names the schema resource (`schema-migrations`), the resource is
     * `protect`ed, as it records which migrations ran and where the backups are (components/dataGuard.ts).
     */
    allowDataLoss?: readonly string[];
}

export class Schema extends pulumi.ComponentResource {
    /** Newest applied version. */
    readonly version: pulumi.Output<string>;
    readonly fingerprint: pulumi.Output<string>;
    readonly applied: pulumi.Output<AppliedMigration[]>;
    /** What `pulumi refresh` found changed outside Keel. */
    readonly drift: pulumi.Output<string[]>;
    /** Lint facts per file, including destructive statements, for policies. */
    readonly migrations: pulumi.Output<MigrationSummary[]>;
    /** The newest backup taken before migrating: id, time, the schema version it holds, where it is. */
    readonly latestBackup: pulumi.Output<BackupRecord | undefined>;
    readonly resource: SchemaMigrations;

    constructor(name: string, args: SchemaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:schema:Schema", name, {}, opts);
        this.resource = new SchemaMigrations(
            `${name}-migrations`,
            {
                databaseUrl: args.databaseUrl,
                migrationsDir: args.migrationsDir,
                migrations: args.migrations,
                settings: args.settings,
                appliedBy: args.appliedBy,
                ...(args.stack ? { stack: args.stack } : {}),
                ...(args.databaseKind ? { databaseKind: args.databaseKind } : {}),
                ...(args.neon ? { neon: args.neon } : {}),
            },
            { parent: this, protect: !dataGuardFor(`${name}-migrations`, args.allowDataLoss ?? []).allowed },
        );
        this.version = this.resource.version;
        this.fingerprint = this.resource.fingerprint;
        this.applied = this.resource.applied;
        this.drift = this.resource.drift;
        this.migrations = this.resource.migrations;
        this.latestBackup = this.resource.latestBackup;
        this.registerOutputs({ version: this.version, fingerprint: this.fingerprint, drift: this.drift, latestBackup: this.latestBackup });
    }
}

export { loadMigrations } from "./migrationSet";
export { loadMigrationSummaries, summarizeMigration } from "./summary";
export type { MigrationSummary } from "./summary";
export type { SchemaSettings } from "./provider";
