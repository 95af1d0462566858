/**
 * A copy of one PostgreSQL database over another, masked on the way: the
 * target is written under a temporary name on its server, checked, and only
 * then swapped in (as a restore is), so nothing that connects to the target
 * ever sees a half-done or unmasked copy. On any failure before the swap the
 * temporary database is dropped and the target is untouched.
 *
 * The steps, all from one snapshot of the source (pg_export_snapshot): the
 * plan (the rules against the source's live catalog; refuses before anything
 * is written), the schema without indexes and constraints (pg_dump
 * --section=pre-data), the rows (COPY out of the source, masked line by line in
 * this process, COPY into the copy; two tables at a time), the sequences, then
 * indexes, constraints and triggers (post-data: every foreign key and unique
 * index is built over the masked rows, so one that no longer holds stops the
 * copy), then the checks (row counts, constraints, the leak check), then the swap.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Client } from "pg";
import { to as copyTo, from as copyFrom } from "pg-copy-streams";
import { pipeline } from "stream/promises";
import {
    adminClient,
    databaseFacts,
    databaseName,
    libpqEnv,
    PgTools,
    findPgTools,
    runTool,
    seconds,
    swapDatabases,
    tail,
    urlForDatabase,
} from "../backup/pgDump";
import { serverVersionOf } from "../backup/pgDump/connection";
import { createDatabaseLike } from "../backup/pgDump/databases";
import { KeelError } from "../errors";
import { describeTarget, openClient } from "../postgres/connection";
import { dropDatabase } from "../postgres/dropDatabase";
import { HISTORY_TABLE } from "../schema/historyTable";
import { CopyPlan, planCopy, quoteIdent, SourceCatalog, TableCopy } from "./copyPlan";
import { checkLeaks } from "./leakRun";
import type { MaskingKey } from "../masking/strategies";
import { MaskingPool } from "./maskingPool";
import { lineMaskerFor, MaskingStream } from "./rowMasker";
import { readSequences, readSourceCatalog } from "./sourceCatalog";
import type { CopiedTable, CopyRequest, CopyResult } from "./types";

/** A copy that failed after it started; the target is unchanged (the message says so). */
export class CopyError extends KeelError {
    constructor(message: string) {
        super(message, "CopyError");
    }
}

export interface CopyHooks {
    /** Tables copied at once (default 2). */
    jobs?: number;
    /** Tests: runs on the finished copy before the checks (to plant a leak). */
    beforeChecks?: (copyUrl: string) => Promise<void>;
    /** Rows a column's leak check compares whole (default leakCheck.ts SAMPLE_UNITS); tests lower it to reach the sampling. */
    leakSampleUnits?: number;
    /** Mask on worker threads: "auto" for tables of PARALLEL_ROWS and more (default), "always", "never". */
    parallelMasking?: "auto" | "always" | "never";
    /** Tests: changes the plan before rows are copied (to drop a masker). */
    alterPlan?: (plan: CopyPlan) => CopyPlan;
    now?: Date;
}

const stampOf = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace("T", "t").slice(0, 15);

/** Opens a source session in the snapshot `snapshot`, read only. */
async function snapshotSession(url: string, snapshot: string): Promise<Client> {
    const c = await openClient(url, { applicationName: "keel-copy" });
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await c.query(`SET TRANSACTION SNAPSHOT ${c.escapeLiteral(snapshot)}`);
    return c;
}

async function runPgTool(exe: string, args: string[], env: Record<string, string>, what: string, progress: (l: string) => void) {
    const res = await runTool(exe, args, env, (ms) => progress(`${what}: ${seconds(ms)} elapsed`), 10000);
    if (res.code !== 0) throw new CopyError(`${what} failed (exit ${res.code}):\n${tail(res.stderr)}`);
}

/** Tables from this many rows are masked on worker threads; smaller ones in this thread (a worker costs its start). */
const PARALLEL_ROWS = 20_000;

/** Copies one table's rows: COPY out of the source, masked, COPY into the copy. Returns the rows read and written. */
async function copyRows(
    source: Client,
    target: Client,
    t: TableCopy,
    key: MaskingKey | undefined,
    pool?: MaskingPool,
    signal?: AbortSignal,
): Promise<{ read: number; written: number }> {
    const out = source.query(copyTo(`COPY (${t.select}) TO STDOUT`));
    const into = target.query(copyFrom(`COPY ${t.sqlName} (${t.targetColumns.join(", ")}) FROM STDIN`));
    if (t.maskedFields.length && key !== undefined) {
        const masking = { fieldCount: t.fieldCount, maskedFields: t.maskedFields, key };
        const job = pool?.job(masking);
        try {
            await pipeline(out, new MaskingStream(job ?? lineMaskerFor(masking)), into, { signal });
        } finally {
            job?.end();
        }
    } else {
        await pipeline(out, into, { signal });
    }
    return { read: out.rowCount, written: into.rowCount };
}

/** Keel's own migration history is bookkeeping: copied as it is, without a rule. */
function planOptions(req: CopyRequest, catalog: SourceCatalog) {
    const bookkeeping = catalog.tables.filter((t) => t.name === HISTORY_TABLE).map((t) => `${t.schema}.${t.name}`);
    return { masking: req.masking, schemaOnly: req.schemaOnly, tables: req.tables, bookkeeping };
}

/** What a copy would do, from the source's catalog as it is now; throws CopyPlanError naming every problem. Writes nothing. */
export async function planDatabaseCopy(req: CopyRequest): Promise<CopyPlan> {
    const source = await openClient(req.sourceUrl, { applicationName: "keel-copy" });
    try {
        await source.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const catalog = await readSourceCatalog(source, describeTarget(req.sourceUrl));
        return planCopy(catalog, planOptions(req, catalog));
    } finally {
        await source.end().catch(() => undefined);
    }
}

export async function copyDatabase(req: CopyRequest, hooks: CopyHooks = {}): Promise<CopyResult> {
    const progress = req.progress ?? (() => undefined);
    const env = req.env ?? process.env;
    const database = databaseName(req.targetUrl);
    const where = describeTarget(req.targetUrl);
    const stamp = stampOf(hooks.now ?? new Date());
    let scratch = `${database}_keel_copy_${stamp}`.slice(0, 63);
    let previous = `${database}_keel_before_copy_${stamp}`.slice(0, 63);

    const source = await openClient(req.sourceUrl, { applicationName: "keel-copy" });
    let admin: Client | undefined;
    let scratchCreated = false;
    const schemaFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keel-copy-")), "schema.dump");
    try {
        await source.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const snapshot = (await source.query("SELECT pg_export_snapshot() AS s")).rows[0].s as string;
        const catalog = await readSourceCatalog(source, describeTarget(req.sourceUrl));
        let plan = planCopy(catalog, planOptions(req, catalog));
        if (hooks.alterPlan) plan = hooks.alterPlan(plan);

        // The tools for the source's server, asked on the session already open.
        const version = await serverVersionOf(source);
        const tools: PgTools = findPgTools(version.text, version.major, env);
        admin = await adminClient(req.targetUrl, "keel-copy");
        const facts = await databaseFacts(admin, database);
        // A second copy within the same second: the names get a counter.
        for (let n = 2; (await databaseFacts(admin, scratch)) || (await databaseFacts(admin, previous)); n++) {
            scratch = `${database}_keel_copy_${stamp}_${n}`.slice(0, 63);
            previous = `${database}_keel_before_copy_${stamp}_${n}`.slice(0, 63);
        }
        progress(`creating '${scratch}' on ${where}`);
        if (facts) await createDatabaseLike(admin, scratch, facts);
        else await admin.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
        scratchCreated = true;
        const scratchUrl = urlForDatabase(req.targetUrl, scratch);

        progress(`reading the schema of ${describeTarget(req.sourceUrl)} with pg_dump ${tools.version}`);
        const sourceEnv = libpqEnv(req.sourceUrl, env);
        await runPgTool(
            tools.pgDump,
            ["--format=custom", "--schema-only", "--no-password", `--snapshot=${snapshot}`, `--file=${schemaFile}`],
            sourceEnv,
            "pg_dump --schema-only",
            progress,
        );
        const restoreArgs = ["--no-owner", "--no-privileges", "--exit-on-error", "--no-password", `--dbname=${scratch}`];
        const scratchEnv = libpqEnv(req.targetUrl, env, scratch);
        await runPgTool(tools.pgRestore, [...restoreArgs, "--section=pre-data", schemaFile], scratchEnv, "creating the tables", progress);

        const copied = await copyAllRows(
            req.sourceUrl,
            scratchUrl,
            snapshot,
            plan,
            { ...hooks, key: req.masking?.key, signal: req.signal },
            progress,
        );
        req.signal?.throwIfAborted();

        for (const s of await readSequences(source)) {
            if (s.lastValue === null) continue;
            await withClient(scratchUrl, (c) => c.query(`SELECT setval($1, $2::bigint, true)`, [s.sqlName, s.lastValue]));
        }
        req.signal?.throwIfAborted();
        if (hooks.beforeChecks) await hooks.beforeChecks(scratchUrl);
        progress("building indexes, constraints and triggers over the copied rows");
        await runPgTool(
            tools.pgRestore,
            [...restoreArgs, "--section=post-data", schemaFile],
            scratchEnv,
            "building indexes and constraints",
            progress,
        ).catch((e: Error) => {
            throw new CopyError(
                `${e.message}\nA unique index or constraint that held in the source does not hold over the ${plan.masked ? "masked " : ""}rows: ` +
                    `mask that column with a strategy that keeps distinct values distinct (email, name, phone, hash).`,
            );
        });
        const checked = await withClient(scratchUrl, (c) => checkCopy(c, plan, copied));
        if (plan.masked) checked.push(...(await checkLeaks(source, scratchUrl, plan, req.masking!.key, progress, hooks.leakSampleUnits)));
        for (const line of checked) progress(`checked: ${line}`);
        req.signal?.throwIfAborted();
        // The snapshot is no longer needed, and the source may be the very database swapped out.
        await source.end().catch(() => undefined);

        if (facts) {
            progress(`swapping '${scratch}' in for '${database}'`);
            await swapDatabases(admin, { database, scratch, previous }, progress);
            if (req.keepPrevious === false) {
                scratchCreated = false;
                await dropDatabase(admin, previous);
                progress(`dropped the previous '${database}' (not kept, as asked)`);
            }
        } else {
            await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} RENAME TO ${quoteIdent(database)}`);
        }
        scratchCreated = false;
        const tables: CopiedTable[] = plan.tables.map((t) => ({
            table: t.table,
            rows: copied.get(t.table)?.written ?? 0,
            masked: t.masked.map((m) => `${m.column}: ${m.strategy}`),
        }));
        return { tables, previous: facts && req.keepPrevious !== false ? previous : "", checked };
    } catch (err) {
        if (scratchCreated && admin) {
            progress(`dropping '${scratch}'; '${database}' was not changed`);
            await dropDatabase(admin, scratch).catch(() => undefined);
        }
        if (req.signal?.aborted) throw new CopyError(`Interrupted: the unfinished copy was dropped; '${database}' was not changed.`);
        if (err instanceof KeelError) throw err;
        throw new CopyError(`The copy into ${where} failed: ${(err as Error)?.message ?? err}. '${database}' was not changed.`);
    } finally {
        fs.rmSync(path.dirname(schemaFile), { recursive: true, force: true });
        await source.end().catch(() => undefined);
        await admin?.end().catch(() => undefined);
    }
}

async function withClient<T>(url: string, f: (c: Client) => Promise<T>): Promise<T> {
    const c = await openClient(url, { applicationName: "keel-copy" });
    try {
        return await f(c);
    } finally {
        await c.end().catch(() => undefined);
    }
}

/** Copies every table's rows, `jobs` at a time, each worker with its own source session in the snapshot. */
async function copyAllRows(
    sourceUrl: string,
    copyUrl: string,
    snapshot: string,
    plan: CopyPlan,
    o: Pick<CopyHooks, "jobs" | "parallelMasking"> & { key?: MaskingKey; signal?: AbortSignal },
    progress: (l: string) => void,
): Promise<Map<string, { read: number; written: number }>> {
    const queue = plan.tables.filter((t) => t.copyRows).sort((a, b) => b.estimatedRows - a.estimatedRows);
    const mode = o.parallelMasking ?? "auto";
    const parallel = (t: TableCopy) =>
        t.maskedFields.length > 0 && (mode === "always" || (mode === "auto" && t.estimatedRows >= PARALLEL_ROWS));
    const pool = mode !== "never" && queue.some(parallel) ? new MaskingPool() : undefined;
    const jobs = o.jobs ?? 2;
    const total = queue.length;
    const done = new Map<string, { read: number; written: number }>();
    const worker = async () => {
        const source = await snapshotSession(sourceUrl, snapshot);
        const target = await openClient(copyUrl, { applicationName: "keel-copy" });
        try {
            for (let t = queue.shift(); t; t = queue.shift()) {
                const counts = await copyRows(source, target, t, o.key, parallel(t) ? pool : undefined, o.signal);
                done.set(t.table, counts);
                const masked = t.masked.length ? `, ${t.masked.length} column${t.masked.length === 1 ? "" : "s"} masked` : "";
                progress(`copied ${t.table}: ${counts.written} rows${masked} (${done.size} of ${total} tables)`);
            }
        } finally {
            await source.end().catch(() => undefined);
            await target.end().catch(() => undefined);
        }
    };
    try {
        await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, total)) }, worker));
    } finally {
        await pool?.close();
    }
    return done;
}

/** Row counts of the copy against the rows read, and constraints that are not valid. */
async function checkCopy(copy: Client, plan: CopyPlan, copied: Map<string, { read: number; written: number }>): Promise<string[]> {
    const problems: string[] = [];
    let rows = 0;
    for (const t of plan.tables) {
        const read = copied.get(t.table)?.read ?? 0;
        const n = Number((await copy.query(`SELECT count(*)::bigint AS n FROM ${t.from}`)).rows[0].n);
        if (n !== read) problems.push(`${t.table}: ${n} rows in the copy, ${read} read from the source`);
        rows += n;
    }
    // The application's constraints, not the system catalogs' own keys.
    const userConstraints = `FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND con.contype IN ('f', 'c', 'u', 'p', 'x')`;
    const invalid = await copy.query(
        `SELECT con.conrelid::regclass::text AS t, con.conname AS c ${userConstraints} AND NOT con.convalidated`,
    );
    const constraints = Number((await copy.query(`SELECT count(*)::int AS n ${userConstraints}`)).rows[0].n);
    if (problems.length) throw new CopyError(`The copy does not match the source:\n  - ${problems.join("\n  - ")}`);
    return [
        `${plan.tables.length} tables, ${rows} rows, counts equal to the source's`,
        `${constraints} constraints hold over the copied rows` +
            (invalid.rows.length
                ? ` (${invalid.rows.length} NOT VALID as in the source: ${invalid.rows.map((r) => `${r.t}.${r.c}`).join(", ")})`
                : ""),
    ];
}
