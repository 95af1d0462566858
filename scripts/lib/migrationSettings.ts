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
import { ParsedCommandLine, UsageError } from "./cli";
import { stackDatabase } from "./stackDatabase";
import { readStackConfig } from "./stackConfig";

export interface MigrationSettingsIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
}

/** The stack's migration settings with this run's options on top (and its database config, for the URL). */
export function settingsFor(
    args: ParsedCommandLine,
    io: MigrationSettingsIo,
): { dir: string; engine: EngineSettings; database: DatabaseConfig } {
    const stack = (args.options.stack as string | undefined) ?? "dev";
    const config = readStackConfig(io.root, stack, io.env);
    const m: MigrationConfig = config.migrations;
    const opt = (k: string) => (typeof args.options[k] === "string" ? (args.options[k] as string) : undefined);
    // Checked here: a NaN lock wait never times out, and the timeouts are inlined into SET statements.
    const lockWait = opt("lock-wait");
    if (lockWait !== undefined && !/^\d+(\.\d+)?$/.test(lockWait))
        throw new UsageError(`--lock-wait needs a number of seconds, not '${lockWait}'`);
    const baseline = opt("baseline");
    if (baseline !== undefined && (!/^\d+$/.test(baseline) || BigInt(baseline) > MAX_VERSION)) {
        throw new UsageError(`--baseline needs a migration version (digits, at most ${MAX_VERSION}), not '${baseline}'`);
    }
    for (const k of ["lock-timeout", "statement-timeout"]) {
        const v = opt(k);
        if (v !== undefined && !isPgDuration(v)) throw new UsageError(`--${k} needs a duration such as 5s, 250ms or 10min, not '${v}'`);
    }
    // This run's options on top of the stack's settings, then the one translation the provider uses too.
    const { dir, settings } = schemaSettings({
        ...m,
        dir: opt("dir") ?? m.dir,
        historySchema: opt("history-schema") ?? m.historySchema,
        lockTimeout: opt("lock-timeout") ?? m.lockTimeout,
        statementTimeout: opt("statement-timeout") ?? m.statementTimeout,
        lockWaitSeconds: lockWait !== undefined ? Number(lockWait) : m.lockWaitSeconds,
        allowMissing: args.options["allow-missing"] === true || m.allowMissing,
        outOfOrder: args.options["out-of-order"] === true || m.outOfOrder,
        baseline: baseline === undefined ? m.baseline : BigInt(baseline).toString(),
    });
    return { dir, database: config.database, engine: engineSettings(settings, `local:${io.env.USER ?? os.userInfo().username}`) };
}

/** The database: --url, else the stack's own (scripts/lib/stackDatabase.ts's rule). */
export async function databaseUrl(args: ParsedCommandLine, io: MigrationSettingsIo, database: DatabaseConfig): Promise<string> {
    const stack = (args.options.stack as string | undefined) ?? "dev";
    const url = args.options.url as string | undefined;
    return (await stackDatabase({ root: io.root, stack, env: io.env, database, say: io.out, ...(url !== undefined ? { url } : {}) })).url;
}
