/**
 * Backups of a stack's database: pg_dump files for docker, external and local
 * kinds, snapshot branches (components/backup/neon.ts) for neon:
 *
 *   keel db backups [--stack <s>] [--json]              list them: time, schema version, size
 *   keel db backup  [--stack <s>]                       take one now (as pulumi up does before migrating), apply retention
 *   keel db restore [--stack <s>] --backup <id> [--yes] restore one (prints the plan, asks first)
 *   keel db drill   [--stack <s>] [--yes]               backup, restore into a scratch database, compare, clean up;
 *                                                       on Neon also the newest snapshot branch restored and checked
 *
 * The stack is dev unless --stack names another. Neon stacks need NEON_API_KEY
 * (and NEON_API_URL for a proxy or fake); the project and branch are found by
 * the names in the stack file. For pg_dump, the database is the stack's own
 * (its output databaseUrl, through the engine) unless --url names another
 * (scripts/lib/stackDatabase.ts).
 *
 * Each part of a drill is timed, printed as its drill line
 * (components/operations/drillLine.ts) and recorded beside the state as a
 * DrillRecord ("restore", and "snapshot" on Neon), passed or failed; a record
 * that cannot be kept is said and never fails the drill.
 */
import * as path from "path";
import {
    executeNeonRestore,
    listNeonBackups,
    neonDrill,
    NeonBackupTarget,
    planNeonRestore,
    takeNeonBackup,
} from "../components/backup/neon";
import {
    appliedSchemaVersion,
    compareDatabases,
    drill,
    findDump,
    formatBytes,
    formatDrillReport,
    listDumps,
    pruneDumps,
    restoreDump,
    takeDump,
} from "../components/backup/pgDump";
import { DatabaseSummary, formatSnapshotCheck, neonSnapshotDrill } from "../components/backup/neonSnapshotDrill";
import { statsOf } from "../components/backup/pgDump/stats";
import type { BackupRecord, DrillReport } from "../components/backup/types";
import { oneLineCause } from "../components/operations/drillLine";
import { KeelConfig, NeonDatabaseConfig } from "../components/config";
import { KeelError } from "../components/errors";
import { describeTarget } from "../components/postgres/connection";
import { DrillResult, endDrillPart } from "./lib/drillRecord";
import { UsageError } from "./lib/usageError";
import { neonTarget } from "./lib/neonStack";
import type { PulumiCli } from "./lib/pulumiCli";
import { readStackConfig } from "./lib/stackConfig";
import { stackDatabase } from "./lib/stackDatabase";

export class DbCommandError extends KeelError {
    constructor(message: string) {
        super(message, "DbCommandError");
    }
}

export interface DbIo {
    /** The project's root (where the stack files are). */
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    /** Asks a yes/no question; false when nobody can answer. */
    confirm(question: string): Promise<boolean>;
    /** Neon drill: compares the backup branch with its restored copy (default: compareDatabases). */
    compare?: typeof compareDatabases;
    /** The engine's CLI, for the stack's outputs (default: the one engine.ts finds). */
    cli?: PulumiCli;
    /** Neon backup: the schema version the branch holds, read through its connection URI (default: appliedSchemaVersion). */
    schemaVersionAt?: (uri: string, historySchema: string) => Promise<string>;
    /** Neon snapshot drill: reads a branch's schema version and row counts through its direct URI (default: inspectDatabase). */
    inspect?: (uri: string, historySchema: string) => Promise<DatabaseSummary>;
    /** Milliseconds, for the drill's times; default the wall clock. */
    now?: () => number;
}

export type DbVerb = "backups" | "backup" | "restore" | "drill";

export interface DbOptions {
    stack: string;
    /** The database's direct URL instead of the stack's own (pg_dump stacks). */
    url?: string;
    /** restore: the backup's id as db backups lists it, or a unique prefix. */
    backup?: string;
    /** restore, and drill on a prod-stage stack: go ahead without asking. */
    yes?: boolean;
    /** backups: the list as one JSON document. */
    json?: boolean;
}

function backupDir(io: DbIo, config: KeelConfig): string {
    return path.resolve(io.root, config.migrations.backupDir);
}

/** The database URL for a command that connects: --url, else the stack's own (scripts/lib/stackDatabase.ts's rule). */
async function databaseUrl(options: DbOptions, io: DbIo, config: KeelConfig): Promise<string> {
    const url = options.url;
    const o = {
        root: io.root,
        stack: config.stack,
        env: io.env,
        database: config.database,
        say: io.out,
        ...(io.cli ? { cli: io.cli } : {}),
    };
    return (await stackDatabase(url !== undefined ? { ...o, url } : o)).url;
}

function describeRecord(r: BackupRecord): string {
    const size = r.sizeBytes !== undefined ? formatBytes(r.sizeBytes) : r.lsn ? `LSN ${r.lsn}` : "?";
    return `${r.id}  ${r.takenAt}  schema ${r.schemaVersion || "-"}  before ${r.beforeVersion || "-"}  ${size}${r.sha256 ? `  sha256 ${r.sha256.slice(0, 12)}…` : ""}`;
}

/** Runs one verb of keel db with its options. */
export async function dbCommand(command: DbVerb, options: DbOptions, io: DbIo): Promise<number> {
    const stack = options.stack;
    if (command === "restore" && !options.backup) throw new UsageError("--backup <id> is required: npm run db:backups lists them");
    const config = readStackConfig(io.root, stack, io.env);
    if (config.database.kind === "neon") return neonCommand(command, options, io, config, config.database);
    const dir = backupDir(io, config);

    if (command === "backups") {
        const records = listDumps(dir, config.stack);
        if (options.json) {
            io.out(
                JSON.stringify(
                    { stack: config.stack, kind: config.database.kind, where: path.join(dir, config.stack), backups: records },
                    null,
                    2,
                ),
            );
            return 0;
        }
        if (!records.length) {
            io.out(`No backups of stack '${config.stack}' in ${path.join(dir, config.stack)}.`);
            return 0;
        }
        io.out(
            `Backups of stack '${config.stack}' in ${path.join(dir, config.stack)} (newest first; keeping ${config.migrations.keepBackups}):`,
        );
        for (const r of records) io.out(`  ${describeRecord(r)}`);
        return 0;
    }

    const url = await databaseUrl(options, io, config);
    if (command === "backup") {
        const { historySchema, keepBackups } = config.migrations;
        const schemaVersion = await appliedSchemaVersion(url, historySchema);
        io.out(`backup of stack '${config.stack}' (${describeTarget(url)}, schema version ${schemaVersion || "none"})`);
        // As pulumi up takes one before migrating (components/schema/provider.ts), with nothing pending: "before manual".
        const record = await takeDump(url, {
            dir,
            stack: config.stack,
            beforeVersion: "",
            schemaVersion,
            progress: io.out,
            historySchema,
            env: io.env,
        });
        const removed = pruneDumps(dir, config.stack, keepBackups);
        if (removed.length) io.out(`retention (keep ${keepBackups}): removed ${removed.join(", ")}`);
        io.out(`Backup ${record.id} taken; npm run db:backups -- --stack ${config.stack} lists it.`);
        return 0;
    }
    if (command === "restore") {
        const record = findDump(dir, config.stack, options.backup as string);
        await restoreDump(url, record, async () => options.yes === true || (await io.confirm("Go ahead? [y/N] ")), {
            progress: io.out,
            historySchema: config.migrations.historySchema,
            env: io.env,
        }).then((r) =>
            io.out(
                `Restored ${record.id} into ${describeTarget(url)} (${r.checked.join("; ")}). The previous database is kept as '${r.previous}'.`,
            ),
        );
        return 0;
    }

    await confirmDrill(options, io, config);
    io.out(`drill on stack '${config.stack}' (${describeTarget(url)}): backup, restore into a scratch database, compare, clean up`);
    const part = await drillPart(io, config.stack, "restore", async () => {
        const report = await drill(url, {
            stack: config.stack,
            progress: io.out,
            historySchema: config.migrations.historySchema,
            env: io.env,
        });
        for (const line of formatDrillReport(report)) io.out(line);
        return reportOutcome(report);
    });
    if (part.error) throw part.error;
    return part.passed ? 0 : 1;
}

/** A drill on a prod-stage stack loads its database and makes a copy beside it: asked first, unless --yes. */
async function confirmDrill(options: DbOptions, io: DbIo, config: KeelConfig): Promise<void> {
    if (config.stage !== "prod" || options.yes === true) return;
    const ok = await io.confirm(
        `Drill on the prod-stage stack '${config.stack}'? It reads the whole production database and makes a scratch copy beside it. [y/N] `,
    );
    if (!ok) throw new DbCommandError("The drill was not confirmed; nothing was done. (Pass --yes to confirm in scripts and CI.)");
}

/** Whether a drill report passed, and its first failing finding as the cause. */
function reportOutcome(r: { passed: boolean; findings: string[] }): { passed: boolean; cause?: string } {
    return r.passed ? { passed: true } : { passed: false, cause: r.findings.find((f) => !f.startsWith("note:")) ?? "the check failed" };
}

/**
 * One part of a drill, timed: its line printed and its record kept, whatever happened. An error is
 * returned, not thrown, so the next part still runs; the caller throws it once every part has run.
 */
async function drillPart(
    io: DbIo,
    stack: string,
    drillKind: DrillResult["drill"],
    work: () => Promise<{ passed: boolean; cause?: string }>,
): Promise<{ passed: boolean; error?: unknown }> {
    const now = io.now ?? Date.now;
    const started = now();
    let result: { passed: boolean; cause?: string; error?: unknown };
    try {
        result = await work();
    } catch (error) {
        result = { passed: false, cause: oneLineCause(error), error };
    }
    const ended = now();
    await endDrillPart(
        io,
        {
            stack,
            drill: drillKind,
            outcome: result.passed ? "succeeded" : "failed",
            durationMs: ended - started,
            ...(result.cause ? { cause: result.cause } : {}),
        },
        ended,
    );
    return { passed: result.passed, ...(result.error !== undefined ? { error: result.error } : {}) };
}

/** A database's schema version and row counts, read through its URL (the Neon snapshot drill's default inspect). */
export async function inspectDatabase(uri: string, historySchema: string): Promise<DatabaseSummary> {
    const stats = await statsOf(uri, historySchema, false);
    return {
        schemaVersion: await appliedSchemaVersion(uri, historySchema),
        tables: Object.fromEntries(Object.entries(stats.tables).map(([t, s]) => [t, s.rows])),
    };
}

/** Neon stacks: backups are snapshot branches (components/backup/neon.ts). */
async function neonCommand(command: DbVerb, options: DbOptions, io: DbIo, config: KeelConfig, c: NeonDatabaseConfig): Promise<number> {
    const target = await neonTarget(io, config, c);
    const where = `branch '${target.branchName}' (${target.branchId}) of Neon project ${target.projectId}`;
    if (command === "backups") {
        const records = await listNeonBackups(target);
        if (options.json) {
            io.out(
                JSON.stringify(
                    {
                        stack: config.stack,
                        kind: "neon",
                        where: { projectId: target.projectId, branchId: target.branchId },
                        backups: records,
                    },
                    null,
                    2,
                ),
            );
            return 0;
        }
        if (!records.length) {
            io.out(`No backups of stack '${config.stack}' (${where}).`);
            return 0;
        }
        io.out(`Backups of stack '${config.stack}' (${where}; snapshot branches, newest first; Neon removes each at its expiry):`);
        for (const r of records) io.out(`  ${describeRecord(r)}${r.expiresAt ? `  expires ${r.expiresAt}` : ""}`);
        return 0;
    }
    if (command === "backup") {
        const schemaVersion = await neonSchemaVersion(io, config, c, target);
        io.out(`backup of stack '${config.stack}' (${where}, schema version ${schemaVersion || "unknown"})`);
        // As pulumi up takes one before migrating (components/schema/provider.ts), with nothing pending: "…-manual".
        const record = await takeNeonBackup(target, {
            beforeVersion: "",
            schemaVersion,
            retentionDays: config.migrations.backupRetentionDays,
            progress: io.out,
        });
        io.out(`Backup ${record.id} taken; npm run db:backups -- --stack ${config.stack} lists it.`);
        return 0;
    }
    if (command === "restore") {
        const plan = await planNeonRestore(target, options.backup as string);
        io.out(`restore of ${where} will:`);
        for (const l of plan.lines) io.out(`  ${l}`);
        if (options.yes !== true && !(await io.confirm("Go ahead? [y/N] "))) {
            throw new DbCommandError("The restore was not confirmed; nothing was changed. (Pass --yes to confirm in scripts.)");
        }
        const result = await executeNeonRestore(target, plan, io.out);
        io.out(`Restored. The state before the restore is kept as '${result.preservedName}'. To undo: ${result.undo}`);
        return 0;
    }
    await confirmDrill(options, io, config);
    const historySchema = config.migrations.historySchema;
    io.out(`drill on stack '${config.stack}' (${where}): snapshot, restore into a scratch branch, compare, clean up`);
    const compare = io.compare ?? compareDatabases;
    const restore = await drillPart(io, config.stack, "restore", async () => {
        const report: DrillReport = await neonDrill(target, {
            databaseName: c.databaseName,
            roleName: c.roleName,
            schemaVersion: "",
            compare: (source, copy) => compare(source, copy, historySchema),
            progress: io.out,
        });
        for (const line of formatDrillReport(report)) io.out(line);
        return reportOutcome(report);
    });
    // What a real recovery uses: the newest snapshot branch there already is.
    io.out(`snapshot drill on stack '${config.stack}': the newest snapshot branch restored into a scratch branch, checked, removed`);
    const inspect = io.inspect ?? inspectDatabase;
    const snapshot = await drillPart(io, config.stack, "snapshot", async () => {
        const check = await neonSnapshotDrill(target, {
            databaseName: c.databaseName,
            roleName: c.roleName,
            inspect: (uri) => inspect(uri, historySchema),
            progress: io.out,
        });
        for (const line of formatSnapshotCheck(check)) io.out(line);
        return reportOutcome(check);
    });
    const error = restore.error ?? snapshot.error;
    if (error !== undefined) throw error;
    return restore.passed && snapshot.passed ? 0 : 1;
}

/**
 * The schema version a Neon branch holds, for a backup's record: read through
 * the branch's direct connection URI (which wakes a suspended compute). Best
 * effort: a backup is worth more than its label, so an unreadable version is
 * recorded as unknown ("") and said.
 */
async function neonSchemaVersion(io: DbIo, config: KeelConfig, c: NeonDatabaseConfig, target: NeonBackupTarget): Promise<string> {
    const read = io.schemaVersionAt ?? appliedSchemaVersion;
    try {
        const { data } = await target.api.getConnectionUri({
            projectId: target.projectId,
            branch_id: target.branchId,
            database_name: c.databaseName,
            role_name: c.roleName,
            pooled: false,
        });
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("no answer in 30 s")), 30_000);
        });
        try {
            return await Promise.race([read(data.uri, config.migrations.historySchema), timeout]);
        } finally {
            clearTimeout(timer);
        }
    } catch (err: any) {
        io.out(
            `note: the schema version of '${target.branchName}' could not be read (${err?.message ?? err}); the backup records it as unknown`,
        );
        return "";
    }
}
