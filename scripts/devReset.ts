/**
 * keel dev reset [--stack dev] [--yes] [--url <postgres-url>]   (npm run dev:reset)
 *
 * Starts the dev database over: drops it and creates it again, empty, applies
 * every migration and runs the seeds (db/seeds/). For the dev database only:
 * refused, before anything is read, on a stack whose stage is not dev, and on
 * a Neon database (whose databases belong to the stack's branch: db:reset is
 * the Neon command). The database is --url, else the stack's own (its output
 * databaseUrl, through the engine; scripts/lib/stackDatabase.ts's rule).
 *
 * Every migration and seed is parsed, and the user's right to drop and create
 * the database checked, before anything is changed; then the plan (what will
 * be destroyed) is printed and confirmed (--yes for scripts; with no terminal
 * and no --yes it refuses, changing nothing).
 *
 * db:reset (scripts/dbReset.ts) is the other reset: it gives a Neon stack that
 * branches off another (staging) a sanitized copy of its parent's data, and
 * keeps the previous state as a branch. dev:reset keeps nothing: dev's data is
 * what the migrations and seeds make.
 */
import * as path from "path";
import { adminClient, appliedSchemaVersion, createDatabaseLike, databaseFacts, DatabaseFacts } from "../components/backup/pgDump";
import { KeelError } from "../components/errors";
import { describeTarget, openClient, quoteIdent } from "../components/postgres/connection";
import { dropDatabase } from "../components/postgres/dropDatabase";
import { MigrationFile, parseMigrations, readMigrationDir } from "../components/schema/migrationSet";
import { applyMigrations, EngineSettings } from "../components/schema/runner";
import { DEFAULT_SEEDS_DIR, loadSeeds, runSeeds, SeedFile } from "../components/schema/seeds";
import { settingsFor } from "./lib/migrationSettings";
import { devDatabaseUrl, requireDevStage } from "./lib/stackDatabase";
import { readStackConfig } from "./lib/stackConfig";

export class DevResetError extends KeelError {
    constructor(message: string) {
        super(message, "DevResetError");
    }
}

export interface DevResetIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    /** Asks a yes/no question; false when nobody can answer. */
    confirm(question: string): Promise<boolean>;
}

/** What a reset will destroy and rebuild; made before anything is changed. */
export interface DevResetPlan {
    url: string;
    /** host:port/database, without credentials. */
    target: string;
    database: string;
    /** The database as it is; absent when it does not exist (it is then only created). */
    existing?: DatabaseFacts & { tables: number; schemaVersion: string; sessions: number };
    migrations: MigrationFile[];
    migrationsDir: string;
    seeds: SeedFile[];
    seedsDir: string;
    engine: EngineSettings;
    /** keel:migrations.baseline, ignored on an empty database. */
    ignoredBaseline?: string;
    lines: string[];
}

const MAINTENANCE = ["postgres", "template0", "template1"];

function plural(n: number, one: string, many = `${one}s`): string {
    return `${n} ${n === 1 ? one : many}`;
}

function listNames(names: string[]): string {
    return names.length <= 4 ? names.join(", ") : `${names.slice(0, 2).join(", ")} … ${names[names.length - 1]}`;
}

/** Reads (never changes) the database and the files, checks this user may drop and create it, and says what will happen. */
export async function planDevReset(
    url: string,
    o: { migrationsDir: string; seedsDir: string; root: string; engine: EngineSettings },
): Promise<DevResetPlan> {
    const { sources, problems } = readMigrationDir(path.resolve(o.root, o.migrationsDir), o.migrationsDir);
    // Every file parsed (and every problem reported) before anything is changed.
    const migrations = await parseMigrations(sources, o.migrationsDir, problems);
    const seeds = await loadSeeds(path.resolve(o.root, o.seedsDir), o.seedsDir);
    const target = describeTarget(url);
    const database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
    if (!database || MAINTENANCE.includes(database)) {
        throw new DevResetError(
            `The dev database URL names ${database ? `'${database}', a database PostgreSQL keeps for itself` : "no database"} (${target}); ` +
                `dev:reset drops and creates the database the URL names, so point the dev stack at a database of its own. Nothing was changed.`,
        );
    }
    const admin = await adminClient(url, "keel-dev-reset");
    let existing: DevResetPlan["existing"];
    try {
        const facts = await databaseFacts(admin, database);
        const rights = (
            await admin.query(
                `SELECT r.rolsuper AS super, r.rolcreatedb AS createdb, current_user AS user,
                        (SELECT pg_has_role(current_user, d.datdba, 'MEMBER') FROM pg_database d WHERE d.datname = $1) AS owns
                 FROM pg_roles r WHERE r.rolname = current_user`,
                [database],
            )
        ).rows[0];
        const may = rights.super || (rights.createdb && (rights.owns || !facts));
        if (!may) {
            throw new DevResetError(
                `dev:reset drops and creates '${database}' on ${target}, which the user '${rights.user}' may not do: it needs to own the database and ` +
                    `have CREATEDB (ALTER ROLE ${quoteIdent(rights.user)} CREATEDB, as a superuser), or be a superuser, as the Docker and local databases' users are. Nothing was changed.`,
            );
        }
        if (facts) {
            const sessions = Number(
                (
                    await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
                        database,
                    ])
                ).rows[0].n,
            );
            const client = await openClient(url, { applicationName: "keel-dev-reset" });
            let tables: number;
            try {
                tables = (
                    await client.query(
                        `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
                    )
                ).rows[0].n;
            } finally {
                await client.end().catch(() => undefined);
            }
            existing = { ...facts, tables, sessions, schemaVersion: await appliedSchemaVersion(url, o.engine.historySchema) };
        }
    } finally {
        await admin.end().catch(() => undefined);
    }
    const ignoredBaseline = o.engine.plan.baseline;
    const engine: EngineSettings = { ...o.engine, plan: { ...o.engine.plan, baseline: undefined } };
    const steps = [
        existing
            ? `drop the database '${database}' on ${target.replace(/\/.*$/, "")} (schema version ${existing.schemaVersion || "none"}, ` +
              `${plural(existing.tables, "table")}): everything in it is lost` +
              (existing.sessions
                  ? `; ${existing.sessions === 1 ? "the session" : `the ${existing.sessions} sessions`} connected to it ` +
                    `(your app's too) ${existing.sessions === 1 ? "is" : "are"} ended`
                  : "")
            : `'${database}' does not exist on ${target.replace(/\/.*$/, "")}: nothing to drop`,
        `create '${database}' again, empty${existing ? ` (owner ${existing.owner}, ${existing.encoding})` : ""}`,
        migrations.length
            ? `apply ${plural(migrations.length, "migration")} from ${o.migrationsDir}/ (${listNames(migrations.map((m) => m.file))}), each in its own transaction` +
              (ignoredBaseline
                  ? `; keel:migrations.baseline (${ignoredBaseline}) is ignored: on an empty database every migration runs`
                  : "")
            : `apply no migration (${o.migrationsDir}/ has none)`,
        seeds.length
            ? `run ${plural(seeds.length, "seed")} from ${o.seedsDir}/ (${listNames(seeds.map((s) => s.name))}), each in its own transaction`
            : `run no seed (${o.seedsDir}/ has none)`,
    ];
    return {
        url,
        target,
        database,
        ...(existing ? { existing } : {}),
        migrations,
        migrationsDir: o.migrationsDir,
        seeds,
        seedsDir: o.seedsDir,
        engine,
        ...(ignoredBaseline ? { ignoredBaseline } : {}),
        lines: steps.map((s, i) => `  ${i + 1}. ${s}`),
    };
}

/** Carries out a plan: drop, create, migrate, seed. Returns the schema version and what ran. */
export async function executeDevReset(
    plan: DevResetPlan,
    say: (line: string) => void,
): Promise<{ schemaVersion?: string; migrations: number; seeds: number }> {
    const admin = await adminClient(plan.url, "keel-dev-reset");
    try {
        if (plan.existing) {
            say(`dropping '${plan.database}'`);
            await dropDatabase(admin, plan.database, say);
        }
        say(`creating '${plan.database}'`);
        if (plan.existing) await createDatabaseLike(admin, plan.database, plan.existing);
        else await admin.query(`CREATE DATABASE ${quoteIdent(plan.database)}`);
    } finally {
        await admin.end().catch(() => undefined);
    }
    const result = await applyMigrations(plan.url, plan.migrations, plan.engine, say, { fingerprint: false });
    const { ran } = await runSeeds(plan.url, plan.seeds, plan.engine, say);
    return { schemaVersion: result.version, migrations: result.ran.length, seeds: ran.length };
}

export interface DevResetOptions {
    /** The stack, whose stage must be dev. */
    stack: string;
    yes?: boolean;
    url?: string;
    /** The seeds directory (default: db/seeds). */
    seeds?: string;
}

export async function devReset(options: DevResetOptions, io: DevResetIo): Promise<number> {
    const stack = options.stack;
    requireDevStage(io.root, stack, "dev:reset");
    const config = readStackConfig(io.root, stack, io.env);
    if (config.database.kind === "neon") {
        throw new DevResetError(
            `Stack '${stack}' is on Neon, whose databases belong to the stack's Neon branch (and its Pulumi state): dev:reset drops and creates ` +
                `a PostgreSQL database by URL, so it leaves Neon alone. To start over, restore the branch from a backup (npm run db:restore) ` +
                `or from its parent (npm run db:reset -- --stack ${stack}). Nothing was changed.`,
        );
    }
    const { dir, engine } = settingsFor({ stack }, io);
    const url = await devDatabaseUrl({ root: io.root, stack, env: io.env, url: options.url, say: io.out });
    const plan = await planDevReset(url, {
        root: io.root,
        migrationsDir: dir,
        seedsDir: options.seeds ?? DEFAULT_SEEDS_DIR,
        engine,
    });
    io.out(`dev:reset on stack '${stack}' (${plan.target}) will:`);
    for (const line of plan.lines) io.out(line);
    if (options.yes !== true && !(await io.confirm("Drop and rebuild it? [y/N] "))) {
        io.out("Nothing was changed. (Pass --yes to skip this question in scripts.)");
        return 1;
    }
    const started = Date.now();
    const r = await executeDevReset(plan, io.out);
    io.out(
        `${plan.target} rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s: schema version ${r.schemaVersion ?? "(none)"}, ` +
            `${plural(r.migrations, "migration")} applied, ${plural(r.seeds, "seed")} run.`,
    );
    return 0;
}
