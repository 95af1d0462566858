/**
 * Backups of a stack's database: pg_dump files for docker, external and local
 * kinds, snapshot branches (components/backup/neon.ts) for neon:
 *
 *   npm run db:backups [-- --stack <s>]                         list them: time, schema version, size
 *   npm run db:backup  [-- --stack <s>]                         take one now (as pulumi up does before migrating), apply retention
 *   npm run db:restore -- [--stack <s>] --backup <id> [--yes]   restore one (prints the plan, asks first)
 *   npm run db:drill   [-- --stack <s>]                         backup, restore into a scratch database, compare, clean up
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
import { CommandSpec, ParsedCommandLine, runCommandLine, runSubcommand, UsageError, usageText } from "./lib/cli";
import { neonTarget } from "./lib/neonStack";
import { confirmOnTty } from "./lib/prompt";
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
    /** Where usage errors go (default: out). */
    err?(line: string): void;
    /** Asks a yes/no question; false when nobody can answer. */
    confirm(question: string): Promise<boolean>;
    /** Neon drill: compares the backup branch with its restored copy (default: compareDatabases). */
    compare?: typeof compareDatabases;
    /** The engine's CLI, for the stack's outputs (default: the one engine.ts finds). */
    cli?: PulumiCli;
    /** Neon backup: the schema version the branch holds, read through its connection URI (default: appliedSchemaVersion). */
    schemaVersionAt?: (uri: string, historySchema: string) => Promise<string>;
}

const STACK = { name: "stack", short: "s", value: "<stack>", help: "the stack (default: dev)" };
const URL_OPTION = {
    name: "url",
    value: "<postgres-url>",
    help: "the database's direct URL (default: the stack's own, its output databaseUrl; pg_dump stacks)",
};

export const SPECS: Record<string, CommandSpec> = {
    backups: {
        usage: "npm run db:backups -- [--stack <stack>]",
        summary: "Lists the stack's backups, newest first: time, schema version, the version each was taken before, size or LSN.",
        options: [STACK],
    },
    backup: {
        usage: "npm run db:backup -- [--stack <stack>] [--url <postgres-url>]",
        summary:
            "Takes a backup now, as pulumi up does before migrating: pg_dump (docker, external, local) with its record and the stack's " +
            "retention (keel:migrations.keepBackups), or a Neon snapshot branch (expiring after keel:migrations.backupRetentionDays).",
        options: [STACK, URL_OPTION],
    },
    restore: {
        usage: "npm run db:restore -- [--stack <stack>] --backup <id> [--yes] [--url <postgres-url>]",
        summary:
            "Restores a backup over the stack's database: prints the plan and asks first; the previous state is kept " +
            "(a database or a branch) with the way back.",
        options: [
            STACK,
            { name: "backup", short: "b", value: "<id>", help: "the backup: its id as db:backups lists it, or a unique prefix (required)" },
            { name: "yes", short: "y", help: "go ahead without asking (needed without a terminal)" },
            URL_OPTION,
        ],
    },
    drill: {
        usage: "npm run db:drill -- [--stack <stack>] [--url <postgres-url>]",
        summary:
            "Takes a backup, restores it into a scratch database (or branch), compares schema, rows and data with the source, " +
            "prints a pass/fail report (exit 1 on a failure) and removes the scratch copy.",
        options: [STACK, URL_OPTION],
    },
};

function backupDir(io: DbIo, config: KeelConfig): string {
    return path.resolve(io.root, config.migrations.backupDir);
}

/** The database URL for a command that connects: --url, else the stack's own (scripts/lib/stackDatabase.ts's rule). */
async function databaseUrl(args: ParsedCommandLine, io: DbIo, config: KeelConfig): Promise<string> {
    const url = args.options.url as string | undefined;
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

/**
 * One command line of the db script (`backups --stack prod`, as the npm scripts
 * pass it): 0 after --help, 2 on a usage error (with the usage, on io.err),
 * else the command's exit code. Other errors are thrown.
 */
export async function main(argv: string[], io: DbIo): Promise<number> {
    const [command, ...rest] = argv;
    const err = (text: string) => (io.err ?? io.out)(text.replace(/\n$/, ""));
    const spec = Object.prototype.hasOwnProperty.call(SPECS, command) ? SPECS[command] : undefined;
    if (!spec) {
        err(
            `error: ${command ? `unknown command '${command}'` : "no command given"}\n\n${Object.values(SPECS).map(usageText).join("\n\n")}`,
        );
        return 2;
    }
    return runCommandLine(spec, (args) => dbCommand(command, args, io), rest, { out: (t) => io.out(t.replace(/\n$/, "")), err });
}

/** Runs one command with its parsed options. */
export async function dbCommand(command: string, args: ParsedCommandLine, io: DbIo): Promise<number> {
    const stack = (args.options.stack as string | undefined) ?? "dev";
    if (command === "restore" && !args.options.backup) throw new UsageError("--backup <id> is required: npm run db:backups lists them");
    const config = readStackConfig(io.root, stack, io.env);
    if (config.database.kind === "neon") return neonCommand(command, args, io, config, config.database);
    const dir = backupDir(io, config);

    if (command === "backups") {
        const records = listDumps(dir, config.stack);
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

    const url = await databaseUrl(args, io, config);
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
        const record = findDump(dir, config.stack, args.options.backup as string);
        await restoreDump(url, record, async () => args.options.yes === true || (await io.confirm("Go ahead? [y/N] ")), {
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
async function neonCommand(command: string, args: ParsedCommandLine, io: DbIo, config: KeelConfig, c: NeonDatabaseConfig): Promise<number> {
    const target = await neonTarget(io, config, c);
    const where = `branch '${target.branchName}' (${target.branchId}) of Neon project ${target.projectId}`;
    if (command === "backups") {
        const records = await listNeonBackups(target);
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
        const plan = await planNeonRestore(target, args.options.backup as string);
        io.out(`restore of ${where} will:`);
        for (const l of plan.lines) io.out(`  ${l}`);
        if (args.options.yes !== true && !(await io.confirm("Go ahead? [y/N] "))) {
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

if (require.main === module) {
    runSubcommand(SPECS, (command, args) =>
        dbCommand(command, args, {
            root: process.cwd(),
            env: process.env,
            out: (l) => void process.stdout.write(`${l}\n`),
            confirm: confirmOnTty,
        }),
    );
}
