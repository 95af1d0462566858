/**
 * The migration runner: one runner at a time under an advisory lock, each file
 * in its own transaction with its history row, timeouts per file, and the
 * schema fingerprint after every apply. Used by the Pulumi provider and the
 * schema:* scripts alike. The lock is in runnerLock.ts, the history table in
 * history.ts, a file's transaction in fileTransaction.ts, schema:resolve in
 * resolve.ts.
 */
import { HISTORY_TABLE } from "./historyTable";
import type { Client } from "pg";
import { MigrationHistoryError, MigrationRunError } from "../errors";
import { describeTarget, openClient } from "../postgres/connection";
import { schemaFingerprint, SchemaFingerprint } from "../postgres/fingerprint";
import { runError, runFileInTransaction } from "./fileTransaction";
import { ensureHistoryTable, historyDigest, historyRef, readHistory } from "./history";
import { invalidIndexesOf } from "./invalidIndexes";
import { isParsed, MigrationFile, MigrationSource, parseMigrations } from "./migrationSet";
import { describeInvalidIndexes, HistoryRow, InvalidIndex, migrationPlan, MigrationPlan, PlanOptions, PlannedFile } from "./plan";
import { acquireLock, endWorkIfRunnerDies, LockWaitHooks, releaseLock } from "./runnerLock";
import type { SqlStatement } from "./sql";

// The runner's parts, importable from here as before.
export { runFileInTransaction, type FileTransactionOptions } from "./fileTransaction";
export { historyDigest, historyTableDdl, readHistory, recordAdoption } from "./history";
export { resolveMigration } from "./resolve";
export type { LockWaitHooks } from "./runnerLock";

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
