/**
 * SchemaMigrations: the database schema as a Pulumi resource, through a
 * dynamic provider. `check` plans against the database so that `pulumi preview`
 * lists the pending migrations, `create`/`update` apply them, `read` reports
 * drift for `pulumi refresh`, `delete` leaves the schema alone.
 *
 * The database URL comes from the inputs (a secret), never from module state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { DatabaseConnectionError, MigrationHistoryError } from "../errors";
import { describeTarget } from "../postgres/connection";
import { describeSchemaDrift, packCatalog, unpackCatalog } from "../postgres/fingerprint";
import { compareVersions, MigrationSource, scanMigrations } from "./migrationSet";
import type { MigrationSummary } from "./summary";
import { HistoryRow, MigrationPlan } from "./plan";
import { applyMigrations, EngineSettings, inspectSchema, SchemaState } from "./runner";
import { engineSettings as settingsToEngine, SchemaSettings } from "./settings";
import { neonBackupTarget, takeNeonBackup } from "../backup/neon";
import { BackupError, pruneDumps, takeDump } from "../backup/pgDump";
import { resolveStatePath } from "../stateRoot";
import type { BackupRecord } from "../backup/types";
import { dynamicType, isUnknown, KeelDynamicResource, providerContext, StateShape, versioned } from "../providerContext";

export type { SchemaSettings } from "./settings";

export type { MigrationSummary } from "./summary";
export { summarizeMigration } from "./summary";

export interface SchemaMigrationsInputs {
    databaseUrl: string;
    /** Migrations directory, relative to the project (or absolute). */
    migrationsDir: string;
    migrations: MigrationSummary[];
    settings: SchemaSettings;
    /** Stack and user, recorded in the history. */
    appliedBy: string;
    /** Filled in by `check`: `<version>_<name>: <what it does>` of every migration the database lacks (pendingKey: the id). */
    pending?: string[];
    /** Filled in by `check` with `pending`: the database's clock when the plan was made. */
    plannedAt?: string;
    /** The stack, naming the backup directory `<backupDir>/<stack>/` (default: appliedBy up to its ':'). */
    stack?: string;
    /** `local`, `docker`, `external` or `neon`: how the backup before migrating is taken (and what a refused connection means). */
    databaseKind?: string;
    /** For a Neon database: where the snapshot branch before migrating is made. */
    neon?: { projectId: string; branchId: string; branchName: string };
}

export interface AppliedMigration {
    version: string;
    name: string;
    checksum: string;
    status: string;
    appliedAt?: string;
}

export interface SchemaMigrationsOutputs extends SchemaMigrationsInputs {
    applied: AppliedMigration[];
    /** The newest applied version. */
    version: string;
    /** sha256 of the schema catalog after the last apply (or refresh). */
    fingerprint: string;
    /**
     * The object -> definition map the last apply recorded, packed (packCatalog): what the migrations made,
     * which drift is measured from. A refresh leaves it as it is, so the drift it finds stays drift (in the
     * schemaDrift output and in npm run drift alike) until a deploy's apply records the schema again or the
     * change is undone by hand.
     */
    catalog: string;
    /** The history the last apply recorded, which history drift is measured from (absent in state from before it: `applied`). */
    historyBaseline?: AppliedMigration[];
    historyDigest: string;
    /** What `pulumi refresh` found changed outside Keel; empty when nothing. */
    drift: string[];
    /** The newest backup taken before migrating (kept from the previous deploy when nothing was pending). */
    latestBackup?: BackupRecord;
}

/**
 * The Neon key for snapshot backups, as configure() reads it from the stack's config in the
 * provider's own process (else NEON_API_KEY when a backup is taken); `keel schema: …` progress lines.
 */
const context = providerContext("schema", { secret: "neonApiKey", url: "neonApiUrl" }, (configApiKey, configApiUrl, env) => ({
    configApiKey,
    configApiUrl,
    env,
}));
const progress = (message: string) => context.log.info(message);
const warn = (message: string) => context.log.warn(message);

function engineSettings(inputs: SchemaMigrationsInputs): EngineSettings {
    return settingsToEngine(inputs.settings, inputs.appliedBy);
}

function resolveDir(dir: string): string {
    return path.isAbsolute(dir) ? dir : path.resolve(process.cwd(), dir);
}

function isKnownUrl(url: unknown): url is string {
    return typeof url === "string" && !isUnknown(url) && /^postgres(ql)?:\/\//.test(url);
}

/**
 * A local database (the `local` kind) whose server is stopped: the connection is
 * refused on 127.0.0.1. Its LocalPostgres resource reports that as drift and `up`
 * starts it before the schema is planned, so the schema neither fails a refresh
 * nor a preview over it.
 */
function localServerDown(inputs: { databaseKind?: string }, err: unknown): boolean {
    return inputs.databaseKind === "local" && err instanceof DatabaseConnectionError && /ECONNREFUSED/.test(err.message);
}

/**
 * What a migration does, in one short line for the preview: its first statement
 * with comments and runs of whitespace taken out, cut at `max` characters, and
 * how many statements follow.
 */
export function describeSql(text: string, max = 80): string {
    const code = text
        .replace(/\/\*[\s\S]*?\*\//g, " ")
        .replace(/--[^\n]*/g, " ")
        .replace(/\s+/g, " ")
        .trim();
    const statements = code
        .split(/;\s*/)
        .map((x) => x.trim())
        .filter(Boolean);
    if (!statements.length) return "(no statement)";
    const first = statements[0].length > max ? `${statements[0].slice(0, max - 1)}…` : statements[0];
    return statements.length > 1 ? `${first} (+${statements.length - 1} more statement${statements.length > 2 ? "s" : ""})` : first;
}

/** A `pending` entry's migration id, `<version>_<name>`, without what it does. */
export function pendingKey(entry: string): string {
    return entry.replace(/:[\s\S]*$/, "");
}

function pendingId(f: { version: string; name: string }): string {
    return `${f.version}_${f.name}`;
}

/**
 * What of the plan's `pending` is still to be applied, as `olds` know it. An up
 * diffs its fresh plan against the state, which is older than the plan: all of
 * it. A refresh diffs the refreshed outputs against the inputs of the last up,
 * whose plan that up carried out: what the database now shows applied since
 * the plan was made is no longer pending (else every refresh after a deploy
 * would report the schema as changed). A migration the database lost since
 * (a restore, a reset) stays pending.
 */
export function stillPending(olds: Partial<SchemaMigrationsOutputs>, news: SchemaMigrationsInputs): string[] {
    const pending = news.pending ?? [];
    const planned = news.plannedAt ? Date.parse(news.plannedAt) : NaN;
    if (!pending.length || Number.isNaN(planned)) return pending;
    const appliedSince = new Set(
        (olds.applied ?? [])
            .filter(
                (a) => a.status !== "failed" && a.status !== "running" && a.appliedAt !== undefined && Date.parse(a.appliedAt) >= planned,
            )
            .map(pendingId),
    );
    return pending.filter((p) => !appliedSince.has(pendingKey(p)));
}

/**
 * Loads the files again and checks that they are the ones the program saw
 * (what preview showed is what up applies).
 */
function verifiedFiles(inputs: SchemaMigrationsInputs): MigrationSource[] {
    const files = scanMigrations(resolveDir(inputs.migrationsDir));
    const expected = new Map(inputs.migrations.map((m) => [m.version, m]));
    const problems: string[] = [];
    for (const f of files) {
        const e = expected.get(f.version);
        if (!e) problems.push(`${f.file} appeared after the plan was made`);
        else if (e.checksum !== f.checksum)
            problems.push(`${f.file} changed after the plan was made (planned ${e.checksum}, now ${f.checksum})`);
        expected.delete(f.version);
    }
    for (const e of expected.values()) problems.push(`${e.file} was removed after the plan was made`);
    if (problems.length) {
        throw new MigrationHistoryError(
            `The migration files changed between preview and update; nothing has been run: ${problems.join("; ")}. Run 'pulumi up' again to see the new plan.`,
        );
    }
    return files;
}

function appliedList(rows: HistoryRow[]): AppliedMigration[] {
    return rows.map((r) => ({ version: r.version, name: r.name, checksum: r.checksum, status: r.status, appliedAt: r.appliedAt }));
}

function outputsFrom(inputs: SchemaMigrationsInputs, state: SchemaState, drift: string[]): SchemaMigrationsOutputs {
    return {
        ...inputs,
        pending: [],
        applied: appliedList(state.applied),
        historyBaseline: appliedList(state.applied),
        version: state.version ?? "",
        fingerprint: state.fingerprint!.hash,
        catalog: packCatalog(state.fingerprint!.objects),
        historyDigest: state.historyDigest,
        drift,
    };
}

/**
 * The outputs' shape: 1 keeps the catalog packed (`catalog`); state written
 * before (0) holds the plain object map `schemaObjects`.
 */
export const SCHEMA_STATE: StateShape = {
    version: 1,
    upgrades: {
        0: ({ schemaObjects, ...rest }) => ({
            ...rest,
            ...(schemaObjects && typeof rest.catalog !== "string" ? { catalog: packCatalog(schemaObjects) } : {}),
        }),
    },
};

/** The object map a deploy recorded (none when no deploy has read the catalog yet). */
function recordedCatalog(props: { catalog?: string }): Record<string, string> {
    return typeof props.catalog === "string" && props.catalog ? unpackCatalog(props.catalog) : {};
}

/** What changed in the history table outside Keel, in words. */
export function describeHistoryDrift(before: AppliedMigration[], after: AppliedMigration[]): string[] {
    const lines: string[] = [];
    const now = new Map(after.map((a) => [a.version, a]));
    const then = new Map(before.map((b) => [b.version, b]));
    for (const b of before) {
        const a = now.get(b.version);
        if (!a) lines.push(`- history: version ${b.version} (${b.name}) is no longer recorded as applied`);
        else if (a.checksum !== b.checksum)
            lines.push(`~ history: version ${b.version} (${b.name}) checksum ${b.checksum} -> ${a.checksum}`);
    }
    for (const a of after) {
        if (!then.has(a.version)) lines.push(`+ history: version ${a.version} (${a.name}) recorded as ${a.status} outside this stack`);
    }
    return lines;
}

/** What the outputs keep of a backup record: its identity, not the per-table counts (those stay in the sidecar). */
function outputRecord(r: BackupRecord): BackupRecord {
    const { rowCounts: _counts, ...rest } = r;
    return rest;
}

function stackOf(inputs: SchemaMigrationsInputs): string {
    return inputs.stack || inputs.appliedBy.split(":")[0] || "default";
}

/**
 * No backup, no migration: with `settings.backup` on and migrations pending under
 * the runner's lock, a backup is taken before anything is written; if it fails,
 * the error says why and nothing is applied.
 */
async function backupBeforeMigrating(
    inputs: SchemaMigrationsInputs,
    plan: MigrationPlan<MigrationSource>,
): Promise<BackupRecord | undefined> {
    const s = inputs.settings;
    if (!s.backup || plan.pending.length === 0) return undefined;
    const stack = stackOf(inputs);
    const first = plan.pending[0];
    const schemaVersion = plan.applied.length ? plan.applied[plan.applied.length - 1].version : "";
    // Backups are the stack's data, kept with the checkout's (KEEL_STATE_ROOT during a rollback), not with the code that runs.
    const dir = resolveStatePath(s.backupDir);
    if (inputs.databaseKind === "neon" && inputs.neon) {
        // A snapshot branch of the stack's branch: instant, kept by Neon until its expiry.
        try {
            const target = neonBackupTarget({ ...inputs.neon, stack }, context.client(), progress);
            return await takeNeonBackup(target, {
                beforeVersion: first.version,
                schemaVersion,
                retentionDays: s.backupRetentionDays,
                progress,
            });
        } catch (err: any) {
            throw new BackupError(
                `No backup, no migration: the Neon snapshot of branch '${inputs.neon.branchName}' before ${pendingId(first)} failed, so nothing was applied. ` +
                    `${err?.message ?? err}\nFix the cause and run 'pulumi up' again.`,
            );
        }
    }
    try {
        const record = await takeDump(inputs.databaseUrl, {
            dir,
            stack,
            beforeVersion: first.version,
            schemaVersion,
            progress,
            historySchema: s.historySchema,
        });
        const removed = pruneDumps(dir, stack, s.keepBackups);
        if (removed.length) progress(`retention (keep ${s.keepBackups}): removed ${removed.join(", ")}`);
        return record;
    } catch (err: any) {
        throw new BackupError(
            `No backup, no migration: the backup of ${describeTarget(inputs.databaseUrl)} before ${pendingId(first)} failed, so nothing was applied. ` +
                `${err?.message ?? err}\n` +
                `Fix the cause and run 'pulumi up' again. Deploying without a backup is possible but not recommended outside dev: ` +
                `npm run pulumi -- config set --path keel:migrations.backup false --stack ${stack}`,
        );
    }
}

async function apply(inputs: SchemaMigrationsInputs, olds?: SchemaMigrationsOutputs): Promise<SchemaMigrationsOutputs> {
    const files = verifiedFiles(inputs);
    const started = Date.now();
    let backup: BackupRecord | undefined;
    const result = await applyMigrations(inputs.databaseUrl, files, engineSettings(inputs), progress, {
        fingerprint: true,
        beforeApply: async (plan) => {
            backup = await backupBeforeMigrating(inputs, plan);
        },
    });
    if (result.ran.length)
        progress(`applied ${result.ran.length} migration(s) in ${Date.now() - started} ms; schema version ${result.version}`);
    const latestBackup = backup ? outputRecord(backup) : olds?.latestBackup;
    return { ...outputsFrom(inputs, result, []), ...(latestBackup ? { latestBackup } : {}) };
}

export const schemaMigrationsProvider = versioned<SchemaMigrationsInputs, SchemaMigrationsOutputs>(SCHEMA_STATE, {
    configure: context.configure,

    async check(olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!Array.isArray(news.migrations)) failures.push({ property: "migrations", reason: "expected the list of migration files" });
        if (typeof news.migrationsDir !== "string" || !news.migrationsDir)
            failures.push({ property: "migrationsDir", reason: "expected a directory" });
        if (failures.length) return { inputs: news, failures };
        if (!isKnownUrl(news.databaseUrl)) {
            // The database does not exist yet (or its URL is computed): everything is pending.
            if (isKnownUrl(olds?.databaseUrl)) {
                // A deployed stack whose database resource changes in this update: say why the list is not the real one.
                warn(
                    `the database's URL is known only once up has ${news.databaseKind === "local" ? "started or updated the local server" : "updated the database"}, ` +
                        `so preview cannot read the schema and lists every migration file as pending; up plans against the database itself` +
                        (news.databaseKind === "local" ? ` (to see the real list now: npm run dev:start, then preview)` : ""),
                );
            }
            return { inputs: { ...news, pending: news.migrations.map(pendingId) } };
        }
        // Checksums decide what is pending; the lint facts came with the inputs.
        const files = scanMigrations(resolveDir(news.migrationsDir));
        let inspected: Awaited<ReturnType<typeof inspectSchema>>;
        try {
            inspected = await inspectSchema(news.databaseUrl, files, engineSettings(news), { fingerprint: false });
        } catch (err) {
            if (!localServerDown(news, err)) throw err;
            // A preview over a stopped local server: up starts it first and plans again then.
            warn(
                `the local database ${describeTarget(news.databaseUrl)} is stopped, so the pending migrations are not known yet: ` +
                    `npm run up starts it before it plans them (or start it now: npm run dev:start)`,
            );
            return { inputs: { ...news, pending: news.migrations.map(pendingId) } };
        }
        const { plan, readAt } = inspected;
        if (plan.problems.length) {
            return { inputs: news, failures: plan.problems.map((reason) => ({ property: "migrations", reason })) };
        }
        const summaries = new Map(news.migrations.map((m) => [m.version, m]));
        for (const f of plan.pending) {
            const lint = summaries.get(f.version);
            if (lint && lint.destructive.length && !lint.allowDestructive) {
                warn(
                    `${f.file} is destructive: ${lint.destructive.join("; ")}. ` +
                        `Add '-- keel:allow-destructive' to the file once you have a backup and mean it.`,
                );
            }
            for (const w of lint?.warnings ?? []) warn(`${f.file}: ${w}.`);
        }
        // plannedAt only matters while something is pending: a plan with nothing to do leaves the inputs as they were.
        // Each entry says what the file does: the preview lists the pending versions readably (the files' detail is secret).
        const pending = plan.pending.map((f) => `${pendingId(f)}: ${describeSql(f.text ?? "")}`);
        return { inputs: { ...news, pending, ...(plan.pending.length ? { plannedAt: readAt } : {}) } };
    },

    async diff(_id, olds, news) {
        const pending = stillPending(olds, news);
        const changed =
            pending.length > 0 ||
            olds.databaseUrl !== news.databaseUrl ||
            olds.migrationsDir !== news.migrationsDir ||
            JSON.stringify(olds.settings) !== JSON.stringify(news.settings) ||
            JSON.stringify((olds.migrations ?? []).map((m) => m.checksum)) !== JSON.stringify(news.migrations.map((m) => m.checksum));
        // The schema is never replaced: replacing would mean dropping data.
        return { changes: changed, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        const outs = await apply(inputs);
        return { id: `keel-schema:${describeTarget(inputs.databaseUrl)}:${inputs.settings.historySchema}`, outs };
    },

    async update(_id, olds, news) {
        return { outs: await apply(news, olds as SchemaMigrationsOutputs) };
    },

    async read(id, props) {
        if (!props || !isKnownUrl(props.databaseUrl)) return { id, props };
        let files: MigrationSource[] = [];
        try {
            files = scanMigrations(resolveDir(props.migrationsDir));
        } catch {
            // Drift is about the database; a broken directory is reported by preview, not here.
        }
        let state: SchemaState;
        try {
            ({ state } = await inspectSchema(props.databaseUrl, files, engineSettings(props)));
        } catch (err) {
            if (!localServerDown(props, err)) throw err;
            warn(
                `the schema of ${describeTarget(props.databaseUrl)} was not read: the local database is stopped (npm run dev:start starts it); ` +
                    `keeping what the last deploy recorded`,
            );
            return { id, props };
        }
        const applied = appliedList(state.applied);
        // Measured from what the last apply recorded, not from the previous refresh: a refresh that found drift
        // does not make it the norm (else the next check would call the schema clean while schemaDrift lists it).
        const recorded = recordedCatalog(props);
        const historyBaseline = props.historyBaseline ?? props.applied ?? [];
        const drift = [...describeSchemaDrift(recorded, state.fingerprint!.objects), ...describeHistoryDrift(historyBaseline, applied)];
        if (drift.length) warn(`drift in ${describeTarget(props.databaseUrl)}:\n  ${drift.join("\n  ")}`);
        return {
            id,
            props: {
                ...props,
                applied,
                version: state.version ?? "",
                fingerprint: state.fingerprint!.hash,
                // The first read of a schema no apply recorded (adopted state) takes what it finds as the baseline.
                catalog: Object.keys(recorded).length ? props.catalog : packCatalog(state.fingerprint!.objects),
                historyBaseline,
                historyDigest: state.historyDigest,
                drift,
            },
        };
    },

    async delete(_id, props) {
        progress(
            `leaving the schema and data of ${isKnownUrl(props.databaseUrl) ? describeTarget(props.databaseUrl) : "the database"} untouched: ` +
                `deleting this resource only stops Keel from managing migrations there (keel_schema_history keeps its rows).`,
        );
    },
});

/** Sorts summaries by version; exported for the component. */
export function sortSummaries(list: MigrationSummary[]): MigrationSummary[] {
    return [...list].sort((a, b) => compareVersions(a.version, b.version));
}

export interface SchemaMigrationsArgs {
    databaseUrl: pulumi.Input<string>;
    migrationsDir: pulumi.Input<string>;
    migrations: pulumi.Input<MigrationSummary[]>;
    settings: pulumi.Input<SchemaSettings>;
    appliedBy: pulumi.Input<string>;
    stack?: pulumi.Input<string>;
    databaseKind?: pulumi.Input<string>;
    neon?: pulumi.Input<{ projectId: pulumi.Input<string>; branchId: pulumi.Input<string>; branchName: pulumi.Input<string> }>;
}

export class SchemaMigrations extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("SchemaMigrations");
    declare readonly applied: pulumi.Output<AppliedMigration[]>;
    declare readonly version: pulumi.Output<string>;
    declare readonly fingerprint: pulumi.Output<string>;
    declare readonly drift: pulumi.Output<string[]>;
    declare readonly pending: pulumi.Output<string[]>;
    declare readonly migrations: pulumi.Output<MigrationSummary[]>;
    declare readonly latestBackup: pulumi.Output<BackupRecord | undefined>;

    constructor(name: string, args: SchemaMigrationsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            schemaMigrationsProvider,
            SchemaMigrations.__pulumiType,
            name,
            {
                ...args,
                databaseUrl: pulumi.secret(args.databaseUrl),
                // Every file's checksum and lint facts: what the diff and the policies read, not what a preview
                // should print (ten lines a file); shown as [secret]. The pending versions are listed by check.
                migrations: pulumi.secret(args.migrations),
                pending: undefined,
                applied: undefined,
                version: undefined,
                fingerprint: undefined,
                catalog: undefined,
                historyDigest: undefined,
                historyBaseline: undefined,
                drift: undefined,
                latestBackup: undefined,
            },
            { ...opts, additionalSecretOutputs: ["databaseUrl"] },
        );
    }
}
