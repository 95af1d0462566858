/** Taking a dump: pg_dump in the snapshot the statistics are read in, verified, with its sidecar record. */
import * as fs from "fs";
import * as path from "path";
import { describeTarget } from "../../postgres/connection";
import type { BackupRecord } from "../types";
import { connect, libpqEnv, serverVersionOf } from "./connection";
import { BackupError } from "./errors";
import { BackupProgress, fileSize, formatBytes, runTool, seconds, sha256File, tail } from "./process";
import { DumpStats, readStats } from "./stats";
import { findPgTools, newestPgTools, PgTools } from "./tools";

export interface DumpOptions {
    /** Backup root: the file goes into `<dir>/<stack>/`. */
    dir: string;
    stack: string;
    /** First pending version the backup is taken before; "" for a backup by hand or a drill. */
    beforeVersion: string;
    /** Newest applied version the backup holds. */
    schemaVersion: string;
    progress?: BackupProgress;
    /** How often a progress line is written (default 5 s). */
    progressIntervalMs?: number;
    /** Check the file with `pg_restore --list` (default true). */
    verify?: boolean;
    /** Schema of keel_schema_history (left out of the fingerprint). */
    historySchema?: string;
    /** Environment for tool lookup (KEEL_PG_BIN, PATH); default process.env. */
    env?: Record<string, string | undefined>;
    now?: Date;
    /** Also read per-table data checksums (the drill). */
    checksums?: boolean;
}

export function stamp(now: Date): string {
    // 20261121T062248123Z: sorts by time, safe in file names.
    return now.toISOString().replace(/[-:.]/g, "");
}

function safeVersion(v: string): string {
    return v ? v.replace(/[^0-9A-Za-z_-]/g, "_") : "manual";
}

/** Creates `<dir>/<stack>` owner-only (0700); returns it. */
export function ensureBackupDir(dir: string, stack: string): string {
    const root = path.resolve(dir);
    if (!fs.existsSync(root)) fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const stackDir = path.join(root, stack);
    fs.mkdirSync(stackDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(stackDir, 0o700);
    return stackDir;
}

function writeSidecar(file: string, record: BackupRecord): void {
    const json = `${file}.json`;
    const tmp = `${json}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, json);
}

/** Takes a dump and returns its record with what its snapshot held. */
export async function takeDumpWithStats(url: string, o: DumpOptions): Promise<{ record: BackupRecord; stats: DumpStats }> {
    const progress = o.progress ?? (() => undefined);
    const env = o.env ?? process.env;
    const now = o.now ?? new Date();
    const target = describeTarget(url);

    const client = await connect(url, "keel-backup");
    let tmp: string | undefined;
    try {
        const server = await serverVersionOf(client);
        const tools = findPgTools(server.text, server.major, env);
        const stackDir = ensureBackupDir(o.dir, o.stack);
        const id = `${stamp(now)}_before_${safeVersion(o.beforeVersion)}.dump`;
        const file = path.join(stackDir, id);
        tmp = path.join(stackDir, `.${id}.partial`);
        // Created owner-only before pg_dump opens it: the data is never readable by others, not even midway.
        fs.closeSync(fs.openSync(tmp, "w", 0o600));
        fs.chmodSync(tmp, 0o600);

        // One snapshot for pg_dump and the statistics recorded next to the file.
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        let snapshot: string | undefined;
        try {
            snapshot = (await client.query("SELECT pg_export_snapshot() AS s")).rows[0].s;
        } catch {
            await client.query("ROLLBACK");
            await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        }
        progress(`backup of ${target} with pg_dump ${tools.version} (server ${server.text}) into ${file}`);
        const args = ["--format=custom", "--no-password", `--file=${tmp}`, ...(snapshot ? [`--snapshot=${snapshot}`] : [])];
        const partial = tmp;
        const dumping = runTool(
            tools.pgDump,
            args,
            libpqEnv(url, env),
            (ms) => progress(`pg_dump: ${formatBytes(fileSize(partial))} written, ${seconds(ms)} elapsed`),
            o.progressIntervalMs ?? 5000,
        );
        // Read while pg_dump runs, in the same snapshot; the error of either is reported.
        const statsP = readStats(client, o.historySchema ?? "public", !!o.checksums, !!snapshot);
        const [dumped, statsResult] = await Promise.all([
            dumping,
            statsP.then(
                (s) => ({ s }),
                (e) => ({ e }),
            ),
        ]);
        await client.query("COMMIT").catch(() => undefined);
        if (dumped.code !== 0) {
            throw new BackupError(
                `pg_dump ${tools.version} (${tools.pgDump}) failed with exit code ${dumped.code} on ${target} (server PostgreSQL ${server.text}):\n${tail(dumped.stderr)}`,
            );
        }
        if ("e" in statsResult)
            throw new BackupError(`Reading the tables of ${target} for the backup's record failed: ${(statsResult.e as Error).message}`);
        const stats = statsResult.s;
        const elapsed = Date.now() - now.getTime();

        let tocEntries: number | undefined;
        if (o.verify !== false) tocEntries = (await verifyDump(tmp, tools)).entries;
        const sizeBytes = fileSize(tmp);
        const sha256 = await sha256File(tmp);
        fs.renameSync(tmp, file);
        tmp = undefined;
        const record: BackupRecord = {
            id,
            kind: "pg_dump",
            stack: o.stack,
            takenAt: now.toISOString(),
            schemaVersion: o.schemaVersion,
            beforeVersion: o.beforeVersion,
            location: file,
            sizeBytes,
            sha256,
            fingerprint: stats.fingerprint,
            rowCounts: Object.fromEntries(Object.entries(stats.tables).map(([k, v]) => [k, v.rows])),
            serverVersion: server.text,
            toolVersion: tools.version,
            ...(tocEntries !== undefined ? { verified: `pg_restore --list: ${tocEntries} entries` } : {}),
        };
        writeSidecar(file, record);
        progress(
            `backup ${id}: ${formatBytes(sizeBytes)} in ${seconds(elapsed)}, sha256 ${sha256.slice(0, 12)}…` +
                (tocEntries !== undefined ? `, verified (${tocEntries} entries)` : ""),
        );
        return { record, stats };
    } finally {
        if (tmp) fs.rmSync(tmp, { force: true });
        await client.end().catch(() => undefined);
    }
}

/**
 * `pg_dump --format=custom` into `<dir>/<stack>/<timestamp>_before_<version>.dump`
 * (written under a temporary name, renamed when complete), verified with
 * `pg_restore --list`, with a sidecar `.json` record.
 */
export async function takeDump(url: string, o: DumpOptions): Promise<BackupRecord> {
    return (await takeDumpWithStats(url, o)).record;
}

/** Reads the dump's table of contents with pg_restore --list; throws when it cannot. */
export async function verifyDump(file: string, tools?: PgTools): Promise<{ entries: number }> {
    const t = tools ?? newestPgTools();
    const res = await runTool(t.pgRestore, ["--list", file], { ...process.env, PGPASSWORD: "" } as Record<string, string>);
    if (res.code !== 0) throw new BackupError(`pg_restore --list cannot read ${file}; the backup is unusable:\n${tail(res.stderr)}`);
    const entries = res.stdout.split("\n").filter((l) => /^\d+;/.test(l)).length;
    if (!/^; Archive created at/m.test(res.stdout))
        throw new BackupError(`pg_restore --list read no archive header from ${file}; the backup is unusable.`);
    return { entries };
}
