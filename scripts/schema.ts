/**
 * schema:status | schema:apply | schema:new | schema:resolve — the migration
 * engine against a stack's database (dev unless --stack): its own, the stack
 * output databaseUrl, unless --url names another (scripts/lib/stackDatabase.ts). Settings (directory, history
 * schema, timeouts, lock wait, allowMissing, outOfOrder, baseline) come from the
 * stack's keel:migrations in Pulumi.<stack>.yaml (dev unless --stack), the same
 * as `pulumi up` uses, so the two never disagree about where the history lives;
 * options override them for one run. Exits 0, 1 on a failure, 2 on a usage error.
 *
 *   npm run schema:status [-- --stack staging]
 *   npm run schema:apply
 *   npm run schema:new -- add_orders
 *   npm run schema:resolve -- 20240101120000 --applied|--rolled-back
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { DatabaseConfig, MigrationConfig } from "../components/config";
import { MigrationFileError } from "../components/errors";
import { describeTarget } from "../components/postgres/connection";
import {
    isPgDuration,
    MIGRATION_FILE_PATTERN,
    MigrationSource,
    parseMigration,
    problemReport,
    readMigrationDir,
} from "../components/schema/migrationSet";
import type { HistoryRow } from "../components/schema/plan";
import { applyMigrations, assertRunnable, EngineSettings, inspectSchema, resolveMigration } from "../components/schema/runner";
import { engineSettings, schemaSettings } from "../components/schema/settings";
import { CommandSpec, OptionSpec, ParsedCommandLine, runSubcommand, UsageError } from "./lib/cli";
import { stackDatabase } from "./lib/stackDatabase";
import { readStackConfig } from "./lib/stackConfig";

/** bigint's largest value: keel_schema_history.version's type. */
const MAX_VERSION = 9223372036854775807n;

const COMMON: OptionSpec[] = [
    { name: "stack", short: "s", value: "<stack>", help: "whose keel:migrations settings apply (default: dev)" },
    {
        name: "url",
        value: "<postgres-url>",
        help: "the database (default: the stack's own, its output databaseUrl; DATABASE_URL for an external stack that reads it); a direct URL, not a pooled one",
    },
    { name: "dir", value: "<path>", help: "the migrations directory, for this run (default: the stack's keel:migrations.dir)" },
    { name: "history-schema", value: "<name>", help: "schema of keel_schema_history, for this run (default: the stack's)" },
];
const RUNNING: OptionSpec[] = [
    { name: "lock-wait", value: "<seconds>", help: "how long to wait for another runner (default: the stack's lockWaitSeconds)" },
    { name: "lock-timeout", value: "<duration>", help: "SET LOCAL lock_timeout per file (default: the stack's)" },
    { name: "statement-timeout", value: "<duration>", help: "SET LOCAL statement_timeout per file (default: the stack's)" },
    { name: "allow-missing", help: "accept applied versions whose files are gone" },
    { name: "out-of-order", help: "run new files older than the newest applied one" },
    { name: "baseline", value: "<version>", help: "record versions up to this one as applied without running them" },
];

export const SPECS: Record<string, CommandSpec> = {
    status: {
        usage: "npm run schema:status -- [options]",
        summary:
            "Lists every migration: applied, failed or running (needs resolving), and pending with its destructive statements. Changes nothing; exits 1 when the files and the history disagree.",
        options: [...COMMON, ...RUNNING, { name: "fingerprint", help: "also print the schema fingerprint (reads the whole catalog)" }],
    },
    apply: {
        usage: "npm run schema:apply -- [options]",
        summary: "Applies the pending migrations, one transaction per file (keel:no-transaction files statement by statement).",
        options: [...COMMON, ...RUNNING],
    },
    new: {
        usage: "npm run schema:new -- <name> [options]",
        summary: "Creates <dir>/<version>_<name>.sql: the next sequence number when the directory counts, else a UTC timestamp.",
        options: [COMMON[0], COMMON[2]],
        maxPositionals: 20,
    },
    resolve: {
        usage: "npm run schema:resolve -- <version> --applied|--rolled-back [options]",
        summary:
            "Settles a keel:no-transaction migration recorded as failed or running: --applied when its changes are complete " +
            "(the file's checksum is recorded), --rolled-back once you have undone them (its row is removed; it runs again).",
        options: [
            ...COMMON,
            { name: "applied", help: "its changes are complete" },
            { name: "rolled-back", help: "its changes were undone" },
        ],
        maxPositionals: 1,
    },
};

export interface SchemaIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
}

/** The stack's migration settings with this run's options on top (and its database config, for the URL). */
export function settingsFor(args: ParsedCommandLine, io: SchemaIo): { dir: string; engine: EngineSettings; database: DatabaseConfig } {
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
export async function databaseUrl(args: ParsedCommandLine, io: SchemaIo, database: DatabaseConfig): Promise<string> {
    const stack = (args.options.stack as string | undefined) ?? "dev";
    const url = args.options.url as string | undefined;
    return (await stackDatabase({ root: io.root, stack, env: io.env, database, say: io.out, ...(url !== undefined ? { url } : {}) })).url;
}

/** The directory's migrations; every problem with it (names, versions, directives) at once. */
function readDirectory(io: SchemaIo, dir: string): { sources: MigrationSource[]; problems: string[] } {
    return readMigrationDir(path.resolve(io.root, dir), dir);
}

/** `0003_add_orders`: a migration as its file names it, or as the history does when the file is gone. */
function label(files: Map<string, MigrationSource>, row: { version: string; name: string }): string {
    const f = files.get(row.version);
    return f ? f.file.replace(/\.sql$/, "") : `${row.version}_${row.name}`;
}

async function status(args: ParsedCommandLine, io: SchemaIo): Promise<number> {
    const { dir, engine, database } = settingsFor(args, io);
    const url = await databaseUrl(args, io, database);
    const { sources, problems } = readDirectory(io, dir);
    const { plan, state, history, unsettled } = await inspectSchema(url, sources, engine, {
        fingerprint: args.options.fingerprint === true,
    });
    const byVersion = new Map(sources.map((s) => [s.version, s]));
    const fingerprint = state.fingerprint ? `, fingerprint ${state.fingerprint.hash}` : "";
    io.out(
        `database ${describeTarget(url)}: schema version ${state.version ?? "(none)"}${fingerprint} (history in ${engine.historySchema}.keel_schema_history)`,
    );
    for (const row of history) {
        const what =
            row.status === "baseline"
                ? "baseline"
                : row.status === "applied"
                  ? "applied "
                  : row.status === "failed"
                    ? "FAILED  "
                    : "RUNNING ";
        io.out(`  ${what} ${label(byVersion, row)}  ${row.appliedAt ?? ""}`.trimEnd());
        // What a failed CREATE INDEX CONCURRENTLY left behind, and the statement that removes it.
        for (const i of unsettled.find((u) => u.version === row.version)?.invalidIndexes ?? []) {
            io.out(`             invalid index ${i.index} on ${i.table}: ${i.drop}`);
        }
    }
    for (const p of plan.baselined) io.out(`  baseline ${label(byVersion, p)}  (will be recorded, not run)`);
    // Pending files are parsed (a syntax error there is worth knowing now); applied ones are checksummed.
    const facts = (what: string, list: { line: number; what: string }[]) =>
        list.length ? `  ${what}: ${list.map((x) => `line ${x.line} ${x.what}`).join("; ")}` : "";
    for (const p of plan.pending) {
        let parsed: Awaited<ReturnType<typeof parseMigration>> | undefined;
        try {
            parsed = await parseMigration(p);
        } catch (err) {
            if (!(err instanceof MigrationFileError)) throw err;
            problems.push(err.message);
        }
        io.out(
            `  pending  ${label(byVersion, p)}${facts("destructive", parsed?.destructive ?? [])}${facts("warning", parsed?.warnings ?? [])}`,
        );
    }
    const failed = history.filter((r: HistoryRow) => r.status === "failed" || r.status === "running").length;
    io.out(`${plan.applied.length} applied, ${failed ? `${failed} failed or running, ` : ""}${plan.pending.length} pending`);
    // Every problem at once: the directory's, the files', and the history's.
    const all = [...problems, ...plan.problems];
    if (all.length) throw problemReport(dir, all);
    assertRunnable(plan);
    return 0;
}

async function apply(args: ParsedCommandLine, io: SchemaIo): Promise<number> {
    const { dir, engine, database } = settingsFor(args, io);
    const url = await databaseUrl(args, io, database);
    const { sources, problems } = readDirectory(io, dir);
    if (problems.length) throw problemReport(dir, problems);
    // No fingerprint: that is for drift reports (pulumi refresh, status --fingerprint), not for applying.
    const result = await applyMigrations(url, sources, engine, io.out, { fingerprint: false });
    io.out(`schema version ${result.version ?? "(none)"}: ${result.ran.length} applied now, ${result.applied.length} in total`);
    return 0;
}

async function create(args: ParsedCommandLine, io: SchemaIo): Promise<number> {
    const stack = (args.options.stack as string | undefined) ?? "dev";
    const dir = (args.options.dir as string | undefined) ?? readStackConfig(io.root, stack, io.env).migrations.dir;
    const name = args.positionals
        .join("_")
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "_")
        .replace(/^_+|_+$/g, "");
    if (!name) throw new UsageError("schema:new needs a name: npm run schema:new -- add_orders_table");
    const abs = path.resolve(io.root, dir);
    fs.mkdirSync(abs, { recursive: true });
    const file = `${nextVersion(fs.readdirSync(abs))}_${name}.sql`;
    fs.writeFileSync(
        path.join(abs, file),
        `-- ${name}\n-- Runs in one transaction with its history row. Directives go on their own line at the top, for example\n-- '-- keel:lock-timeout 10s'; known: keel:no-transaction, keel:lock-timeout, keel:statement-timeout, keel:allow-destructive.\n\n`,
        { flag: "wx" },
    );
    io.out(path.join(dir, file));
    return 0;
}

async function resolve(args: ParsedCommandLine, io: SchemaIo): Promise<number> {
    const [version] = args.positionals;
    const applied = args.options.applied === true;
    const rolledBack = args.options["rolled-back"] === true;
    if (!version || !/^\d+$/.test(version) || applied === rolledBack) {
        throw new UsageError("schema:resolve needs a version and one of --applied or --rolled-back: npm run schema:resolve -- 3 --applied");
    }
    const { dir, engine, database } = settingsFor(args, io);
    const canonical = BigInt(version).toString();
    if (BigInt(canonical) > MAX_VERSION)
        throw new UsageError(`version ${version} is above the largest a migration can have (${MAX_VERSION})`);
    // Recording it as applied stores the file's checksum, so the files must load. Either way the file
    // tells which tables to look at for indexes its CONCURRENTLY statements left INVALID.
    const { sources, problems } = readDirectory(io, dir);
    if (applied && problems.length) throw problemReport(dir, problems);
    const file = sources.find((f) => f.version === canonical);
    const row = await resolveMigration(await databaseUrl(args, io, database), engine, canonical, applied ? "applied" : "rolled-back", file);
    io.out(
        applied
            ? `version ${canonical} (${row.name}) recorded as applied`
            : `version ${canonical} (${row.name}) removed from the history; it will run again`,
    );
    return 0;
}

/** The next version: the next integer when the directory uses small sequence numbers, else a UTC timestamp. */
export function nextVersion(existing: string[], now = new Date()): string {
    const versions = existing.map((f) => MIGRATION_FILE_PATTERN.exec(f)?.[1]).filter((v): v is string => !!v);
    const timestamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    if (versions.length && versions.every((v) => v.length < 9)) {
        const width = Math.max(...versions.map((v) => v.length));
        const next = versions.map((v) => BigInt(v)).reduce((a, b) => (a > b ? a : b)) + 1n;
        return next.toString().padStart(width, "0");
    }
    const newest = versions.map((v) => BigInt(v)).reduce((a, b) => (a > b ? a : b), 0n);
    return BigInt(timestamp) > newest ? timestamp : (newest + 1n).toString();
}

const COMMANDS: Record<string, (args: ParsedCommandLine, io: SchemaIo) => Promise<number>> = { status, apply, new: create, resolve };

if (require.main === module) {
    runSubcommand(SPECS, (command, args) =>
        COMMANDS[command](args, { root: process.cwd(), env: process.env, out: (l) => process.stdout.write(`${l}\n`) }),
    );
}
