/**
 * The migration runner: one runner at a time under an advisory lock, each file
 * in its own transaction with its history row, timeouts per file, and the
 * schema fingerprint after every apply. Used by the Pulumi provider and the
 * schema:* scripts alike.
 */
import { createHash } from "crypto";
import type { Client } from "pg";
import { DatabaseConnectionError, MigrationHistoryError, MigrationRunError } from "../errors";
import { describeTarget, openClient, quoteIdent } from "./connection";
import { schemaFingerprint, SchemaFingerprint } from "./fingerprint";
import { isParsed, MigrationFile, MigrationSource, parseMigrations } from "./migrationSet";
import { HistoryRow, migrationPlan, MigrationPlan, PlanOptions, PlannedFile } from "./plan";
import { lineAndColumn } from "./sql";

export interface EngineSettings {
    /** Schema of the history table. */
    historySchema: string;
    historyTable: string;
    /** Default `SET LOCAL lock_timeout` per file. */
    lockTimeout: string;
    /** Default `SET LOCAL statement_timeout` per file. */
    statementTimeout: string;
    /** How long to wait for another runner's advisory lock. */
    lockWaitSeconds: number;
    plan: PlanOptions;
    /** Recorded in the history: stack and user. */
    appliedBy: string;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = {
    historySchema: "public",
    historyTable: "keel_schema_history",
    lockTimeout: "5s",
    statementTimeout: "5min",
    lockWaitSeconds: 60,
    plan: { allowMissing: false, outOfOrder: false },
    appliedBy: "keel",
};

export type Progress = (message: string) => void;

export interface SchemaState {
    /** History rows that count as applied, oldest first. */
    applied: HistoryRow[];
    /** The newest applied version. */
    version?: string;
    /** Present when asked for: the catalog read costs time with thousands of tables. */
    fingerprint?: SchemaFingerprint;
    /** sha256 over the history (version, checksum, status), to notice rows changed by hand. */
    historyDigest: string;
}

export interface Inspection<F extends PlannedFile = PlannedFile> {
    plan: MigrationPlan<F>;
    state: SchemaState;
    /** The database's clock (ISO) just before the history was read: what the plan knows is older than this. */
    readAt: string;
}

export interface StateOptions {
    /** Read the schema fingerprint too (the provider needs it; a CLI apply does not). */
    fingerprint?: boolean;
}

export interface ApplyOptions extends StateOptions {
    /**
     * Runs under the runner lock once the plan is made and every pending file is
     * parsed, before anything is written (history table, baseline rows, migrations).
     * If it throws, nothing is applied and its error is the apply's error. The
     * provider takes its backup here, so the decision uses the locked plan.
     */
    beforeApply?: (plan: MigrationPlan<MigrationSource>) => Promise<void>;
}

export interface ApplyResult extends SchemaState {
    /** What this run applied, in order, with execution times. */
    ran: { version: string; name: string; executionMs: number }[];
    baselined: string[];
}

// 'KEEL' as the advisory lock class; the object is the history table's name.
const LOCK_CLASS = 0x4b45454c;

function historyRef(s: EngineSettings): string {
    return `${quoteIdent(s.historySchema)}.${quoteIdent(s.historyTable)}`;
}

function lockName(s: EngineSettings): string {
    return `${s.historySchema}.${s.historyTable}`;
}

export function historyDigest(rows: HistoryRow[]): string {
    const h = createHash("sha256");
    for (const r of rows) h.update(`${r.version}:${r.checksum}:${r.status}\n`);
    return h.digest("hex");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads the history table; an absent table is an empty history. */
export async function readHistory(client: Client, s: EngineSettings): Promise<HistoryRow[]> {
    const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [historyRef(s)]);
    if (!exists.rows[0].present) return [];
    const res = await client.query(
        // Qualified: a bare 'version' here would sort by the text output column (1, 10, 2).
        `SELECT h.version::text AS version, h.name, h.checksum, h.status, h.applied_at, h.execution_ms, h.applied_by
         FROM ${historyRef(s)} h ORDER BY h.version`,
    );
    return res.rows.map((r) => ({
        version: r.version,
        name: r.name,
        checksum: r.checksum,
        status: r.status,
        appliedAt: new Date(r.applied_at).toISOString(),
        executionMs: r.execution_ms,
        appliedBy: r.applied_by,
    }));
}

/** The history table's CREATE TABLE statement (no trailing semicolon); bench:migrations' psql floor uses it too. */
export function historyTableDdl(s: EngineSettings): string {
    return `
        CREATE TABLE IF NOT EXISTS ${historyRef(s)} (
            version      bigint PRIMARY KEY,
            name         text NOT NULL,
            checksum     text NOT NULL,
            status       text NOT NULL CHECK (status IN ('applied', 'baseline', 'failed', 'running')),
            applied_at   timestamptz NOT NULL DEFAULT now(),
            execution_ms integer NOT NULL DEFAULT 0,
            applied_by   text NOT NULL
        )`;
}

async function ensureHistoryTable(client: Client, s: EngineSettings): Promise<void> {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.historySchema)}`);
    await client.query(historyTableDdl(s));
}

/** Takes the runner lock by polling pg_try_advisory_lock; the timeout error names the holder. */
async function acquireLock(client: Client, s: EngineSettings, progress: Progress): Promise<void> {
    const deadline = Date.now() + s.lockWaitSeconds * 1000;
    let announced = false;
    for (;;) {
        const res = await client.query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [LOCK_CLASS, lockName(s)]);
        if (res.rows[0].ok) return;
        if (!announced) {
            progress(`waiting up to ${s.lockWaitSeconds}s for another migration runner to finish`);
            announced = true;
        }
        if (Date.now() >= deadline) break;
        await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    const holder = await client.query(
        `SELECT a.pid, a.usename, a.application_name, a.client_addr::text AS addr, a.backend_start, a.state
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2`,
        [LOCK_CLASS, lockName(s)],
    );
    const h = holder.rows[0];
    const who = h
        ? `session pid ${h.pid} (application '${h.application_name}', user ${h.usename}, from ${h.addr ?? "a local socket"}, ` +
          `connected since ${new Date(h.backend_start).toISOString()}, ${h.state})`
        : "a session that has just released it";
    throw new DatabaseConnectionError(
        `Another migration runner holds the lock on ${lockName(s)}: ${who}. Waited ${s.lockWaitSeconds}s. ` +
            `Let it finish and run again; if it is stuck, end it with SELECT pg_terminate_backend(${h?.pid ?? "<pid>"}), ` +
            `or wait longer with 'pulumi config set --path keel:migrations.lockWaitSeconds <seconds>'.`,
    );
}

/**
 * If the runner is killed, the server would otherwise finish the running statement
 * (up to statement_timeout) while holding the lock; PostgreSQL 14+ can notice the
 * lost client and end the work. Older servers lack the setting: nothing to do then.
 */
async function endWorkIfRunnerDies(client: Client): Promise<void> {
    await client.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
}

async function releaseLock(client: Client, s: EngineSettings): Promise<void> {
    await client.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, lockName(s)]).catch(() => undefined);
}

async function currentState(client: Client, s: EngineSettings, options: StateOptions, history?: HistoryRow[]): Promise<SchemaState> {
    const rows = history ?? (await readHistory(client, s));
    const applied = rows.filter((r) => r.status === "applied" || r.status === "baseline");
    return {
        applied,
        version: applied.length ? applied[applied.length - 1].version : undefined,
        ...(options.fingerprint ? { fingerprint: await schemaFingerprint(client, s.historySchema, s.historyTable) } : {}),
        historyDigest: historyDigest(rows),
    };
}

/** Read-only: the plan and the schema as it is. Takes no lock and creates nothing. */
export async function inspectSchema<F extends PlannedFile>(
    url: string,
    files: F[],
    s: EngineSettings,
    options: StateOptions = { fingerprint: true },
): Promise<Inspection<F>> {
    const client = await openClient(url, { applicationName: `keel-inspect (${s.appliedBy})` });
    try {
        const readAt = new Date((await client.query("SELECT now() AS now")).rows[0].now).toISOString();
        const history = await readHistory(client, s);
        return { plan: migrationPlan(files, history, s.plan), state: await currentState(client, s, options, history), readAt };
    } finally {
        await client.end().catch(() => undefined);
    }
}

function planError(problems: string[]): MigrationHistoryError {
    return new MigrationHistoryError(
        `The migration history does not match the files (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing has been run:\n` +
            problems.map((p) => `  - ${p}`).join("\n"),
    );
}

/** Throws the plan's problems, if any, as one error. */
export function assertRunnable(plan: MigrationPlan<PlannedFile>): void {
    if (plan.problems.length) throw planError(plan.problems);
}

/** Where in the file a PostgreSQL error points: the statement's line, refined by the error's position. */
function errorLocation(file: MigrationFile, stmt: { sql: string; line: number }, err: any): number {
    const pos = Number(err?.position);
    if (!pos) return stmt.line;
    // Lines end at \r\n, \n or \r, as editors count them.
    return stmt.line + lineAndColumn(stmt.sql, pos - 1).line - 1;
}

function runError(file: MigrationFile, stmt: { sql: string; line: number }, err: any, after: string): MigrationRunError {
    const line = errorLocation(file, stmt, err);
    const code = err?.code ? ` [SQLSTATE ${err.code}]` : "";
    const hint =
        err?.code === "55P03"
            ? " The lock_timeout fired: another session holds a lock on the table. Retry when it is idle, or raise it for this file with '-- keel:lock-timeout 30s'."
            : err?.code === "57014"
              ? " The statement_timeout fired. If the statement needs longer, raise it for this file with '-- keel:statement-timeout 30min'."
              : "";
    return new MigrationRunError(`${file.file}:${line}: ${err?.message ?? err}${code}.${hint} ${after}`);
}

/**
 * Applies what is pending. Under the advisory lock the plan is made again from
 * the history, so two runners started at once apply each file exactly once.
 * Only pending files are parsed (applied ones are checked by checksum), all
 * of them before the first one runs.
 */
export async function applyMigrations(
    url: string,
    files: MigrationSource[],
    s: EngineSettings,
    progress: Progress = () => undefined,
    options: ApplyOptions = { fingerprint: true },
): Promise<ApplyResult> {
    const client = await openClient(url, { applicationName: `keel-migrate (${s.appliedBy})` });
    try {
        await endWorkIfRunnerDies(client);
        await acquireLock(client, s, progress);
        try {
            const plan = migrationPlan(files, await readHistory(client, s), s.plan);
            assertRunnable(plan);
            // Parse before touching anything: a syntax error leaves the database as it was.
            const pending = plan.pending.every(isParsed) ? (plan.pending as MigrationFile[]) : await parseMigrations(plan.pending);
            if (options.beforeApply) await options.beforeApply(plan);
            await ensureHistoryTable(client, s);

            if (plan.baselined.length) {
                await client.query("BEGIN");
                for (const f of plan.baselined) {
                    await client.query(
                        `INSERT INTO ${historyRef(s)} (version, name, checksum, status, applied_by) VALUES ($1, $2, $3, 'baseline', $4)`,
                        [f.version, f.name, f.checksum, s.appliedBy],
                    );
                }
                await client.query("COMMIT");
                progress(`baseline: recorded ${plan.baselined.length} migration(s) up to ${s.plan.baseline} as applied without running them`);
            }

            const ran: ApplyResult["ran"] = [];
            if (pending.length === 0) progress(`schema is up to date at ${describeTarget(url)}`);
            else progress(`applying ${pending.length} migration(s) to ${describeTarget(url)}`);
            for (const [i, file] of pending.entries()) {
                const started = Date.now();
                if (file.directives.transaction) await applyInTransaction(client, file, s);
                else await applyWithoutTransaction(client, file, s);
                const executionMs = Date.now() - started;
                ran.push({ version: file.version, name: file.name, executionMs });
                progress(`[${i + 1}/${pending.length}] applied ${file.file} in ${executionMs} ms`);
            }
            const state = await currentState(client, s, options);
            return { ...state, ran, baselined: plan.baselined.map((f) => f.version) };
        } finally {
            await releaseLock(client, s);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}

function timeouts(file: MigrationFile, s: EngineSettings): { lock: string; statement: string } {
    return { lock: file.directives.lockTimeout ?? s.lockTimeout, statement: file.directives.statementTimeout ?? s.statementTimeout };
}

/** Result of one simple-protocol message: how many statements completed before an error, if any. */
interface MessageResult {
    completed: number;
    error?: any;
}

/**
 * Sends many statements as one simple-protocol message (one round trip) and
 * counts the statements that completed, so an error can be pinned to its statement.
 */
function sendCountingStatements(client: Client, text: string): Promise<MessageResult> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Query } = require("pg") as { Query: new (...args: any[]) => any };
    let completed = 0;
    class CountingQuery extends Query {
        handleCommandComplete(msg: unknown, connection: unknown): void {
            completed++;
            super.handleCommandComplete(msg, connection);
        }
    }
    return new Promise((resolve) => {
        client.query(new CountingQuery(text, undefined, (error: unknown) => resolve({ completed, error: error ?? undefined })) as any);
    });
}

/**
 * One file in one transaction with its history row, sent as a single message:
 * BEGIN, the timeouts, the file's statements, the history INSERT, COMMIT.
 */
async function applyInTransaction(client: Client, file: MigrationFile, s: EngineSettings): Promise<void> {
    const t = timeouts(file, s);
    // Durations are validated (digits and a unit), so inlining them is safe; the rest is escaped.
    const prefix = [`BEGIN`, `SET LOCAL lock_timeout = '${t.lock}'`, `SET LOCAL statement_timeout = '${t.statement}'`];
    const parts = prefix.map((p) => `${p};\n`);
    let length = parts.reduce((n, p) => n + p.length, 0);
    const offsets: number[] = [];
    for (const stmt of file.statements) {
        offsets.push(length);
        // A newline before the separator: a statement may end in a -- comment.
        const part = `${stmt.sql}\n;\n`;
        parts.push(part);
        length += part.length;
    }
    parts.push(
        `INSERT INTO ${historyRef(s)} (version, name, checksum, status, execution_ms, applied_by) VALUES (` +
            `${file.version}, ${client.escapeLiteral(file.name)}, ${client.escapeLiteral(file.checksum)}, 'applied', ` +
            `(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer, ${client.escapeLiteral(s.appliedBy)});\n`,
        "COMMIT",
    );
    const { completed, error } = await sendCountingStatements(client, parts.join(""));
    if (!error) return;
    await client.query("ROLLBACK").catch(() => undefined);
    const rolledBack = "The file's transaction was rolled back: the database is as it was after the previous migration.";
    const index = completed - prefix.length;
    if (index >= 0 && index < file.statements.length) {
        const stmt = file.statements[index];
        // The error's position counts characters in the whole message; make it relative to the statement.
        const position = Number(error.position) - offsets[index];
        const inStatement = position > 0 && position <= stmt.sql.length ? position : undefined;
        throw runError(file, stmt, { message: error.message, code: error.code, position: inStatement }, rolledBack);
    }
    const code = error?.code ? ` [SQLSTATE ${error.code}]` : "";
    if (index === file.statements.length + 1) {
        // Deferred constraints and constraint triggers are checked at COMMIT, after the last statement.
        throw new MigrationRunError(
            `${file.file}: COMMIT failed: ${error.message}${code}. A deferred constraint or trigger failed at the end of the file. ${rolledBack}`,
        );
    }
    throw new MigrationRunError(`${file.file}: ${error.message}${code} (while Keel ${index < 0 ? "set up the file's transaction" : "recorded the file in the history"}). ${rolledBack}`);
}

async function applyWithoutTransaction(client: Client, file: MigrationFile, s: EngineSettings): Promise<void> {
    const t = timeouts(file, s);
    // Recorded as running first: if the runner dies midway, later runs see it and stop.
    await client.query(
        `INSERT INTO ${historyRef(s)} (version, name, checksum, status, applied_by) VALUES ($1, $2, $3, 'running', $4)`,
        [file.version, file.name, file.checksum, s.appliedBy],
    );
    await client.query(`SET lock_timeout = '${t.lock}'; SET statement_timeout = '${t.statement}'`);
    const started = Date.now();
    try {
        for (const stmt of file.statements) {
            try {
                await client.query(stmt.sql);
            } catch (err) {
                await client.query(`UPDATE ${historyRef(s)} SET status = 'failed', applied_at = now() WHERE version = $1`, [file.version]);
                throw runError(
                    file,
                    stmt,
                    err,
                    `This file runs without a transaction, so the statements before line ${stmt.line} stay applied; it is recorded as failed. ` +
                        `Fix the database by hand, then run 'npm run schema:resolve -- ${file.version} --applied' or '--rolled-back'.`,
                );
            }
        }
        await client.query(
            `UPDATE ${historyRef(s)} SET status = 'applied', applied_at = now(), execution_ms = $2 WHERE version = $1`,
            [file.version, Date.now() - started],
        );
    } finally {
        await client.query("RESET lock_timeout; RESET statement_timeout").catch(() => undefined);
    }
}

/**
 * Settles a failed or interrupted no-transaction migration: `applied` records it
 * as applied with the file's checksum; `rolled-back` removes its row so it runs again.
 */
export async function resolveMigration(
    url: string,
    s: EngineSettings,
    version: string,
    outcome: "applied" | "rolled-back",
    file: PlannedFile | undefined,
): Promise<HistoryRow> {
    const client = await openClient(url, { applicationName: `keel-resolve (${s.appliedBy})` });
    try {
        await acquireLock(client, s, () => undefined);
        try {
            const row = (await readHistory(client, s)).find((r) => r.version === version);
            if (!row) throw new MigrationHistoryError(`Version ${version} has no row in ${lockName(s)}; there is nothing to resolve.`);
            if (row.status !== "failed" && row.status !== "running") {
                throw new MigrationHistoryError(`Version ${version} (${row.name}) is ${row.status}, not failed; there is nothing to resolve.`);
            }
            if (outcome === "rolled-back") {
                await client.query(`DELETE FROM ${historyRef(s)} WHERE version = $1`, [version]);
            } else {
                await client.query(
                    `UPDATE ${historyRef(s)} SET status = 'applied', checksum = coalesce($2, checksum), applied_at = now(), applied_by = $3 WHERE version = $1`,
                    [version, file?.checksum ?? null, s.appliedBy],
                );
            }
            return row;
        } finally {
            await releaseLock(client, s);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}
