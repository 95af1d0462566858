/**
 * keel schema status | apply | new | resolve (npm run schema:status, …) — the migration
 * engine against a stack's database (dev unless --stack): its own, the stack
 * output databaseUrl, unless --url names another (scripts/lib/stackDatabase.ts). Settings (directory, history
 * schema, timeouts, lock wait, allowMissing, outOfOrder, baseline) come from the
 * stack's keel:migrations in Pulumi.<stack>.yaml (dev unless --stack), the same
 * as `pulumi up` uses, so the two never disagree about where the history lives;
 * options override them for one run. Exits 0, 1 on a failure, 2 on a usage error.
 *
 *   keel schema status [--stack staging] [--json]
 *   keel schema apply
 *   keel schema new add_orders
 *   keel schema resolve 20240101120000 --applied|--rolled-back
 */
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../components/errors";
import { describeTarget } from "../components/postgres/connection";
import {
    MAX_VERSION,
    MIGRATION_FILE_PATTERN,
    MigrationSource,
    parseMigration,
    problemReport,
    readMigrationDir,
} from "../components/schema/migrationSet";
import type { HistoryRow } from "../components/schema/plan";
import { applyMigrations, assertRunnable, inspectSchema, resolveMigration } from "../components/schema/runner";
import { databaseUrl, SchemaDatabaseOptions, SchemaSettingsOptions, settingsFor } from "./lib/migrationSettings";
import { UsageError } from "./lib/usageError";
import { readStackConfig } from "./lib/stackConfig";

/** A schema command's options: the migration settings it may override and the database it connects to. */
export type { SchemaDatabaseOptions, SchemaSettingsOptions };
export type SchemaOptions = SchemaSettingsOptions & SchemaDatabaseOptions;

export interface SchemaIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
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

/** One migration in schema status's report. */
interface StatusEntry {
    /** `0003_add_orders`: as its file names it, or as the history does when the file is gone. */
    migration: string;
    version: string;
    status: "baseline" | "applied" | "failed" | "running" | "to-baseline" | "pending";
    appliedAt?: string;
    /** What a failed CREATE INDEX CONCURRENTLY left behind, and the statement that removes each. */
    invalidIndexes?: { index: string; table: string; drop: string }[];
    destructive?: { line: number; what: string }[];
    warnings?: { line: number; what: string }[];
}

export interface SchemaStatusOptions extends SchemaOptions {
    /** Also the schema fingerprint (reads the whole catalog). */
    fingerprint?: boolean;
    /** The report as one JSON document; problems go into it (exit 1) instead of an error. */
    json?: boolean;
}

export async function schemaStatus(options: SchemaStatusOptions, io: SchemaIo): Promise<number> {
    const { dir, engine, database } = settingsFor(options, io);
    const url = await databaseUrl(options, io, database);
    const { sources, problems } = readDirectory(io, dir);
    const { plan, state, history, unsettled } = await inspectSchema(url, sources, engine, {
        fingerprint: options.fingerprint === true,
    });
    const byVersion = new Map(sources.map((s) => [s.version, s]));
    const entries: StatusEntry[] = [];
    for (const row of history) {
        const invalidIndexes = unsettled.find((u) => u.version === row.version)?.invalidIndexes ?? [];
        entries.push({
            migration: label(byVersion, row),
            version: row.version,
            status: row.status,
            ...(row.appliedAt ? { appliedAt: String(row.appliedAt) } : {}),
            ...(invalidIndexes.length
                ? { invalidIndexes: invalidIndexes.map((i) => ({ index: i.index, table: i.table, drop: i.drop })) }
                : {}),
        });
    }
    for (const p of plan.baselined) entries.push({ migration: label(byVersion, p), version: p.version, status: "to-baseline" });
    // Pending files are parsed (a syntax error there is worth knowing now); applied ones are checksummed.
    for (const p of plan.pending) {
        let parsed: Awaited<ReturnType<typeof parseMigration>> | undefined;
        try {
            parsed = await parseMigration(p);
        } catch (err) {
            if (!(err instanceof MigrationFileError)) throw err;
            problems.push(err.message);
        }
        entries.push({
            migration: label(byVersion, p),
            version: p.version,
            status: "pending",
            destructive: parsed?.destructive ?? [],
            warnings: parsed?.warnings ?? [],
        });
    }
    const failed = history.filter((r: HistoryRow) => r.status === "failed" || r.status === "running").length;
    // Every problem at once: the directory's, the files', and the history's.
    const all = [...problems, ...plan.problems];
    if (options.json) {
        const report = {
            database: describeTarget(url),
            history: `${engine.historySchema}.keel_schema_history`,
            version: state.version ?? null,
            ...(state.fingerprint ? { fingerprint: state.fingerprint.hash } : {}),
            applied: plan.applied.length,
            failedOrRunning: failed,
            pending: plan.pending.length,
            migrations: entries,
            problems: all.length ? [problemReport(dir, all).message] : unrunnable(plan),
        };
        io.out(JSON.stringify(report, null, 2));
        return report.problems.length ? 1 : 0;
    }
    const fingerprint = state.fingerprint ? `, fingerprint ${state.fingerprint.hash}` : "";
    io.out(
        `database ${describeTarget(url)}: schema version ${state.version ?? "(none)"}${fingerprint} (history in ${engine.historySchema}.keel_schema_history)`,
    );
    const facts = (what: string, list: { line: number; what: string }[]) =>
        list.length ? `  ${what}: ${list.map((x) => `line ${x.line} ${x.what}`).join("; ")}` : "";
    const shown = { baseline: "baseline", applied: "applied ", failed: "FAILED  ", running: "RUNNING " } as const;
    for (const e of entries) {
        if (e.status === "to-baseline") io.out(`  baseline ${e.migration}  (will be recorded, not run)`);
        else if (e.status === "pending")
            io.out(`  pending  ${e.migration}${facts("destructive", e.destructive ?? [])}${facts("warning", e.warnings ?? [])}`);
        else {
            io.out(`  ${shown[e.status]} ${e.migration}  ${e.appliedAt ?? ""}`.trimEnd());
            for (const i of e.invalidIndexes ?? []) io.out(`             invalid index ${i.index} on ${i.table}: ${i.drop}`);
        }
    }
    io.out(`${plan.applied.length} applied, ${failed ? `${failed} failed or running, ` : ""}${plan.pending.length} pending`);
    if (all.length) throw problemReport(dir, all);
    assertRunnable(plan);
    return 0;
}

/** Why the plan cannot run (assertRunnable's error), as the JSON report lists problems. */
function unrunnable(plan: Parameters<typeof assertRunnable>[0]): string[] {
    try {
        assertRunnable(plan);
        return [];
    } catch (err) {
        if (err instanceof Error) return [err.message];
        throw err;
    }
}

export async function schemaApply(options: SchemaOptions, io: SchemaIo): Promise<number> {
    const { dir, engine, database } = settingsFor(options, io);
    const url = await databaseUrl(options, io, database);
    const { sources, problems } = readDirectory(io, dir);
    if (problems.length) throw problemReport(dir, problems);
    // No fingerprint: that is for drift reports (pulumi refresh, status --fingerprint), not for applying.
    const result = await applyMigrations(url, sources, engine, io.out, { fingerprint: false });
    io.out(`schema version ${result.version ?? "(none)"}: ${result.ran.length} applied now, ${result.applied.length} in total`);
    return 0;
}

export interface SchemaNewOptions {
    stack: string;
    dir?: string;
    /** The words of the migration's name (joined with _). */
    name: string[];
}

export async function schemaNew(options: SchemaNewOptions, io: SchemaIo): Promise<number> {
    const dir = options.dir ?? readStackConfig(io.root, options.stack, io.env).migrations.dir;
    const name = options.name
        .join("_")
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "_")
        .replace(/^_+|_+$/g, "");
    if (!name) throw new UsageError("schema new needs a name: keel schema new add_orders_table");
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

export interface SchemaResolveOptions extends SchemaOptions {
    version?: string;
    /** Its changes are complete. */
    applied?: boolean;
    /** Its changes were undone. */
    rolledBack?: boolean;
}

export async function schemaResolve(options: SchemaResolveOptions, io: SchemaIo): Promise<number> {
    const { version } = options;
    const applied = options.applied === true;
    const rolledBack = options.rolledBack === true;
    if (!version || !/^\d+$/.test(version) || applied === rolledBack) {
        throw new UsageError("schema resolve needs a version and one of --applied or --rolled-back: keel schema resolve 3 --applied");
    }
    const { dir, engine, database } = settingsFor(options, io);
    const canonical = BigInt(version).toString();
    if (BigInt(canonical) > MAX_VERSION)
        throw new UsageError(`version ${version} is above the largest a migration can have (${MAX_VERSION})`);
    // Recording it as applied stores the file's checksum, so the files must load. Either way the file
    // tells which tables to look at for indexes its CONCURRENTLY statements left INVALID.
    const { sources, problems } = readDirectory(io, dir);
    if (applied && problems.length) throw problemReport(dir, problems);
    const file = sources.find((f) => f.version === canonical);
    const row = await resolveMigration(
        await databaseUrl(options, io, database),
        engine,
        canonical,
        applied ? "applied" : "rolled-back",
        file,
    );
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
