/** Restoring a dump: into a scratch database, checked against the backup's record, then swapped in. */
import * as fs from "fs";
import type { Client } from "pg";
import { KeelError } from "../../errors";
import { describeTarget } from "../../postgres/connection";
import type { BackupRecord } from "../types";
import { databaseName, libpqEnv, quoteIdent, serverVersionOf, urlForDatabase } from "./connection";
import { dropDatabase } from "../../postgres/dropDatabase";
import { adminClient, createDatabaseLike, databaseFacts } from "./databases";
import { stamp, verifyDump } from "./dump";
import { RestoreError } from "./errors";
import { BackupProgress, fileSize, formatBytes, runTool, seconds, sha256File, tail } from "./process";
import { DumpStats, statsOf } from "./stats";
import { findPgTools, newestPgTools, PgTools } from "./tools";

/** pg_restore into an existing (empty) database; throws with pg_restore's output on failure. */
export async function pgRestoreInto(
    url: string,
    database: string,
    file: string,
    tools: PgTools,
    progress: BackupProgress,
    intervalMs: number,
): Promise<void> {
    const res = await runTool(
        tools.pgRestore,
        ["--exit-on-error", "--no-password", `--dbname=${database}`, file],
        libpqEnv(url, process.env, database),
        (ms) => progress(`pg_restore: ${seconds(ms)} elapsed`),
        intervalMs,
    );
    if (res.code !== 0) throw new RestoreError(`pg_restore ${tools.version} failed with exit code ${res.code}:\n${tail(res.stderr)}`);
}

/** Differences between what a backup recorded and what a restored copy holds. */
export function compareWithRecord(record: BackupRecord, copy: DumpStats): string[] {
    const problems: string[] = [];
    if (record.fingerprint && record.fingerprint !== copy.fingerprint) {
        problems.push(`schema fingerprint ${copy.fingerprint.slice(0, 12)}… differs from the backup's ${record.fingerprint.slice(0, 12)}…`);
    }
    const expected = record.rowCounts ?? {};
    for (const [table, rows] of Object.entries(expected)) {
        const got = copy.tables[table];
        if (!got) problems.push(`table ${table} is missing`);
        else if (got.rows !== rows) problems.push(`table ${table}: ${got.rows} rows, the backup recorded ${rows}`);
    }
    if (record.rowCounts)
        for (const table of Object.keys(copy.tables))
            if (!(table in expected)) problems.push(`table ${table} is not in the backup's record`);
    return problems;
}

export interface RestorePlan {
    backup: BackupRecord;
    /** host:port/database of the target, without credentials. */
    target: string;
    database: string;
    scratch: string;
    /** The name the current database is kept under. */
    previous: string;
    steps: string[];
}

/** Says what a restore would do; checks the file (sha256, pg_restore --list) and the target; changes nothing. */
export async function planRestore(
    url: string,
    backup: BackupRecord,
    now = new Date(),
    env: Record<string, string | undefined> = process.env,
): Promise<RestorePlan> {
    if (!fs.existsSync(backup.location)) throw new RestoreError(`The backup file ${backup.location} does not exist.`);
    // The sha256 is checked while pg_restore reads the file into the scratch database (executeRestore).
    await verifyDump(backup.location, newestPgTools(env)).catch((e: Error) => {
        throw new RestoreError(`${e.message} Nothing was restored.`);
    });
    const database = databaseName(url);
    const t = stamp(now).slice(0, 15).toLowerCase();
    const scratch = `${database}_keel_restore_${t}`.slice(0, 63);
    const previous = `${database}_keel_before_restore_${t}`.slice(0, 63);
    const target = describeTarget(url);
    return {
        backup,
        target,
        database,
        scratch,
        previous,
        steps: [
            `create the database '${scratch}' on the same server and restore ${backup.id} into it with pg_restore` +
                (backup.sha256 ? `, checking the file's sha256 against the one recorded (${backup.sha256.slice(0, 12)}…) meanwhile` : ""),
            `check it: schema fingerprint${backup.fingerprint ? "" : " (none recorded)"} and row counts of ${Object.keys(backup.rowCounts ?? {}).length} tables against the backup's record`,
            `disconnect every session from '${database}', then in one transaction rename '${database}' to '${previous}' and '${scratch}' to '${database}'`,
            `keep '${previous}' (drop it yourself once satisfied: DROP DATABASE "${previous}")`,
        ],
    };
}

export interface RestoreHooks {
    progress?: BackupProgress;
    progressIntervalMs?: number;
    historySchema?: string;
    env?: Record<string, string | undefined>;
    /** Tests: runs after the copy is checked, right before the swap. */
    beforeSwap?: (scratchUrl: string) => Promise<void>;
}

/**
 * Carries out a plan: restore into the scratch database, check it, and only then
 * swap it in for the target in one transaction. On any failure before the swap
 * the scratch database is dropped and the target is untouched.
 */
export async function executeRestore(
    url: string,
    plan: RestorePlan,
    hooks: RestoreHooks = {},
): Promise<{ previous: string; checked: string[] }> {
    const progress = hooks.progress ?? (() => undefined);
    const admin = await adminClient(url, "keel-restore");
    let scratchCreated = false;
    try {
        const facts = await databaseFacts(admin, plan.database);
        if (!facts) throw new RestoreError(`The database '${plan.database}' does not exist on ${plan.target}.`);
        const server = await serverVersionOf(admin);
        const tools = findPgTools(server.text, server.major, hooks.env ?? process.env);
        progress(`creating '${plan.scratch}'`);
        await createDatabaseLike(admin, plan.scratch, facts);
        scratchCreated = true;
        progress(
            `restoring ${plan.backup.id} (${formatBytes(plan.backup.sizeBytes ?? fileSize(plan.backup.location))}) into '${plan.scratch}' with pg_restore ${tools.version}`,
        );
        // The file's sha256 is read beside pg_restore (both from the page cache); a mismatch stops before the swap.
        const expected = plan.backup.sha256;
        const [restoreError, actual] = await Promise.all([
            pgRestoreInto(url, plan.scratch, plan.backup.location, tools, progress, hooks.progressIntervalMs ?? 5000).then(
                () => undefined,
                (e: unknown) => e,
            ),
            expected ? sha256File(plan.backup.location) : Promise.resolve(undefined),
        ]);
        if (expected && actual !== expected) {
            throw new RestoreError(
                `${plan.backup.location} has sha256 ${actual}, but ${expected} was recorded when it was taken: the file changed or is damaged. '${plan.database}' was not changed.`,
            );
        }
        if (restoreError) throw restoreError;
        const scratchUrl = urlForDatabase(url, plan.scratch);
        const copy = await statsOf(scratchUrl, hooks.historySchema ?? "public", false);
        const problems = compareWithRecord(plan.backup, copy);
        if (problems.length)
            throw new RestoreError(`The restored copy does not match the backup's record:\n  - ${problems.join("\n  - ")}`);
        const checked = [
            plan.backup.fingerprint ? `schema fingerprint ${copy.fingerprint.slice(0, 12)}… matches` : "no fingerprint was recorded",
            `${Object.keys(copy.tables).length} tables, ${Object.values(copy.tables).reduce((n, t) => n + t.rows, 0)} rows${plan.backup.rowCounts ? ", counts match" : ""}`,
        ];
        progress(`checked '${plan.scratch}': ${checked.join("; ")}`);
        if (hooks.beforeSwap) await hooks.beforeSwap(scratchUrl);
        await swapDatabases(admin, plan, progress);
        scratchCreated = false;
        progress(`'${plan.database}' now holds ${plan.backup.id}; the previous database is kept as '${plan.previous}'`);
        return { previous: plan.previous, checked };
    } catch (err) {
        if (scratchCreated) {
            progress(`dropping '${plan.scratch}'; '${plan.database}' was not changed`);
            await dropDatabase(admin, plan.scratch).catch(() => undefined);
        }
        if (err instanceof KeelError || (err as Error)?.name === "RestoreError") throw err;
        throw new RestoreError(
            `Restore of ${plan.backup.id} into ${plan.target} failed: ${(err as Error)?.message ?? err}. '${plan.database}' was not changed.`,
        );
    } finally {
        await admin.end().catch(() => undefined);
    }
}

/** The names a swap renames: `database` to `previous`, and `scratch` to `database`. */
export interface SwapNames {
    database: string;
    scratch: string;
    previous: string;
}

/** Renames target -> previous and scratch -> target in one transaction, with the target's sessions ended first. */
export async function swapDatabases(admin: Client, plan: SwapNames, progress: BackupProgress): Promise<void> {
    const db = quoteIdent(plan.database);
    await admin.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS false`);
    try {
        for (let attempt = 0; ; attempt++) {
            const ended = await admin.query(
                `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
                [plan.database],
            );
            if (ended.rows[0].n) progress(`ended ${ended.rows[0].n} session(s) on '${plan.database}'`);
            try {
                await admin.query("BEGIN");
                await admin.query(`ALTER DATABASE ${db} RENAME TO ${quoteIdent(plan.previous)}`);
                await admin.query(`ALTER DATABASE ${quoteIdent(plan.scratch)} RENAME TO ${db}`);
                await admin.query("COMMIT");
                break;
            } catch (err: any) {
                await admin.query("ROLLBACK").catch(() => undefined);
                // 55006: still in use by a session that has not gone yet.
                if (err?.code !== "55006" || attempt >= 20) throw err;
                await new Promise((r) => setTimeout(r, 250));
            }
        }
    } catch (err) {
        await admin.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
        throw err;
    }
    await admin.query(`ALTER DATABASE ${quoteIdent(plan.previous)} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
}

/**
 * Restores a backup over the database at `url`: prints the plan through
 * `progress`, asks `confirm`, and refuses (changing nothing) without a yes.
 */
export async function restoreDump(
    url: string,
    backup: BackupRecord,
    confirm: (plan: RestorePlan) => Promise<boolean> | boolean,
    hooks: RestoreHooks = {},
): Promise<{ previous: string; checked: string[] }> {
    const plan = await planRestore(url, backup, new Date(), hooks.env ?? process.env);
    const progress = hooks.progress ?? (() => undefined);
    progress(
        `restore of ${plan.backup.id} (schema version ${plan.backup.schemaVersion || "unknown"}, taken ${plan.backup.takenAt}) into ${plan.target} will:`,
    );
    plan.steps.forEach((s, i) => progress(`  ${i + 1}. ${s}`));
    if (!(await confirm(plan)))
        throw new RestoreError(`The restore was not confirmed; nothing was changed. (Pass --yes to confirm in scripts.)`);
    return executeRestore(url, plan, hooks);
}
