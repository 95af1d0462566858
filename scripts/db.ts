/**
 * Backups of a stack's database: pg_dump files for docker and external kinds,
 * snapshot branches (components/backup/neon.ts) for neon:
 *
 *   npm run db:backups -- --stack <s>                           list them: time, schema version, size
 *   npm run db:restore -- --stack <s> --backup <id> [--yes]     restore one (prints the plan, asks first)
 *   npm run db:drill   -- --stack <s>                           backup, restore into a scratch database, compare, clean up
 *
 * Neon stacks need NEON_API_KEY (and NEON_API_URL for a proxy or fake); the
 * project and branch are found by the names in the stack file.
 * For pg_dump, the database URL comes from --url or DATABASE_URL: the stack file holds it
 * encrypted (keel:databaseUrl is a secret) or not at all (docker), e.g.
 * `export DATABASE_URL=$(pulumi stack output databaseUrl --show-secrets --stack <s>)`.
 */
import * as path from "path";
import { executeNeonRestore, listNeonBackups, neonDrill, NeonBackupTarget, planNeonRestore } from "../components/backup/neon";
import { compareDatabases, drill, findDump, formatBytes, formatDrillReport, listDumps, restoreDump } from "../components/backup/pgDump";
import type { BackupRecord } from "../components/backup/types";
import { KeelConfig, NeonDatabaseConfig } from "../components/config";
import { neonClient, resolveNeonCredentials } from "../components/vendors/neon";
import { KeelError } from "../components/errors";
import { describeTarget, unusableUrlReason } from "../components/postgres/connection";
import { findNeonProject, findStackBranch } from "./lib/neonStack";
import { confirmOnTty } from "./lib/prompt";
import { readStackConfig } from "./lib/stackConfig";

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
}

const USAGE = [
    "usage: npm run db:backups -- --stack <stack>",
    "       npm run db:restore -- --stack <stack> --backup <id> [--yes] [--url <postgres-url>]",
    "       npm run db:drill -- --stack <stack> [--url <postgres-url>]",
].join("\n");

interface Args {
    command: string;
    stack?: string;
    backup?: string;
    url?: string;
    yes: boolean;
    unknown: string[];
}

function parseArgs(argv: string[]): Args {
    const [command, ...rest] = argv;
    const args: Args = { command, yes: false, unknown: [] };
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === "--yes") args.yes = true;
        else if (a === "--stack" || a === "--backup" || a === "--url") {
            const v = rest[++i];
            if (v === undefined || v.startsWith("--")) args.unknown.push(`${a} without a value`);
            else args[a.slice(2) as "stack" | "backup" | "url"] = v;
        } else args.unknown.push(a);
    }
    return args;
}

function backupDir(io: DbIo, config: KeelConfig): string {
    return path.resolve(io.root, config.migrations.backupDir);
}

/** The database URL for a command that connects: --url, else DATABASE_URL; never the stack file's (encrypted) one. */
function databaseUrl(args: Args, io: DbIo, config: KeelConfig, command: string): string {
    const url = args.url ?? io.env.DATABASE_URL;
    if (!url) {
        const why =
            config.database.kind === "external" && config.database.source === "config"
                ? `stack '${config.stack}' keeps keel:databaseUrl as a secret, encrypted in Pulumi.${config.stack}.yaml, which this script cannot read`
                : `stack '${config.stack}' runs its database in Docker with a generated password, which lives in the Pulumi state`;
        throw new DbCommandError(
            `db:${command} needs the database's direct URL: ${why}. Pass --url or export DATABASE_URL, for example:\n` +
                `  export DATABASE_URL=$(pulumi stack output databaseUrl --show-secrets --stack ${config.stack})`,
        );
    }
    const reason = unusableUrlReason(url);
    if (reason) throw new DbCommandError(`The database URL for ${describeTarget(url)} ${reason}.`);
    return url;
}

function describeRecord(r: BackupRecord): string {
    const size = r.sizeBytes !== undefined ? formatBytes(r.sizeBytes) : r.lsn ? `LSN ${r.lsn}` : "?";
    return `${r.id}  ${r.takenAt}  schema ${r.schemaVersion || "-"}  before ${r.beforeVersion || "-"}  ${size}${r.sha256 ? `  sha256 ${r.sha256.slice(0, 12)}…` : ""}`;
}

export async function main(argv: string[], io: DbIo): Promise<number> {
    const args = parseArgs(argv);
    if (
        !["backups", "restore", "drill"].includes(args.command) ||
        !args.stack ||
        args.unknown.length ||
        (args.command === "restore" && !args.backup)
    ) {
        io.out(`${USAGE}${args.unknown.length ? `\n(not understood: ${args.unknown.join(" ")})` : ""}`);
        return 2;
    }
    const config = readStackConfig(io.root, args.stack, io.env);
    if (config.database.kind === "neon") return neonCommand(args, io, config, config.database);
    const dir = backupDir(io, config);

    if (args.command === "backups") {
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

    const url = databaseUrl(args, io, config, args.command);
    if (args.command === "restore") {
        const record = findDump(dir, config.stack, args.backup!);
        await restoreDump(url, record, async () => args.yes || (await io.confirm("Go ahead? [y/N] ")), {
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

/** The stack's Neon branch, found by name (the stack file names the project and branch; ids live in the state). */
export async function neonTarget(io: Pick<DbIo, "env" | "out">, config: KeelConfig, c: NeonDatabaseConfig): Promise<NeonBackupTarget> {
    // keel:neonApiKey is encrypted in the stack file: the key comes from NEON_API_KEY here.
    if (!io.env.NEON_API_KEY) {
        throw new DbCommandError(
            `Stack '${config.stack}' is on Neon and this command needs a Neon API key: export NEON_API_KEY=... ` +
                `(a keel:neonApiKey in the stack file is encrypted, which this script cannot read).`,
        );
    }
    const credentials = resolveNeonCredentials({ env: io.env, configApiUrl: io.env.NEON_API_URL });
    const api = neonClient({ apiKey: credentials.apiKey, baseUrl: credentials.baseUrl, onProgress: io.out });
    const projectId = await findNeonProject(api, c);
    const branch = await findStackBranch(api, projectId, c, config.stack);
    return { api, projectId, branchId: branch.id, branchName: branch.name, stack: config.stack, wait: { onProgress: io.out } };
}

/** Neon stacks: backups are snapshot branches (components/backup/neon.ts). */
async function neonCommand(args: Args, io: DbIo, config: KeelConfig, c: NeonDatabaseConfig): Promise<number> {
    const target = await neonTarget(io, config, c);
    const where = `branch '${target.branchName}' (${target.branchId}) of Neon project ${target.projectId}`;
    if (args.command === "backups") {
        const records = await listNeonBackups(target);
        if (!records.length) {
            io.out(`No backups of stack '${config.stack}' (${where}).`);
            return 0;
        }
        io.out(`Backups of stack '${config.stack}' (${where}; snapshot branches, newest first; Neon removes each at its expiry):`);
        for (const r of records) io.out(`  ${describeRecord(r)}${r.expiresAt ? `  expires ${r.expiresAt}` : ""}`);
        return 0;
    }
    if (args.command === "restore") {
        const plan = await planNeonRestore(target, args.backup!);
        io.out(`restore of ${where} will:`);
        for (const l of plan.lines) io.out(`  ${l}`);
        if (!args.yes && !(await io.confirm("Go ahead? [y/N] "))) {
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

if (require.main === module) {
    main(process.argv.slice(2), {
        root: process.cwd(),
        env: process.env,
        out: (l) => process.stdout.write(`${l}\n`),
        confirm: confirmOnTty,
    }).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`error: ${err?.message ?? err}\n`);
            process.exit(1);
        },
    );
}
