/**
 * Backups of a stack's database: pg_dump files for docker, external and local
 * kinds, snapshot branches (components/backup/neon.ts) for neon:
 *
 *   keel db backups [--stack <s>] [--json]              list them: time, schema version, size
 *   keel db backup  [--stack <s>]                       take one now (as pulumi up does before migrating), apply retention
 *   keel db restore [--stack <s>] --backup <id> [--yes] restore one (prints the plan, asks first)
 *   keel db drill   [--stack <s>]                       backup, restore into a scratch database, compare, clean up
 *
 * The stack is dev unless --stack names another. Neon stacks need NEON_API_KEY
 * (and NEON_API_URL for a proxy or fake); the project and branch are found by
 * the names in the stack file. For pg_dump, the database is the stack's own
 * (its output databaseUrl, through the engine) unless --url names another
 * (scripts/lib/stackDatabase.ts).
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
import type { BackupRecord } from "../components/backup/types";
import { KeelConfig, NeonDatabaseConfig } from "../components/config";
import { KeelError } from "../components/errors";
import { describeTarget } from "../components/postgres/connection";
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
}

export type DbVerb = "backups" | "backup" | "restore" | "drill";

export interface DbOptions {
    stack: string;
    /** The database's direct URL instead of the stack's own (pg_dump stacks). */
    url?: string;
    /** restore: the backup's id as db backups lists it, or a unique prefix. */
    backup?: string;
    /** restore: go ahead without asking. */
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

    io.out(`drill on stack '${config.stack}' (${describeTarget(url)}): backup, restore into a scratch database, compare, clean up`);
    const report = await drill(url, { stack: config.stack, progress: io.out, historySchema: config.migrations.historySchema, env: io.env });
    for (const line of formatDrillReport(report)) io.out(line);
    return report.passed ? 0 : 1;
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
    io.out(`drill on stack '${config.stack}' (${where}): snapshot, restore into a scratch branch, compare, clean up`);
    const compare = io.compare ?? compareDatabases;
    const report = await neonDrill(target, {
        databaseName: c.databaseName,
        roleName: c.roleName,
        schemaVersion: "",
        compare: (source, copy) => compare(source, copy, config.migrations.historySchema),
        progress: io.out,
    });
    for (const line of formatDrillReport(report)) io.out(line);
    return report.passed ? 0 : 1;
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
