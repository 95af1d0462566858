/**
 * The migration engine's settings, built once from the validated keel:migrations: what
 * the provider records in its inputs (SchemaSettings) and what the runner takes
 * (EngineSettings), so `pulumi up` and the schema commands never read the config two ways.
 * Pure: no Pulumi imports.
 */
import type { MigrationConfig } from "../config";
import { HISTORY_TABLE } from "./historyTable";
import type { EngineSettings } from "./runner";

/** The validated migration settings (keel:migrations) but the directory, which travels apart. */
export type SchemaSettings = Omit<MigrationConfig, "dir">;

/** keel:migrations split into its directory and the settings the schema resource records (no baseline key when none is set). */
export function schemaSettings(migrations: MigrationConfig): { dir: string; settings: SchemaSettings } {
    const { dir, baseline, ...rest } = migrations;
    return { dir, settings: { ...rest, ...(baseline !== undefined ? { baseline } : {}) } };
}

/** The runner's settings for these migration settings; `appliedBy` (stack and user) is recorded in the history. */
export function engineSettings(settings: SchemaSettings, appliedBy: string): EngineSettings {
    return {
        historySchema: settings.historySchema,
        historyTable: HISTORY_TABLE,
        lockTimeout: settings.lockTimeout,
        statementTimeout: settings.statementTimeout,
        lockWaitSeconds: settings.lockWaitSeconds,
        plan: {
            allowMissing: settings.allowMissing,
            outOfOrder: settings.outOfOrder,
            ...(settings.baseline !== undefined ? { baseline: settings.baseline } : {}),
        },
        appliedBy,
    };
}
