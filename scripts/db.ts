/**
 * Backups of a stack's PostgreSQL (docker or external kinds, pg_dump files):
 *
 *   npm run db:backups -- --stack <s>                           list them: time, schema version, size
 *   npm run db:restore -- --stack <s> --backup <id> [--yes]     restore one (prints the plan, asks first)
 *   npm run db:drill   -- --stack <s>                           backup, restore into a scratch database, compare, clean up
 *
 * The database URL comes from --url or DATABASE_URL: the stack file holds it
 * encrypted (keel:databaseUrl is a secret) or not at all (docker), e.g.
 * `export DATABASE_URL=$(pulumi stack output databaseUrl --show-secrets --stack <s>)`.
 */
import * as path from "path";
import * as readline from "readline";
import { drill, findDump, formatBytes, formatDrillReport, listDumps, restoreDump } from "../components/backup/pgDump";
import type { BackupRecord } from "../components/backup/types";
import { KeelConfig } from "../components/config";
import { KeelError } from "../components/errors";
import { describeTarget, unusableUrlReason } from "../components/schema/connection";
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
    if (!["backups", "restore", "drill"].includes(args.command) || !args.stack || args.unknown.length || (args.command === "restore" && !args.backup)) {
        io.out(`${USAGE}${args.unknown.length ? `\n(not understood: ${args.unknown.join(" ")})` : ""}`);
        return 2;
    }
    const config = readStackConfig(io.root, args.stack, io.env);
    if (config.database.kind === "neon") {
        io.out(
            `Stack '${config.stack}' is on Neon: its backups are snapshot branches, handled by the Neon backup module ` +
                `(components/backup/neon.ts), not by these pg_dump commands, which are not wired to it yet. ` +
                `To use pg_dump against the branch anyway, pass its direct URL with --url and a stack on the external kind.`,
        );
        return 2;
    }
    const dir = backupDir(io, config);

    if (args.command === "backups") {
        const records = listDumps(dir, config.stack);
        if (!records.length) {
            io.out(`No backups of stack '${config.stack}' in ${path.join(dir, config.stack)}.`);
            return 0;
        }
        io.out(`Backups of stack '${config.stack}' in ${path.join(dir, config.stack)} (newest first; keeping ${config.migrations.keepBackups}):`);
        for (const r of records) io.out(`  ${describeRecord(r)}`);
        return 0;
    }

    const url = databaseUrl(args, io, config, args.command);
    if (args.command === "restore") {
        const record = findDump(dir, config.stack, args.backup!);
        await restoreDump(url, record, async () => args.yes || (await io.confirm("Go ahead? [y/N] ")), { progress: io.out, historySchema: config.migrations.historySchema, env: io.env }).then(
            (r) => io.out(`Restored ${record.id} into ${describeTarget(url)} (${r.checked.join("; ")}). The previous database is kept as '${r.previous}'.`),
        );
        return 0;
    }

    io.out(`drill on stack '${config.stack}' (${describeTarget(url)}): backup, restore into a scratch database, compare, clean up`);
    const report = await drill(url, { stack: config.stack, progress: io.out, historySchema: config.migrations.historySchema, env: io.env });
    for (const line of formatDrillReport(report)) io.out(line);
    return report.passed ? 0 : 1;
}

async function ttyConfirm(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) return false;
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

if (require.main === module) {
    main(process.argv.slice(2), { root: process.cwd(), env: process.env, out: (l) => process.stdout.write(`${l}\n`), confirm: ttyConfirm }).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`error: ${err?.message ?? err}\n`);
            process.exit(1);
        },
    );
}
