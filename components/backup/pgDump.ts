/**
 * pg_dump backups of a PostgreSQL reached by URL (Docker or external): take one
 * (custom format, owner-only files, a sidecar .json with size, sha256, schema
 * version, fingerprint and row counts), verify it, list and prune them, restore
 * one into a fresh database and swap it in, and drill the whole loop.
 *
 * Serializable into the Schema provider: no Pulumi imports, Node and npm modules
 * are required inside functions (Keel's own are imported, so the serializer
 * captures them), no module state. Credentials reach pg_dump and pg_restore
 * through PG* environment variables, never on argv (visible in `ps`) or in logs.
 */
import { HISTORY_TABLE } from "../schema/historyTable";
import type { Client } from "pg";
import { KeelError } from "../errors";
import { describeTarget, openClient } from "../postgres/connection";
import { dropDatabase } from "../postgres/dropDatabase";
import { schemaFingerprint } from "../postgres/fingerprint";
import type { BackupRecord, DrillReport } from "./types";

/** A backup could not be taken or verified; nothing was migrated. */
export class BackupError extends KeelError {
    constructor(message: string) {
        super(message, "BackupError");
    }
}

/** A restore was refused or failed; the target database is as it was. */
export class RestoreError extends KeelError {
    constructor(message: string) {
        super(message, "RestoreError");
    }
}

export type BackupProgress = (message: string) => void;

/** The pg_dump/pg_restore pair Keel runs, and the server they serve. */
export interface PgTools {
    dir: string;
    pgDump: string;
    pgRestore: string;
    /** e.g. `15.18` */
    version: string;
    major: number;
    /** e.g. `16.4`; absent when found without a server (list, verify). */
    serverVersion?: string;
    serverMajor?: number;
}

/** Per table (`schema.table`): rows, and a data checksum when asked for. */
export type TableStats = Record<string, { rows: number; checksum?: string }>;

/** What the snapshot of a dump held, besides the file. */
export interface DumpStats {
    fingerprint: string;
    tables: TableStats;
    /** `schema.sequence` -> last value (`unset` before the first nextval). */
    sequences: Record<string, string>;
    /** The statistics were read in the very snapshot pg_dump used. */
    consistent: boolean;
}

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

// ---------------------------------------------------------------- tools

function parseToolVersion(text: string): { version: string; major: number } | undefined {
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text) ?? /\b(\d+)(?:\.(\d+))?/.exec(text);
    if (!m) return undefined;
    return { version: m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1], major: Number(m[1]) };
}

/** Directories that may hold pg_dump, best first: KEEL_PG_BIN alone when set; else versioned Debian dirs, newest first, then PATH. */
export function candidateBinDirs(env: Record<string, string | undefined> = process.env): string[] {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
    if (env.KEEL_PG_BIN) return [env.KEEL_PG_BIN];
    const dirs: string[] = [];
    for (let n = 18; n >= 10; n--) dirs.push(`/usr/lib/postgresql/${n}/bin`);
    for (const p of (env.PATH ?? "").split(path.delimiter)) if (p && !dirs.includes(p)) dirs.push(p);
    return dirs.filter((d) => fs.existsSync(path.join(d, "pg_dump")) && fs.existsSync(path.join(d, "pg_restore")));
}

function toolIn(dir: string): PgTools | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawnSync }: typeof import("child_process") = require("child_process");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
    const pgDump = path.join(dir, "pg_dump");
    const res = spawnSync(pgDump, ["--version"], { encoding: "utf8", timeout: 10000 });
    const v = res.status === 0 ? parseToolVersion(res.stdout) : undefined;
    return v && { dir, pgDump, pgRestore: path.join(dir, "pg_restore"), ...v };
}

/** The major version a Debian-style directory is named for (`/usr/lib/postgresql/16/bin` -> 16). */
function dirMajor(dir: string): number | undefined {
    const m = /\/postgresql\/(\d+)\/bin\/?$/.exec(dir);
    return m ? Number(m[1]) : undefined;
}

/**
 * pg_dump and pg_restore of the server's major version or newer (pg_dump refuses
 * a newer server), the closest to the server first. Versioned directories are
 * tried by their names' order and PATH only when none fits, so usually one
 * `pg_dump --version` runs. The error names both versions and how to get the right ones.
 */
export function findPgTools(serverVersion: string, serverMajor: number, env: Record<string, string | undefined> = process.env): PgTools {
    const dirs = candidateBinDirs(env);
    const versioned = dirs.filter((d) => (dirMajor(d) ?? 0) >= serverMajor && !env.KEEL_PG_BIN).sort((a, b) => dirMajor(a)! - dirMajor(b)!);
    for (const d of versioned) {
        const t = toolIn(d);
        if (t && t.major >= serverMajor) return { ...t, serverVersion, serverMajor };
    }
    const found = dirs
        .filter((d) => !versioned.includes(d))
        .map(toolIn)
        .filter((t): t is PgTools => !!t);
    const usable = found.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
    if (usable.length) return { ...usable[0], serverVersion, serverMajor };
    const hint =
        `Install the PostgreSQL ${serverMajor} client tools or newer (Debian/Ubuntu: postgresql-client-${serverMajor}) ` +
        `or point KEEL_PG_BIN at the directory that holds their pg_dump and pg_restore.`;
    if (!found.length) {
        throw new BackupError(
            `pg_dump not found${env.KEEL_PG_BIN ? ` in KEEL_PG_BIN (${env.KEEL_PG_BIN})` : " (looked in /usr/lib/postgresql/<version>/bin and PATH)"}; ` +
                `the server is PostgreSQL ${serverVersion}. ${hint}`,
        );
    }
    const newest = [...found].sort((a, b) => b.major - a.major)[0];
    throw new BackupError(
        `pg_dump ${newest.version} (${newest.pgDump}) is older than the server, PostgreSQL ${serverVersion}: ` +
            `pg_dump cannot dump a server of a newer major version. ${hint}`,
    );
}

/** The newest pg_restore around, for work without a server (verify, list): the first working candidate. */
export function newestPgTools(env: Record<string, string | undefined> = process.env): PgTools {
    for (const d of candidateBinDirs(env)) {
        const t = toolIn(d);
        if (t) return t;
    }
    throw new BackupError("pg_restore not found (looked in KEEL_PG_BIN, /usr/lib/postgresql/<version>/bin and PATH).");
}

// ---------------------------------------------------------------- connections

/** libpq environment for a URL: host, port, user, password, database and the usual parameters; other PG* variables removed. */
export function libpqEnv(url: string, base: Record<string, string | undefined> = process.env, database?: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined && !/^PG[A-Z]+$/.test(k)) env[k] = v;
    const u = new URL(url);
    const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    if (host) env.PGHOST = decodeURIComponent(host);
    env.PGPORT = u.port || "5432";
    if (u.username) env.PGUSER = decodeURIComponent(u.username);
    if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
    env.PGDATABASE = database ?? decodeURIComponent(u.pathname.replace(/^\//, "") || "postgres");
    const params: Record<string, string> = {
        sslmode: "PGSSLMODE",
        sslrootcert: "PGSSLROOTCERT",
        sslcert: "PGSSLCERT",
        sslkey: "PGSSLKEY",
        options: "PGOPTIONS",
        application_name: "PGAPPNAME",
        connect_timeout: "PGCONNECT_TIMEOUT",
        target_session_attrs: "PGTARGETSESSIONATTRS",
        channel_binding: "PGCHANNELBINDING",
        gssencmode: "PGGSSENCMODE",
        sslcrl: "PGSSLCRL",
        host: "PGHOST",
        port: "PGPORT",
    };
    for (const [k, v] of u.searchParams) if (params[k]) env[params[k]] = v;
    if (!u.searchParams.has("application_name")) env.PGAPPNAME = "keel-backup";
    return env;
}

/** The same server, another database. */
export function urlForDatabase(url: string, database: string): string {
    const u = new URL(url);
    u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
}

function databaseName(url: string): string {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres";
}

async function connect(url: string, applicationName: string): Promise<Client> {
    return openClient(url, { applicationName });
}

async function serverVersionOf(client: Client): Promise<{ text: string; major: number }> {
    const res = await client.query("SELECT current_setting('server_version') AS text, current_setting('server_version_num')::int AS num");
    return { text: String(res.rows[0].text).split(" ")[0], major: Math.floor(res.rows[0].num / 10000) };
}

/** Tools for the server at `url`. */
export async function pgToolsFor(url: string, env: Record<string, string | undefined> = process.env): Promise<PgTools> {
    const client = await connect(url, "keel-backup");
    try {
        const v = await serverVersionOf(client);
        return findPgTools(v.text, v.major, env);
    } finally {
        await client.end().catch(() => undefined);
    }
}

function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------- running tools

interface RunResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a tool; while it runs, `tick(elapsedMs)` every intervalMs. */
function runTool(
    exe: string,
    args: string[],
    env: Record<string, string>,
    tick?: (elapsedMs: number) => void,
    intervalMs = 5000,
): Promise<RunResult> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn }: typeof import("child_process") = require("child_process");
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const child = spawn(exe, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => {
            // Keep the tail: a failing restore can print a lot.
            stderr = (stderr + d).slice(-20000);
        });
        const timer = tick ? setInterval(() => tick(Date.now() - started), intervalMs) : undefined;
        child.on("error", (err) => {
            if (timer) clearInterval(timer);
            reject(err);
        });
        child.on("close", (code) => {
            if (timer) clearInterval(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

function tail(text: string, lines = 12): string {
    const all = text.trim().split("\n");
    return (all.length > lines ? ["…", ...all.slice(-lines)] : all).join("\n");
}

export function formatBytes(n: number): string {
    if (n < 1024) return `${n} B`;
    const units = ["KB", "MB", "GB", "TB"];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)}s`;
}

function fileSize(file: string): number {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    try {
        return fs.statSync(file).size;
    } catch {
        return 0;
    }
}

export async function sha256File(file: string): Promise<string> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createHash }: typeof import("crypto") = require("crypto");
    const hash = createHash("sha256");
    await new Promise<void>((resolve, reject) => {
        fs.createReadStream(file, { highWaterMark: 1 << 20 })
            .on("data", (d) => hash.update(d))
            .on("end", () => resolve())
            .on("error", reject);
    });
    return hash.digest("hex");
}

// ---------------------------------------------------------------- statistics

const USER_TABLES = `
    SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1, 2`;

/**
 * Row counts of every user table (and, with `checksums`, an order-independent
 * checksum of its rows: the sum of 60 bits of each row's md5), and the
 * sequences' values. Runs in the client's current transaction.
 */
export async function readTableStats(
    client: Client,
    checksums: boolean,
): Promise<{ tables: TableStats; sequences: Record<string, string> }> {
    const rels = (await client.query(USER_TABLES)).rows as { schema: string; name: string; kind: string }[];
    const tables: TableStats = {};
    const sequences: Record<string, string> = {};
    const plain = rels.filter((r) => r.kind === "r");
    // A few hundred tables per round trip.
    for (let i = 0; i < plain.length; i += 200) {
        const chunk = plain.slice(i, i + 200);
        const sql = chunk
            .map((t, j) => {
                return tableStatsQuery(t.schema, t.name, checksums).replace(/^SELECT /, `SELECT ${j} AS i, `);
            })
            .join("\nUNION ALL\n");
        for (const r of (await client.query(sql)).rows) {
            const t = chunk[r.i];
            tables[`${t.schema}.${t.name}`] = { rows: Number(r.n), ...(checksums ? { checksum: `${r.n}:${r.h}` } : {}) };
        }
    }
    for (const s of rels.filter((r) => r.kind === "S")) {
        const ref = `${quoteIdent(s.schema)}.${quoteIdent(s.name)}`;
        const r = (await client.query(`SELECT last_value::text AS v, is_called FROM ${ref}`)).rows[0];
        sequences[`${s.schema}.${s.name}`] = r.is_called ? r.v : `unset (${r.v})`;
    }
    return { tables, sequences };
}

async function readStats(client: Client, historySchema: string, checksums: boolean, consistent: boolean): Promise<DumpStats> {
    const fp = await schemaFingerprint(client, historySchema, HISTORY_TABLE);
    const { tables, sequences } = await readTableStats(client, checksums);
    return { fingerprint: fp.hash, tables, sequences, consistent };
}

// ---------------------------------------------------------------- taking a dump

function stamp(now: Date): string {
    // 20261121T062248123Z: sorts by time, safe in file names.
    return now.toISOString().replace(/[-:.]/g, "");
}

function safeVersion(v: string): string {
    return v ? v.replace(/[^0-9A-Za-z_-]/g, "_") : "manual";
}

/** Creates `<dir>/<stack>` owner-only (0700); returns it. */
export function ensureBackupDir(dir: string, stack: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
    const root = path.resolve(dir);
    if (!fs.existsSync(root)) fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const stackDir = path.join(root, stack);
    fs.mkdirSync(stackDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(stackDir, 0o700);
    return stackDir;
}

function writeSidecar(file: string, record: BackupRecord): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    const json = `${file}.json`;
    const tmp = `${json}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, json);
}

/** Takes a dump and returns its record with what its snapshot held. */
export async function takeDumpWithStats(url: string, o: DumpOptions): Promise<{ record: BackupRecord; stats: DumpStats }> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
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

// ---------------------------------------------------------------- listing and pruning

const DUMP_NAME = /^(\d{8}T\d{9}Z)_before_([0-9A-Za-z_-]+)\.dump$/;

/** The stack's backups, newest first; a dump without its sidecar is listed from its name. */
export function listDumps(dir: string, stack: string): BackupRecord[] {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
    const stackDir = path.resolve(dir, stack);
    if (!fs.existsSync(stackDir)) return [];
    const records: BackupRecord[] = [];
    for (const name of fs.readdirSync(stackDir)) {
        const m = DUMP_NAME.exec(name);
        if (!m) continue;
        const file = path.join(stackDir, name);
        let record: BackupRecord;
        try {
            record = { ...JSON.parse(fs.readFileSync(`${file}.json`, "utf8")), location: file, id: name };
        } catch {
            const t = m[1];
            record = {
                id: name,
                kind: "pg_dump",
                stack,
                takenAt: `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`,
                schemaVersion: "",
                beforeVersion: m[2] === "manual" ? "" : m[2],
                location: file,
                sizeBytes: fileSize(file),
            };
        }
        records.push(record);
    }
    return records.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/**
 * Keeps the newest `keep` backups of the stack; removes older dumps and their
 * sidecars, and partial files a killed run left over a day ago. Returns the removed ids.
 */
export function pruneDumps(dir: string, stack: string, keep: number, now = Date.now()): string[] {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
    const removed: string[] = [];
    const stackDir = path.resolve(dir, stack);
    for (const name of fs.existsSync(stackDir) ? fs.readdirSync(stackDir) : []) {
        const partial = /^\.(.*_before_.*\.dump)\.partial$/.exec(name);
        if (!partial) continue;
        const file = path.join(stackDir, name);
        if (now - fs.statSync(file).mtimeMs > 86_400_000) {
            fs.rmSync(file, { force: true });
            removed.push(name);
        }
    }
    for (const r of listDumps(dir, stack).slice(Math.max(1, keep))) {
        fs.rmSync(r.location, { force: true });
        fs.rmSync(`${r.location}.json`, { force: true });
        removed.push(r.id);
    }
    return removed;
}

/** Finds a backup of the stack by id (file name, or a unique prefix of it). */
export function findDump(dir: string, stack: string, id: string): BackupRecord {
    const all = listDumps(dir, stack);
    const exact = all.find((r) => r.id === id || r.id === `${id}.dump`);
    if (exact) return exact;
    const prefixed = all.filter((r) => r.id.startsWith(id));
    if (prefixed.length === 1) return prefixed[0];
    throw new RestoreError(
        prefixed.length
            ? `'${id}' matches ${prefixed.length} backups of '${stack}': ${prefixed.map((r) => r.id).join(", ")}`
            : `No backup '${id}' for stack '${stack}' in ${dir}; 'npm run db:backups -- --stack ${stack}' lists them.`,
    );
}

// ---------------------------------------------------------------- restoring

export interface DatabaseFacts {
    name: string;
    owner: string;
    encoding: string;
    collate: string;
    ctype: string;
}

/** A database's owner, encoding and locale, to create another like it; undefined when there is none of that name. */
export async function databaseFacts(admin: Client, name: string): Promise<DatabaseFacts | undefined> {
    const res = await admin.query(
        `SELECT d.datname AS name, pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype
         FROM pg_database d WHERE d.datname = $1`,
        [name],
    );
    return res.rows[0];
}

/** A maintenance connection on the same server (the postgres database, else template1). */
export async function adminClient(url: string, applicationName: string): Promise<Client> {
    try {
        return await connect(urlForDatabase(url, "postgres"), applicationName);
    } catch {
        return connect(urlForDatabase(url, "template1"), applicationName);
    }
}

/** Creates `name` with `like`'s encoding and locale, owned by its owner when this user may make it so. */
export async function createDatabaseLike(admin: Client, name: string, like: DatabaseFacts): Promise<void> {
    const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${admin.escapeLiteral(like.encoding)} LC_COLLATE ${admin.escapeLiteral(like.collate)} LC_CTYPE ${admin.escapeLiteral(like.ctype)}`;
    try {
        await admin.query(`${base} OWNER ${quoteIdent(like.owner)}`);
    } catch {
        // Not a member of the owner's role: the restoring user owns it.
        await admin.query(base);
    }
}

/** pg_restore into an existing (empty) database; throws with pg_restore's output on failure. */
async function pgRestoreInto(
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

function tableStatsQuery(schema: string, name: string, checksums: boolean): string {
    const ref = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    const sum = checksums ? `coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)::text` : `NULL::text`;
    return `SELECT count(*)::bigint AS n, ${sum} AS h FROM ${ref} t`;
}

/**
 * Statistics of a database nobody writes to (a restored copy): the fingerprint
 * on one connection while the tables, biggest first, are read on a few others.
 */
async function statsOf(url: string, historySchema: string, checksums: boolean, parallel = 3): Promise<DumpStats> {
    const main = await connect(url, "keel-restore-check");
    const workers: Client[] = [];
    try {
        const rels = (
            await main.query(
                `SELECT r.schema, r.name, r.kind, c.relpages FROM (${USER_TABLES}) r
                 JOIN pg_namespace n ON n.nspname = r.schema JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.name
                 ORDER BY c.relpages DESC, 1, 2`,
            )
        ).rows as { schema: string; name: string; kind: string }[];
        const queue = rels.filter((r) => r.kind === "r");
        for (let i = 0; i < Math.min(parallel, queue.length); i++) workers.push(await connect(url, "keel-restore-check"));
        const tables: TableStats = {};
        const drain = async (c: Client) => {
            for (let t = queue.shift(); t; t = queue.shift()) {
                const r = (await c.query(tableStatsQuery(t.schema, t.name, checksums))).rows[0];
                tables[`${t.schema}.${t.name}`] = { rows: Number(r.n), ...(checksums ? { checksum: `${r.n}:${r.h}` } : {}) };
            }
        };
        const fp = schemaFingerprint(main, historySchema, HISTORY_TABLE);
        await Promise.all([fp, ...workers.map(drain)]);
        const sequences: Record<string, string> = {};
        for (const q of rels.filter((r) => r.kind === "S")) {
            const r = (await main.query(`SELECT last_value::text AS v, is_called FROM ${quoteIdent(q.schema)}.${quoteIdent(q.name)}`))
                .rows[0];
            sequences[`${q.schema}.${q.name}`] = r.is_called ? r.v : `unset (${r.v})`;
        }
        const sorted = Object.fromEntries(
            Object.keys(tables)
                .sort()
                .map((k) => [k, tables[k]]),
        );
        return { fingerprint: (await fp).hash, tables: sorted, sequences, consistent: true };
    } finally {
        for (const c of [main, ...workers]) await c.end().catch(() => undefined);
    }
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
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
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

/** Renames target -> previous and scratch -> target in one transaction, with the target's sessions ended first. */
async function swapDatabases(admin: Client, plan: RestorePlan, progress: BackupProgress): Promise<void> {
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
    progress(`'${plan.database}' now holds ${plan.backup.id}; the previous database is kept as '${plan.previous}'`);
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

// ---------------------------------------------------------------- drill

export interface DrillOptions {
    stack: string;
    progress?: BackupProgress;
    progressIntervalMs?: number;
    historySchema?: string;
    env?: Record<string, string | undefined>;
    /** Tests: change the copy after the restore (to see the drill fail). */
    afterRestore?: (copyUrl: string) => Promise<void>;
}

/**
 * Takes a backup into a temporary directory, restores it into a scratch
 * database, and compares schema fingerprint, per-table row counts and data
 * checksums, and sequence values with the source as the dump saw it (the same
 * snapshot). Removes the scratch database and the file in any case.
 */
export async function drill(url: string, o: DrillOptions): Promise<DrillReport> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs: typeof import("fs") = require("fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const os: typeof import("os") = require("os");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path: typeof import("path") = require("path");
    const progress = o.progress ?? (() => undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-drill-"));
    fs.chmodSync(dir, 0o700);
    const historySchema = o.historySchema ?? "public";
    const admin = await adminClient(url, "keel-drill");
    const scratch = `${databaseName(url)}_keel_drill_${stamp(new Date()).slice(0, 15).toLowerCase()}`.slice(0, 63);
    let created = false;
    try {
        const version = await appliedSchemaVersion(url, historySchema);
        const { record, stats: source } = await takeDumpWithStats(url, {
            dir,
            stack: o.stack,
            beforeVersion: "",
            schemaVersion: version,
            progress,
            progressIntervalMs: o.progressIntervalMs,
            historySchema,
            env: o.env,
            checksums: true,
        });
        const facts = await databaseFacts(admin, databaseName(url));
        const server = await serverVersionOf(admin);
        const tools = findPgTools(server.text, server.major, o.env ?? process.env);
        await createDatabaseLike(admin, scratch, facts!);
        created = true;
        progress(`restoring into the scratch database '${scratch}'`);
        await pgRestoreInto(url, scratch, record.location, tools, progress, o.progressIntervalMs ?? 5000);
        const copyUrl = urlForDatabase(url, scratch);
        if (o.afterRestore) await o.afterRestore(copyUrl);
        const copy = await statsOf(copyUrl, historySchema, true);
        return drillReport(record, source, copy);
    } finally {
        if (created)
            await dropDatabase(admin, scratch).catch((e: Error) => progress(`could not drop '${scratch}': ${e.message}; drop it by hand`));
        await admin.end().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The newest applied (or baseline) version in the database's history; "" without a history. */
export async function appliedSchemaVersion(url: string, historySchema: string): Promise<string> {
    const client = await connect(url, "keel-drill");
    try {
        const ref = `${quoteIdent(historySchema)}.${quoteIdent(HISTORY_TABLE)}`;
        const exists = (await client.query("SELECT to_regclass($1) IS NOT NULL AS p", [ref])).rows[0].p;
        if (!exists) return "";
        const r = await client.query(`SELECT max(version)::text AS v FROM ${ref} WHERE status IN ('applied', 'baseline')`);
        return r.rows[0].v ?? "";
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Compares source and copy; pure. */
export function drillReport(backup: BackupRecord, source: DumpStats, copy: DumpStats): DrillReport {
    const findings: string[] = [];
    if (source.fingerprint !== copy.fingerprint)
        findings.push(`schema fingerprint differs: source ${source.fingerprint.slice(0, 12)}…, copy ${copy.fingerprint.slice(0, 12)}…`);
    const names = [...new Set([...Object.keys(source.tables), ...Object.keys(copy.tables)])].sort();
    const tables: DrillReport["tables"] = names.map((table) => {
        const s = source.tables[table];
        const c = copy.tables[table];
        const row = {
            table,
            sourceRows: s?.rows ?? -1,
            copyRows: c?.rows ?? -1,
            sourceChecksum: s?.checksum ?? "",
            copyChecksum: c?.checksum ?? "",
            matches: !!s && !!c && s.rows === c.rows && s.checksum === c.checksum,
        };
        if (!s) findings.push(`table ${table} is only in the copy`);
        else if (!c) findings.push(`table ${table} is missing from the copy`);
        else if (s.rows !== c.rows) findings.push(`table ${table}: ${s.rows} rows in the source, ${c.rows} in the copy`);
        else if (s.checksum !== c.checksum) findings.push(`table ${table}: same ${s.rows} rows, but the data checksum differs`);
        return row;
    });
    for (const seq of [...new Set([...Object.keys(source.sequences), ...Object.keys(copy.sequences)])].sort()) {
        if (source.sequences[seq] !== copy.sequences[seq])
            findings.push(
                `sequence ${seq}: ${source.sequences[seq] ?? "missing"} in the source, ${copy.sequences[seq] ?? "missing"} in the copy`,
            );
    }
    if (!source.consistent)
        findings.push("note: the server could not export a snapshot, so the source was read beside pg_dump rather than in its snapshot");
    const passed = findings.every((f) => f.startsWith("note:"));
    if (passed)
        findings.unshift(
            `the copy matches: schema fingerprint, ${tables.length} tables (rows and data checksums), ${Object.keys(source.sequences).length} sequences`,
        );
    return { passed, backup, fingerprint: { source: source.fingerprint, copy: copy.fingerprint }, tables, findings };
}

/**
 * Compares two databases nobody writes to (a Neon backup branch and its restored
 * copy): what neonDrill's `compare` returns. Each side is read in one transaction.
 */
export async function compareDatabases(sourceUrl: string, copyUrl: string, historySchema = "public"): Promise<Omit<DrillReport, "backup">> {
    const [source, copy] = await Promise.all([statsOf(sourceUrl, historySchema, true), statsOf(copyUrl, historySchema, true)]);
    const { backup: _unused, ...rest } = drillReport(
        { id: "", kind: "neon-branch", stack: "", takenAt: "", schemaVersion: "", beforeVersion: "", location: "" },
        source,
        copy,
    );
    return rest;
}

/** The drill's report as text lines. */
export function formatDrillReport(r: DrillReport): string[] {
    const lines = [
        `drill ${r.passed ? "PASSED" : "FAILED"} (backup ${r.backup.id}, ${formatBytes(r.backup.sizeBytes ?? 0)}, schema version ${r.backup.schemaVersion || "none"})`,
    ];
    lines.push(
        `  schema fingerprint: source ${r.fingerprint.source.slice(0, 16)}…, copy ${r.fingerprint.copy.slice(0, 16)}… ${r.fingerprint.source === r.fingerprint.copy ? "ok" : "DIFFERS"}`,
    );
    for (const t of r.tables)
        lines.push(
            `  ${t.matches ? "ok  " : "FAIL"} ${t.table}: ${t.sourceRows} / ${t.copyRows} rows${t.matches ? "" : `, checksum ${t.sourceChecksum} / ${t.copyChecksum}`}`,
        );
    for (const f of r.findings) lines.push(`  - ${f}`);
    return lines;
}
