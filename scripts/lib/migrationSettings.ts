/**
 * What a command that runs the migration engine works with, shared by the
 * schema:* commands, schema:adopt and dev:reset: the stack's keel:migrations
 * settings with this run's options on top (the same settings `pulumi up`
 * uses, so the two never disagree about where the history lives), and the
 * database (--url, else the stack's own).
 */
import * as os from "os";
import type { DatabaseConfig, MigrationConfig } from "../../components/config";
import { isPgDuration, MAX_VERSION } from "../../components/schema/migrationSet";
import type { EngineSettings } from "../../components/schema/runner";
import { engineSettings, schemaSettings } from "../../components/schema/settings";
import { UsageError } from "./usageError";
import { stackDatabase } from "./stackDatabase";
import { readStackConfig } from "./stackConfig";

export interface MigrationSettingsIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
}

/** This run's migration options, on top of the stack's keel:migrations (the schema commands' flags). */
export interface SchemaSettingsOptions {
    /** Whose keel:migrations settings apply. */
    stack: string;
    dir?: string;
    historySchema?: string;
    /** Seconds to wait for another runner. */
    lockWait?: string;
    lockTimeout?: string;
    statementTimeout?: string;
    allowMissing?: boolean;
    outOfOrder?: boolean;
    /** Record versions up to this one as applied without running them. */
    baseline?: string;
}

/** Which database: --url, else the stack's own. */
export interface SchemaDatabaseOptions {
    stack: string;
    url?: string;
}

/** The stack's migration settings with this run's options on top (and its database config, for the URL). */
export function settingsFor(
    options: SchemaSettingsOptions,
    io: MigrationSettingsIo,
): { dir: string; engine: EngineSettings; database: DatabaseConfig } {
    const config = readStackConfig(io.root, options.stack, io.env);
    const m: MigrationConfig = config.migrations;
    // Checked here: a NaN lock wait never times out, and the timeouts are inlined into SET statements.
    const lockWait = options.lockWait;
    if (lockWait !== undefined && !/^\d+(\.\d+)?$/.test(lockWait))
        throw new UsageError(`--lock-wait needs a number of seconds, not '${lockWait}'`);
    const baseline = options.baseline;
    if (baseline !== undefined && (!/^\d+$/.test(baseline) || BigInt(baseline) > MAX_VERSION)) {
        throw new UsageError(`--baseline needs a migration version (digits, at most ${MAX_VERSION}), not '${baseline}'`);
    }
    for (const [flag, v] of [
        ["lock-timeout", options.lockTimeout],
        ["statement-timeout", options.statementTimeout],
    ]) {
        if (v !== undefined && !isPgDuration(v)) throw new UsageError(`--${flag} needs a duration such as 5s, 250ms or 10min, not '${v}'`);
    }
    // This run's options on top of the stack's settings, then the one translation the provider uses too.
    const { dir, settings } = schemaSettings({
        ...m,
        dir: options.dir ?? m.dir,
        historySchema: options.historySchema ?? m.historySchema,
        lockTimeout: options.lockTimeout ?? m.lockTimeout,
        statementTimeout: options.statementTimeout ?? m.statementTimeout,
        lockWaitSeconds: lockWait !== undefined ? Number(lockWait) : m.lockWaitSeconds,
        allowMissing: options.allowMissing === true || m.allowMissing,
        outOfOrder: options.outOfOrder === true || m.outOfOrder,
        baseline: baseline === undefined ? m.baseline : BigInt(baseline).toString(),
    });
    return { dir, database: config.database, engine: engineSettings(settings, `local:${io.env.USER ?? os.userInfo().username}`) };
}

/** The database: --url, else the stack's own (scripts/lib/stackDatabase.ts's rule). */
export async function databaseUrl(options: SchemaDatabaseOptions, io: MigrationSettingsIo, database: DatabaseConfig): Promise<string> {
    const { stack, url } = options;
    return (await stackDatabase({ root: io.root, stack, env: io.env, database, say: io.out, ...(url !== undefined ? { url } : {}) })).url;
}
