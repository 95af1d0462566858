/**
 * The migration runner: one runner at a time under an advisory lock, each file
 * in its own transaction with its history row, timeouts per file, and the
 * schema fingerprint after every apply. Used by the Pulumi provider and the
 * schema:* scripts alike.
 */
import { HISTORY_TABLE } from "./historyTable";
import { createHash } from "crypto";
import type { Client } from "pg";
import { DatabaseConnectionError, MigrationHistoryError, MigrationRunError } from "../errors";
import { describeTarget, openClient, quoteIdent } from "../postgres/connection";
import { schemaFingerprint, SchemaFingerprint } from "../postgres/fingerprint";
import { invalidIndexesOf } from "./invalidIndexes";
import { isParsed, MigrationFile, MigrationSource, parseMigrations } from "./migrationSet";
import { describeInvalidIndexes, HistoryRow, InvalidIndex, migrationPlan, MigrationPlan, PlanOptions, PlannedFile } from "./plan";
import { lineAndColumn, type SqlStatement } from "./sql";

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
    historyTable: HISTORY_TABLE,
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
    /** Every history row, failed and running ones included, oldest first. */
    history: HistoryRow[];
    /** Versions recorded as failed or running, with what they left behind; their plan problems say the same in words. */
    unsettled: UnsettledMigration[];
}

/** A no-transaction migration recorded as failed or running: it needs `schema:resolve`. */
export interface UnsettledMigration {
    version: string;
    name: string;
    status: "failed" | "running";
    /** The file of that version in the directory, when there is one. */
    file?: string;
    /**
     * INVALID indexes on the tables the file's CONCURRENTLY statements work on
     * (every INVALID index of the database when the file is not at hand, see
     * `searchedDatabase`). schema:resolve refuses while any remains; each
     * carries the DROP INDEX that removes it.
     */
    invalidIndexes: InvalidIndex[];
    /** True when the file was not at hand (or did not parse), so the whole database was searched. */
    searchedDatabase: boolean;
}

/**
 * Hooks into the wait for the runner lock. The defaults are the wall clock and
 * a timer; tests pass a clock that moves only when slept on, and free (or hand
 * over) the lock in atDeadline, exactly when the wait ends.
 */
export interface LockWaitHooks {
    /** Milliseconds, like Date.now. */
    now?: () => number;
    /** Waits between two tries. */
    sleep?: (ms: number) => Promise<void>;
    /** Runs once when the wait is over, before the last try. */
    atDeadline?: () => Promise<void>;
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
    /** See LockWaitHooks. */
    lockWait?: LockWaitHooks;
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
async function acquireLock(client: Client, s: EngineSettings, progress: Progress, hooks: LockWaitHooks = {}): Promise<void> {
    const now = hooks.now ?? Date.now;
    const wait = hooks.sleep ?? sleep;
    const tryLock = async () =>
        (await client.query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [LOCK_CLASS, lockName(s)])).rows[0].ok === true;
    const deadline = now() + s.lockWaitSeconds * 1000;
    let announced = false;
    for (;;) {
        if (await tryLock()) return;
        if (!announced) {
            progress(`waiting up to ${s.lockWaitSeconds}s for another migration runner to finish`);
            announced = true;
        }
        const left = deadline - now();
        if (left <= 0) break;
        await wait(Math.min(250, left));
    }
    await hooks.atDeadline?.();
    // The wait is over, but the holder may have let go since the last try: one more try before giving up,
    // and another whenever the lookup finds nobody holding it (it changed hands in between), so that a
    // timeout names the session that holds the lock, never "nobody".
    let h: LockHolder | undefined;
    for (let attempt = 0; attempt < 3 && !h; attempt++) {
        if (await tryLock()) return;
        h = await lockHolder(client, s);
    }
    const who = h
        ? `session pid ${h.pid} (application '${h.application_name}', user ${h.usename}, from ${h.addr ?? "a local socket"}, ` +
          `connected since ${new Date(h.backend_start).toISOString()}, ${h.state})`
        : "a session that let it go and took it again as Keel looked";
    throw new DatabaseConnectionError(
        `Another migration runner holds the lock on ${lockName(s)}: ${who}. Waited ${s.lockWaitSeconds}s. ` +
            `Let it finish and run again; if it is stuck, end it with SELECT pg_terminate_backend(${h?.pid ?? "<pid>"}), ` +
            `or wait longer with 'npm run pulumi -- config set --path keel:migrations.lockWaitSeconds <seconds>'.`,
    );
}

interface LockHolder {
    pid: number;
    usename: string;
    application_name: string;
    addr: string | null;
    backend_start: Date;
    state: string;
}

/**
 * The session holding the runner lock in this database. Advisory locks belong
 * to one database: a runner migrating another database of the same server
 * holds the same key there, and is no holder here.
 */
async function lockHolder(client: Client, s: EngineSettings): Promise<LockHolder | undefined> {
    const res = await client.query(
        `SELECT a.pid, a.usename, a.application_name, a.client_addr::text AS addr, a.backend_start, a.state
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
           AND l.classid = $1::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2
         ORDER BY a.backend_start LIMIT 1`,
        [LOCK_CLASS, lockName(s)],
    );
    return res.rows[0];
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

/**
 * The plan, with what the database shows of each failed or running version:
 * the INVALID indexes its file may have left (found through the file's SQL).
 */
async function planWithFacts<F extends PlannedFile>(
    client: Client,
    files: F[],
    history: HistoryRow[],
    s: EngineSettings,
): Promise<{ plan: MigrationPlan<F>; unsettled: UnsettledMigration[] }> {
    const unsettled: UnsettledMigration[] = [];
    for (const row of history) {
        if (row.status !== "failed" && row.status !== "running") continue;
        const file = files.find((f) => f.version === row.version);
        const { indexes, searchedDatabase } = await invalidIndexesOf(client, file);
        unsettled.push({
            version: row.version,
            name: row.name,
            status: row.status,
            ...(file ? { file: file.file } : {}),
            invalidIndexes: indexes,
            searchedDatabase,
        });
    }
    const facts = {
        invalidIndexes: Object.fromEntries(unsettled.map((u) => [u.version, u.invalidIndexes])),
        searchedDatabase: unsettled.filter((u) => u.searchedDatabase).map((u) => u.version),
    };
    return { plan: migrationPlan(files, history, s.plan, facts), unsettled };
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
        const { plan, unsettled } = await planWithFacts(client, files, history, s);
        return { plan, state: await currentState(client, s, options, history), readAt, history, unsettled };
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
function errorLocation(stmt: { sql: string; line: number }, err: any): number {
    const pos = Number(err?.position);
    if (!pos) return stmt.line;
    // Lines end at \r\n, \n or \r, as editors count them.
    return stmt.line + lineAndColumn(stmt.sql, pos - 1).line - 1;
}

function runError(
    file: { file: string },
    stmt: { sql: string; line: number },
    err: any,
    after: string,
    Failure: new (message: string) => Error = MigrationRunError,
    directives = true,
): Error {
    const line = errorLocation(stmt, err);
    const code = err?.code ? ` [SQLSTATE ${err.code}]` : "";
    const hint =
        err?.code === "55P03"
            ? " The lock_timeout fired: another session holds a lock on the table. Retry when it is idle" +
              (directives ? ", or raise it for this file with '-- keel:lock-timeout 30s'." : ".")
            : err?.code === "57014"
              ? " The statement_timeout fired." +
                (directives ? " If the statement needs longer, raise it for this file with '-- keel:statement-timeout 30min'." : "")
              : "";
    return new Failure(`${file.file}:${line}: ${err?.message ?? err}${code}.${hint} ${after}`);
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
        await acquireLock(client, s, progress, options.lockWait);
        try {
            const { plan } = await planWithFacts(client, files, await readHistory(client, s), s);
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
                progress(
                    `baseline: recorded ${plan.baselined.length} migration(s) up to ${s.plan.baseline} as applied without running them`,
                );
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
    await runFileInTransaction(client, file, {
        lockTimeout: t.lock,
        statementTimeout: t.statement,
        trailer: [
            `INSERT INTO ${historyRef(s)} (version, name, checksum, status, execution_ms, applied_by) VALUES (` +
                `${file.version}, ${client.escapeLiteral(file.name)}, ${client.escapeLiteral(file.checksum)}, 'applied', ` +
                `(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer, ${client.escapeLiteral(s.appliedBy)})`,
        ],
        trailerWhat: "recorded the file in the history",
        rolledBack: "The file's transaction was rolled back: the database is as it was after the previous migration.",
    });
}

/** How runFileInTransaction runs a file and words its failure. */
export interface FileTransactionOptions {
    /** `SET LOCAL lock_timeout` and `statement_timeout`: validated durations (digits and a unit), inlined. */
    lockTimeout: string;
    statementTimeout: string;
    /** Keel's own statements after the file's, inside its transaction (the history row). */
    trailer?: string[];
    /** What the trailer does, for an error in it: "recorded the file in the history". */
    trailerWhat?: string;
    /** The sentence that ends a failure's message: what the rollback left. */
    rolledBack: string;
    /** The error raised (default MigrationRunError). */
    error?: new (message: string) => Error;
    /** Whether a timeout's hint may suggest the file's `-- keel:` directives (migrations: yes). Default true. */
    directives?: boolean;
}

/**
 * A parsed SQL file's statements in one transaction, sent as a single message
 * (one round trip): BEGIN, the timeouts, the statements, the trailer, COMMIT.
 * On an error the transaction is rolled back and the error names the file and
 * the line of the failing statement (refined by the server's error position),
 * as `<file>:<line>: <message> [SQLSTATE …]. <rolledBack>`. Migrations and seeds
 * (components/schema/seeds.ts) both run this way.
 */
export async function runFileInTransaction(
    client: Client,
    file: { file: string; statements: SqlStatement[] },
    o: FileTransactionOptions,
): Promise<void> {
    const Failure = o.error ?? MigrationRunError;
    const trailer = o.trailer ?? [];
    const prefix = [`BEGIN`, `SET LOCAL lock_timeout = '${o.lockTimeout}'`, `SET LOCAL statement_timeout = '${o.statementTimeout}'`];
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
    parts.push(...trailer.map((t) => `${t};\n`), "COMMIT");
    const { completed, error } = await sendCountingStatements(client, parts.join(""));
    if (!error) return;
    await client.query("ROLLBACK").catch(() => undefined);
    const rolledBack = o.rolledBack;
    const index = completed - prefix.length;
    if (index >= 0 && index < file.statements.length) {
        const stmt = file.statements[index];
        // The error's position counts characters in the whole message; make it relative to the statement.
        const position = Number(error.position) - offsets[index];
        const inStatement = position > 0 && position <= stmt.sql.length ? position : undefined;
        throw runError(
            file,
            stmt,
            { message: error.message, code: error.code, position: inStatement },
            rolledBack,
            Failure,
            o.directives ?? true,
        );
    }
    const code = error?.code ? ` [SQLSTATE ${error.code}]` : "";
    if (index === file.statements.length + trailer.length) {
        // Deferred constraints and constraint triggers are checked at COMMIT, after the last statement.
        throw new Failure(
            `${file.file}: COMMIT failed: ${error.message}${code}. A deferred constraint or trigger failed at the end of the file. ${rolledBack}`,
        );
    }
    throw new Failure(
        `${file.file}: ${error.message}${code} (while Keel ${index < 0 ? "set up the file's transaction" : (o.trailerWhat ?? "finished the file")}). ${rolledBack}`,
    );
}

/**
 * The connection's transaction status as the server last reported it (every
 * ReadyForQuery carries it): 'I' idle, 'T' in a transaction block, 'E' in a
 * failed one. Current after a statement that succeeded; after one that failed,
 * the error arrives before the status, so it is not.
 */
function watchTransactionStatus(client: Client): { status: () => string; stop: () => void } {
    let last = "I";
    const listener = (msg: { status?: string }) => {
        if (typeof msg?.status === "string") last = msg.status;
    };
    client.connection.on("readyForQuery", listener);
    return { status: () => last, stop: () => void client.connection.removeListener("readyForQuery", listener) };
}

/**
 * A no-transaction file: recorded as running, then its statements one by one,
 * then recorded as applied (or failed).
 *
 * Explicit BEGIN … COMMIT in a no-transaction file is allowed, on purpose. The
 * statements that need no transaction (CREATE INDEX CONCURRENTLY, VACUUM, ...)
 * run outside it, and the rest of the file may group its steps all-or-nothing,
 * for example a backfill beside a concurrent index, or batches committed one
 * by one; refusing it would only push authors to split such files, with more
 * partial states between them, not fewer. (A transactional file refuses
 * transaction control because Keel's own transaction around it would be broken.)
 * What Keel owns is that its bookkeeping never runs inside the file's
 * transaction: when a statement fails inside it, that transaction is rolled
 * back first, then the file is recorded and reported as failed like any other,
 * saying which lines were undone; a file that ends with its transaction still
 * open is rolled back and recorded as failed (else the history update would
 * join that transaction and vanish with it when the connection closes).
 */
async function applyWithoutTransaction(client: Client, file: MigrationFile, s: EngineSettings): Promise<void> {
    const t = timeouts(file, s);
    // Recorded as running first: if the runner dies midway, later runs see it and stop.
    await client.query(`INSERT INTO ${historyRef(s)} (version, name, checksum, status, applied_by) VALUES ($1, $2, $3, 'running', $4)`, [
        file.version,
        file.name,
        file.checksum,
        s.appliedBy,
    ]);
    const tx = watchTransactionStatus(client);
    try {
        await client.query(`SET lock_timeout = '${t.lock}'; SET statement_timeout = '${t.statement}'`);
        const started = Date.now();
        // The statement that opened the file's own transaction, while it is open.
        let opened: SqlStatement | undefined;
        for (const stmt of file.statements) {
            const inFileTransaction = tx.status() !== "I";
            try {
                await client.query(stmt.sql);
            } catch (err) {
                // The error aborted the file's transaction: end it before Keel writes a thing.
                if (inFileTransaction) await client.query("ROLLBACK").catch(() => undefined);
                const kept =
                    inFileTransaction && opened
                        ? `This file runs without a transaction, and the transaction the file opened at line ${opened.line} was rolled back: ` +
                          `the statements before line ${opened.line} stay applied, those from line ${opened.line} on left nothing behind`
                        : `This file runs without a transaction, so the statements before line ${stmt.line} stay applied`;
                throw runError(file, stmt, err, await recordNoTransactionFailure(client, file, s, kept));
            }
            if (tx.status() === "I") opened = undefined;
            else if (!inFileTransaction) opened = stmt;
        }
        if (tx.status() !== "I") {
            await client.query("ROLLBACK").catch(() => undefined);
            const line = opened?.line;
            const where = line ? `${file.file}:${line}` : file.file;
            const kept = line
                ? `Keel rolled back that transaction: the statements before line ${line} stay applied, those from line ${line} on left nothing behind`
                : "Keel rolled back that transaction";
            throw new MigrationRunError(
                `${where}: the transaction the file opened${line ? ` at line ${line}` : ""} was never ended (no COMMIT after it). ` +
                    `End it in the file with COMMIT. ${await recordNoTransactionFailure(client, file, s, kept)}`,
            );
        }
        await client.query(`UPDATE ${historyRef(s)} SET status = 'applied', applied_at = now(), execution_ms = $2 WHERE version = $1`, [
            file.version,
            Date.now() - started,
        ]);
    } finally {
        tx.stop();
        await client.query("RESET lock_timeout; RESET statement_timeout").catch(() => undefined);
    }
}

/**
 * Records a no-transaction file as failed and says what to do: `kept` says what
 * stays applied; the INVALID indexes it left are named with their DROP INDEX.
 * If the connection is gone (the backend was killed), says the history still
 * shows it as running.
 */
async function recordNoTransactionFailure(client: Client, file: MigrationFile, s: EngineSettings, kept: string): Promise<string> {
    let recorded: string;
    try {
        await client.query(`UPDATE ${historyRef(s)} SET status = 'failed', applied_at = now() WHERE version = $1`, [file.version]);
        recorded = "it is recorded as failed";
    } catch (err: any) {
        recorded = `Keel could not record it as failed (${err?.message ?? err}), so the history shows it as running`;
    }
    let invalid: InvalidIndex[] = [];
    try {
        invalid = (await invalidIndexesOf(client, file)).indexes;
    } catch {
        // The connection is gone: status and resolve look again.
    }
    const left = invalid.length
        ? ` It left ${describeInvalidIndexes(invalid)}: drop ${invalid.length === 1 ? "it" : "them"} (${invalid.map((i) => i.drop).join(" ")}) ` +
          `before '--rolled-back', or before building ${invalid.length === 1 ? "it" : "them"} again by hand for '--applied'; schema:resolve refuses both while an invalid index remains.`
        : "";
    return (
        `${kept}; ${recorded}.${left} ` +
        `Fix the database by hand, then run 'npm run schema:resolve -- ${file.version} --applied' or '--rolled-back'.`
    );
}

/**
 * Settles a failed or interrupted no-transaction migration: `applied` records it
 * as applied with the file's checksum; `rolled-back` removes its row so it runs again.
 * Both are refused while an INVALID index the file may have left remains (on the
 * tables its CONCURRENTLY statements work on; anywhere in the database when
 * `file` is undefined): the error names each with the DROP INDEX that removes it.
 * Pass the file for both outcomes, so that only its own tables are searched.
 */
export async function resolveMigration(
    url: string,
    s: EngineSettings,
    version: string,
    outcome: "applied" | "rolled-back",
    file: PlannedFile | undefined,
    options: { lockWait?: LockWaitHooks } = {},
): Promise<HistoryRow> {
    const client = await openClient(url, { applicationName: `keel-resolve (${s.appliedBy})` });
    try {
        await acquireLock(client, s, () => undefined, options.lockWait);
        try {
            const row = (await readHistory(client, s)).find((r) => r.version === version);
            if (!row) throw new MigrationHistoryError(`Version ${version} has no row in ${lockName(s)}; there is nothing to resolve.`);
            if (row.status !== "failed" && row.status !== "running") {
                throw new MigrationHistoryError(
                    `Version ${version} (${row.name}) is ${row.status}, not failed; there is nothing to resolve.`,
                );
            }
            const { indexes, searchedDatabase } = await invalidIndexesOf(client, file);
            if (indexes.length) throw invalidIndexRefusal(row, outcome, indexes, searchedDatabase);
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

/**
 * Starts Keel's history with rows adopted from another tool (schema:adopt):
 * under the runner lock, refused when keel_schema_history already has a row;
 * else the table is created and every row inserted in one transaction, and
 * `write` (which puts the migration files in place) runs inside it, so a
 * failure to write rolls the rows back. Runs nothing of the files.
 */
export async function recordAdoption(
    url: string,
    s: EngineSettings,
    rows: HistoryRow[],
    write: () => void | Promise<void>,
    options: {
        lockWait?: LockWaitHooks;
        progress?: Progress;
        /** Runs in the transaction before anything is written: the caller checks that what it planned from still holds. */
        verify?: (client: Client) => Promise<void>;
    } = {},
): Promise<void> {
    const client = await openClient(url, { applicationName: `keel-adopt (${s.appliedBy})` });
    try {
        await acquireLock(client, s, options.progress ?? (() => undefined), options.lockWait);
        try {
            const existing = await readHistory(client, s);
            if (existing.length) {
                throw new MigrationHistoryError(
                    `${lockName(s)} already has ${existing.length} row(s) (newest: version ${existing[existing.length - 1].version}): ` +
                        `Keel already keeps this database's history, and adopting starts one; nothing was written.`,
                );
            }
            await client.query("BEGIN");
            try {
                await options.verify?.(client);
                await ensureHistoryTable(client, s);
                if (rows.length) {
                    await client.query(
                        `INSERT INTO ${historyRef(s)} (version, name, checksum, status, applied_by)
                         SELECT v, n, c, st, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS r(v, n, c, st)`,
                        [
                            rows.map((r) => r.version),
                            rows.map((r) => r.name),
                            rows.map((r) => r.checksum),
                            rows.map((r) => r.status),
                            s.appliedBy,
                        ],
                    );
                }
                await write();
                await client.query("COMMIT");
            } catch (err) {
                await client.query("ROLLBACK").catch(() => undefined);
                throw err;
            }
        } finally {
            await releaseLock(client, s);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Why schema:resolve will not settle a version while INVALID indexes remain, and the DROP INDEX statements that come first. */
function invalidIndexRefusal(
    row: HistoryRow,
    outcome: "applied" | "rolled-back",
    indexes: InvalidIndex[],
    searchedDatabase: boolean,
): MigrationHistoryError {
    const one = indexes.length === 1;
    const found = searchedDatabase
        ? `its file is not at hand, so any invalid index may be its, and the database has ${describeInvalidIndexes(indexes)}`
        : `it left ${describeInvalidIndexes(indexes)}`;
    const drops = indexes.map((i) => `  ${i.drop}`).join("\n");
    const next =
        outcome === "applied"
            ? `An invalid index is not a finished one. Drop ${one ? "it" : "them"}:\n${drops}\nthen build ${one ? "it" : "them"} again (run the file's statement by hand) ` +
              `and run 'npm run schema:resolve -- ${row.version} --applied' again; or, to run the file again instead, undo the rest of its changes and ` +
              `run 'npm run schema:resolve -- ${row.version} --rolled-back'.`
            : `Drop ${one ? "it" : "them"} first:\n${drops}\nthen run 'npm run schema:resolve -- ${row.version} --rolled-back' again ` +
              `(the file's CREATE INDEX would otherwise fail on the existing name when it runs again, or, with IF NOT EXISTS, keep the invalid index for good).`;
    return new MigrationHistoryError(
        `Version ${row.version} (${row.name}) cannot be recorded as ${outcome === "applied" ? "applied" : "rolled back"} yet: ${found}. ${next}`,
    );
}
