/**
 * The migration runner's lock: one runner at a time per database, through a
 * session advisory lock named after the history table, waited for within
 * keel:migrations.lockWaitSeconds; a timeout names the session holding it.
 */
import type { Client } from "pg";
import { DatabaseConnectionError } from "../errors";
import type { EngineSettings, Progress } from "./runner";

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

// 'KEEL' as the advisory lock class; the object is the history table's name.
const LOCK_CLASS = 0x4b45454c;

export function lockName(s: EngineSettings): string {
    return `${s.historySchema}.${s.historyTable}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the runner lock by polling pg_try_advisory_lock; the timeout error names the holder. */
export async function acquireLock(client: Client, s: EngineSettings, progress: Progress, hooks: LockWaitHooks = {}): Promise<void> {
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
export async function endWorkIfRunnerDies(client: Client): Promise<void> {
    await client.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
}

export async function releaseLock(client: Client, s: EngineSettings): Promise<void> {
    await client.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, lockName(s)]).catch(() => undefined);
}
