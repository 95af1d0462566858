/**
 * npm run bench:migrations [-- --runs 3 --count 1000 --big-count 10000 --no-10k --disk]
 *
 * Generates `count` migrations (one table and one index each) and applies them,
 * each tool into its own fresh database on one throwaway cluster, with:
 *   - psql running one file that holds the same transactions and history
 *     inserts (the floor; the history table is created inside that file, so
 *     it is timed, as Keel creates its own),
 *   - Keel's runner via `npm run schema:apply -- --dir D` (as a user runs it)
 *     and via `node dist/scripts/schema.js apply --dir D` (no npm),
 *   - node-pg-migrate (one transaction per file, like Keel; and its default,
 *     one transaction for the whole run) and dbmate (the npm bin, which is a
 *     node wrapper, and the Go binary it wraps).
 * Times are of whole processes from spawn to exit, median and min of `runs`.
 * Then the nothing-pending check with `count` applied, as a whole process and
 * in-process once the engine and parser are loaded, and peak RSS of Keel's
 * apply with `big-count` migrations. Exits 0 when a target is missed: it
 * prints verdicts, it is not a gate.
 *
 * Internal child modes (used by the bench itself, each in a fresh process):
 *   --probe-pending <dir> <inspect|apply>   DATABASE_URL has every file applied
 *   --probe-apply <dir>                     DATABASE_URL is empty
 *   --probe-memory <dir>                    DATABASE_URL has every file applied
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import type { PostgresCluster } from "../test/support/postgres";

const ROOT = path.resolve(__dirname, "..", "..");
const KEEL_CLI = path.join(ROOT, "dist", "scripts", "schema.js");
const NODE_PG_MIGRATE = path.join(ROOT, "node_modules", ".bin", "node-pg-migrate");
const DBMATE = path.join(ROOT, "node_modules", ".bin", "dbmate");
const PSQL = process.env.PSQL ?? "/usr/bin/psql";
const GNU_TIME = "/usr/bin/time";

const TARGET_FLOOR_RATIO = 1.5;
const TARGET_SPEEDUP = 3;
const TARGET_PENDING_MS = 150;
const TARGET_RSS_MB = 200;

// ---------------------------------------------------------------- options

interface Options {
    runs: number;
    count: number;
    bigCount: number;
    big: boolean;
    /** Keep the cluster's data in the usual temp dir even when /dev/shm is there. */
    disk: boolean;
}

function parseOptions(argv: string[]): Options {
    const o: Options = { runs: 3, count: 1000, bigCount: 10000, big: true, disk: false };
    const int = (flag: string, v: string | undefined): number => {
        const n = Number(v);
        if (!v || !Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got '${v ?? ""}'`);
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split("=", 2);
        const value = () => inline ?? argv[++i];
        switch (flag) {
            case "--runs":
                o.runs = int(flag, value());
                break;
            case "--count":
                o.count = int(flag, value());
                break;
            case "--big-count":
                o.bigCount = int(flag, value());
                break;
            case "--no-10k":
                o.big = false;
                break;
            case "--disk":
                o.disk = true;
                break;
            case "--help":
            case "-h":
                process.stdout.write("usage: npm run bench:migrations -- [--runs N] [--count N] [--big-count N] [--no-10k] [--disk]\n");
                process.exit(0);
                break;
            default:
                throw new Error(`unknown option '${argv[i]}' (known: --runs N, --count N, --big-count N, --no-10k, --disk)`);
        }
    }
    return o;
}

// ---------------------------------------------------------------- generation

const pad = (i: number, width: number) => String(i).padStart(width, "0");

function migrationBody(table: string): string {
    return (
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n` +
        `CREATE INDEX ${table}_name_idx ON ${table} (name);\n`
    );
}

const HISTORY_DDL = `CREATE TABLE IF NOT EXISTS public.keel_schema_history (
    version      bigint PRIMARY KEY,
    name         text NOT NULL,
    checksum     text NOT NULL,
    status       text NOT NULL CHECK (status IN ('applied', 'baseline', 'failed', 'running')),
    applied_at   timestamptz NOT NULL DEFAULT now(),
    execution_ms integer NOT NULL DEFAULT 0,
    applied_by   text NOT NULL
);
`;

interface Generated {
    keel: string;
    nodePgMigrate: string;
    dbmate: string;
    psqlFile: string;
}

/** Writes the same `count` migrations in each tool's format under `root`. */
function generate(root: string, count: number, withOthers: boolean): Generated {
    const width = Math.max(4, String(count).length);
    const g: Generated = {
        keel: path.join(root, "keel"),
        nodePgMigrate: path.join(root, "node-pg-migrate"),
        dbmate: path.join(root, "dbmate"),
        psqlFile: path.join(root, "floor.sql"),
    };
    fs.mkdirSync(g.keel, { recursive: true });
    if (withOthers) {
        fs.mkdirSync(g.nodePgMigrate);
        fs.mkdirSync(g.dbmate);
    }
    const floor: string[] = [HISTORY_DDL];
    for (let i = 1; i <= count; i++) {
        const v = pad(i, width);
        const table = `t_${v}`;
        const name = `create_${table}`;
        const body = migrationBody(table);
        const keelText = `-- ${name}\n${body}`;
        fs.writeFileSync(path.join(g.keel, `${v}_${name}.sql`), keelText);
        if (!withOthers) continue;
        // node-pg-migrate orders by a 13-digit (epoch ms) or 17-digit prefix; anything else logs an error per file.
        fs.writeFileSync(
            path.join(g.nodePgMigrate, `${1700000000000 + i}_${name}.sql`),
            `-- Up Migration\n${body}\n-- Down Migration\nDROP TABLE ${table};\n`,
        );
        fs.writeFileSync(path.join(g.dbmate, `${v}_${name}.sql`), `-- migrate:up\n${body}\n-- migrate:down\nDROP TABLE ${table};\n`);
        const checksum = createHash("sha256").update(keelText).digest("hex");
        floor.push(
            `BEGIN;\n${body}INSERT INTO public.keel_schema_history (version, name, checksum, status, execution_ms, applied_by) ` +
                `VALUES (${i}, '${name}', '${checksum}', 'applied', 0, 'psql');\nCOMMIT;\n`,
        );
    }
    if (withOthers) fs.writeFileSync(g.psqlFile, floor.join(""));
    return g;
}

// ---------------------------------------------------------------- processes

interface Timed {
    seconds: number;
    /** User + system CPU of the process and its children, when GNU time is there. */
    cpu?: number;
    /** Max RSS in MB of the largest process in the tree (npm or the node it starts), when GNU time is there. */
    rssMb?: number;
    stdout: string;
    stderr: string;
}

let scratch = os.tmpdir();

/**
 * Runs a whole process to exit and times it with hrtime around spawnSync;
 * throws with its output when it fails. With `usage`, the process runs under
 * GNU time (which adds one fork/exec, the same for every tool) to report CPU
 * and max RSS.
 */
function timeProcess(label: string, cmd: string, args: string[], env: Record<string, string> = {}, usage = false): Timed {
    const usageFile = usage && fs.existsSync(GNU_TIME) ? path.join(scratch, `usage-${process.pid}.txt`) : undefined;
    if (usageFile) {
        args = ["-f", "%U %S %M", "-o", usageFile, cmd, ...args];
        cmd = GNU_TIME;
    }
    const started = process.hrtime.bigint();
    const res = spawnSync(cmd, args, {
        cwd: ROOT,
        env: { ...process.env, ...env },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 1024 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (res.error || res.status !== 0) {
        const tail = (s: string | undefined) => (s ?? "").split("\n").slice(-30).join("\n");
        throw new Error(
            `${label} failed (${res.error?.message ?? `exit ${res.status}${res.signal ? `, ${res.signal}` : ""}`}): ` +
                `${cmd} ${args.join(" ")}\n--- stderr ---\n${tail(res.stderr)}\n--- stdout ---\n${tail(res.stdout)}`,
        );
    }
    const timed: Timed = { seconds, stdout: res.stdout, stderr: res.stderr };
    if (usageFile) {
        const last = fs.readFileSync(usageFile, "utf8").trim().split("\n").pop() ?? "";
        const [user, sys, kb] = last.split(" ").map(Number);
        if ([user, sys, kb].every(Number.isFinite)) Object.assign(timed, { cpu: user + sys, rssMb: kb / 1024 });
    }
    return timed;
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const min = (xs: number[]) => Math.min(...xs);

/** pg is loaded lazily, so that the probes below load it where the engine does. */
async function query<T = any>(url: string, sql: string): Promise<T[]> {
    const { Client } = await import("pg");
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(sql)).rows as T[];
    } finally {
        await c.end();
    }
}

/** Checks that the tool really created every table and index; outside the timing. */
async function verifyApplied(url: string, count: number, history: string, label: string): Promise<void> {
    const [r] = await query<{ tables: string; indexes: string; history: string }>(
        url,
        `SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^t_[0-9]+$') AS tables,
                (SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relname ~ '^t_[0-9]+_name_idx$') AS indexes,
                (SELECT count(*) FROM ${history}) AS history`,
    );
    if (Number(r.tables) !== count || Number(r.indexes) !== count || Number(r.history) !== count) {
        throw new Error(`${label}: expected ${count} tables, indexes and history rows; found ${r.tables}, ${r.indexes}, ${r.history}`);
    }
}

async function dropDatabase(cluster: PostgresCluster, url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    await query(cluster.url("postgres"), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

// ---------------------------------------------------------------- tools

interface Tool {
    key: string;
    label: string;
    /** The history table it writes, for verification. */
    history: string;
    /** Shown as a target row: Keel must be TARGET_SPEEDUP times faster. */
    competitor?: boolean;
    /** `usage`: run under GNU time for CPU and RSS. */
    run(url: string, g: Generated, usage?: boolean): Timed;
}

function tools(): Tool[] {
    const list: Tool[] = [
        {
            key: "psql",
            label: "psql floor (1 file)",
            history: "public.keel_schema_history",
            run: (url, g, u) => timeProcess("psql", PSQL, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", g.psqlFile], {}, u),
        },
        {
            key: "keel-npm",
            label: "Keel: npm run schema:apply",
            history: "public.keel_schema_history",
            run: (url, g, u) => timeProcess("keel (npm)", "npm", ["run", "schema:apply", "--", "--dir", g.keel], { DATABASE_URL: url }, u),
        },
        {
            key: "keel-node",
            label: "Keel: node dist/scripts/schema.js",
            history: "public.keel_schema_history",
            run: (url, g, u) => timeProcess("keel (node)", process.execPath, [KEEL_CLI, "apply", "--dir", g.keel], { DATABASE_URL: url }, u),
        },
    ];
    if (fs.existsSync(NODE_PG_MIGRATE)) {
        list.push(
            {
                key: "npm-tx-per-file",
                label: "node-pg-migrate (tx per file)",
                history: "public.pgmigrations",
                competitor: true,
                run: (url, g, u) =>
                    timeProcess("node-pg-migrate", NODE_PG_MIGRATE, ["up", "-m", g.nodePgMigrate, "--no-single-transaction"], { DATABASE_URL: url }, u),
            },
            {
                key: "npm-default",
                label: "node-pg-migrate (default: 1 tx)",
                history: "public.pgmigrations",
                competitor: true,
                run: (url, g, u) => timeProcess("node-pg-migrate", NODE_PG_MIGRATE, ["up", "-m", g.nodePgMigrate], { DATABASE_URL: url }, u),
            },
        );
    } else process.stdout.write(`note: ${NODE_PG_MIGRATE} is missing (npm ci?); node-pg-migrate is skipped\n`);
    if (fs.existsSync(DBMATE)) {
        const dbmateArgs = (g: Generated) => ["--migrations-dir", g.dbmate, "--no-dump-schema", "up"];
        const dbmateEnv = (url: string) => ({ DATABASE_URL: `${url}?sslmode=disable` });
        list.push({
            key: "dbmate",
            label: "dbmate (npm bin)",
            history: "public.schema_migrations",
            competitor: true,
            run: (url, g, u) => timeProcess("dbmate", DBMATE, dbmateArgs(g), dbmateEnv(url), u),
        });
        const goBinary = dbmateGoBinary();
        if (goBinary) {
            list.push({
                key: "dbmate-go",
                label: "dbmate (Go binary direct)",
                history: "public.schema_migrations",
                competitor: true,
                run: (url, g, u) => timeProcess("dbmate (go)", goBinary, dbmateArgs(g), dbmateEnv(url), u),
            });
        }
    } else process.stdout.write(`note: ${DBMATE} is missing (npm ci?); dbmate is skipped\n`);
    return list;
}

/** The Go binary behind node_modules/.bin/dbmate (a node wrapper), if it can be found. */
function dbmateGoBinary(): string | undefined {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { resolveBinary } = require(path.join(ROOT, "node_modules", "dbmate", "dist", "resolveBinary.js"));
        const bin = resolveBinary();
        return typeof bin === "string" && fs.existsSync(bin) ? bin : undefined;
    } catch {
        return undefined;
    }
}

// ---------------------------------------------------------------- child probes

/**
 * The nothing-pending check in a fresh process, after the engine modules and the
 * parser are loaded: the first call is what a real run pays. Prints JSON.
 */
async function probePending(dir: string, mode: "inspect" | "apply"): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const migrationSet = await import("../components/schema/migrationSet");
    const runner = await import("../components/schema/runner");
    const sql = await import("../components/schema/sql");
    const fingerprint = await import("../components/schema/fingerprint");
    const connection = await import("../components/schema/connection");
    await sql.loadSqlParser();
    const ready = performance.now(); // ms since the process started
    const settings = { ...runner.DEFAULT_ENGINE_SETTINGS, appliedBy: "bench" };
    // openClient requires pg on first use; timed apart so the first call can be read with or without it.
    let t = performance.now();
    await import("pg");
    const pgLoad = performance.now() - t;

    const check = async () => {
        const t0 = performance.now();
        const files = await migrationSet.loadMigrations(dir);
        const t1 = performance.now();
        let pending: number;
        let applied: number;
        if (mode === "inspect") {
            const { plan } = await runner.inspectSchema(url, files, settings);
            if (plan.problems.length) throw new Error(plan.problems.join("\n"));
            pending = plan.pending.length;
            applied = plan.applied.length;
        } else {
            const r = await runner.applyMigrations(url, files, settings);
            pending = r.ran.length;
            applied = r.applied.length;
        }
        const t2 = performance.now();
        if (pending !== 0 || applied !== files.length) throw new Error(`expected nothing pending: ${pending} pending, ${applied} applied`);
        return { load: t1 - t0, db: t2 - t1, total: t2 - t0 };
    };
    const cold = await check();
    const warm: { load: number; db: number; total: number }[] = [];
    for (let i = 0; i < 5; i++) warm.push(await check());

    // Where the time goes, warm: reading, parsing, connecting, history, fingerprint.
    const names = fs.readdirSync(dir).filter((n) => n.endsWith(".sql")).sort();
    t = performance.now();
    const texts = names.map((n) => fs.readFileSync(path.join(dir, n), "utf8"));
    const read = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < texts.length; i++) await sql.analyzeSql(texts[i], names[i]);
    const parse = performance.now() - t;
    t = performance.now();
    const client = await connection.openClient(url);
    const connect = performance.now() - t;
    t = performance.now();
    await runner.readHistory(client, settings);
    const history = performance.now() - t;
    t = performance.now();
    const fp = await fingerprint.schemaFingerprint(client, settings.historySchema, settings.historyTable);
    const fpMs = performance.now() - t;
    t = performance.now();
    await client.end();
    const end = performance.now() - t;
    const rssMb = process.memoryUsage().rss / 1048576;
    process.stdout.write(
        JSON.stringify({
            ready,
            pgLoad,
            cold,
            warm: { load: median(warm.map((w) => w.load)), db: median(warm.map((w) => w.db)), total: median(warm.map((w) => w.total)) },
            parts: { read, parse, connect, history, fingerprint: fpMs, end, fingerprintObjects: Object.keys(fp.objects).length },
            rssMb,
        }) + "\n",
    );
}

/** Keel's apply in a fresh process, split into start-up, loading and applying. Prints JSON. */
async function probeApply(dir: string): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const migrationSet = await import("../components/schema/migrationSet");
    const runner = await import("../components/schema/runner");
    const sql = await import("../components/schema/sql");
    await sql.loadSqlParser();
    const ready = performance.now();
    const settings = { ...runner.DEFAULT_ENGINE_SETTINGS, appliedBy: "bench" };
    const t0 = performance.now();
    const files = await migrationSet.loadMigrations(dir);
    const t1 = performance.now();
    let lastApplied = t1;
    let firstApplied = 0;
    const result = await runner.applyMigrations(url, files, settings, (line) => {
        if (line.startsWith("[")) {
            lastApplied = performance.now();
            if (!firstApplied) firstApplied = lastApplied;
        }
    });
    const t2 = performance.now();
    if (result.ran.length !== files.length) throw new Error(`applied ${result.ran.length} of ${files.length}`);
    process.stdout.write(
        JSON.stringify({
            ready,
            load: t1 - t0,
            // connect, lock, history table, first file
            setup: firstApplied - t1,
            files: lastApplied - firstApplied,
            // the fingerprint after the run, unlock, disconnect
            finish: t2 - lastApplied,
            apply: t2 - t1,
            sumExecutionMs: result.ran.reduce((a, r) => a + r.executionMs, 0),
        }) + "\n",
    );
}

/** Peak RSS by phase of a nothing-pending apply: which part of the engine holds the memory. Prints JSON. */
async function probeMemory(dir: string): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const maxRss = () => process.resourceUsage().maxRSS / 1024;
    const migrationSet = await import("../components/schema/migrationSet");
    const runner = await import("../components/schema/runner");
    const sql = await import("../components/schema/sql");
    await sql.loadSqlParser();
    const ready = maxRss();
    let t = performance.now();
    const files = await migrationSet.loadMigrations(dir);
    const loadMs = performance.now() - t;
    const loaded = maxRss();
    const heapAfterLoad = process.memoryUsage().heapTotal / 1048576;
    t = performance.now();
    const r = await runner.applyMigrations(url, files, { ...runner.DEFAULT_ENGINE_SETTINGS, appliedBy: "bench" });
    const applyMs = performance.now() - t;
    if (r.ran.length !== 0) throw new Error(`expected nothing pending, ran ${r.ran.length}`);
    process.stdout.write(
        JSON.stringify({ ready, loaded, heapAfterLoad, loadMs, applied: maxRss(), applyMs, objects: Object.keys(r.fingerprint?.objects ?? {}).length }) + "\n",
    );
}

function runProbe(label: string, args: string[], url: string): any {
    const out = timeProcess(label, process.execPath, [__filename, ...args], { DATABASE_URL: url });
    const line = out.stdout.trim().split("\n").pop() ?? "";
    return { ...JSON.parse(line), wall: out.seconds * 1000 };
}

// ---------------------------------------------------------------- peak memory

/** Max RSS (MB) and wall time of `node dist/scripts/schema.js apply --dir dir`: GNU time, else a preload reporting maxRSS at exit. */
function peakRss(dir: string, url: string): { mb: number; seconds: number; cpu?: number; how: string } {
    const env = { DATABASE_URL: url };
    if (fs.existsSync(GNU_TIME)) {
        const r = timeProcess("keel (big)", process.execPath, [KEEL_CLI, "apply", "--dir", dir], env, true);
        if (r.rssMb !== undefined) return { mb: r.rssMb, seconds: r.seconds, cpu: r.cpu, how: `${GNU_TIME} %M` };
    }
    const out = path.join(scratch, "maxrss.txt");
    const preload = path.join(scratch, "maxrss.js");
    fs.writeFileSync(
        preload,
        `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`,
    );
    const r = timeProcess("keel (big)", process.execPath, ["-r", preload, KEEL_CLI, "apply", "--dir", dir], env);
    return { mb: Number(fs.readFileSync(out, "utf8")) / 1024, seconds: r.seconds, how: "process.resourceUsage().maxRSS at exit" };
}

// ---------------------------------------------------------------- report

const s3 = (x: number) => x.toFixed(3);
const x2 = (x: number) => `${x.toFixed(2)}x`;
const ms1 = (x: number) => `${x.toFixed(1)} ms`;
const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");

/** Columns are right-aligned except the first and the text columns named in `left`. */
function table(head: string[], rows: string[][], left: string[] = ["target", "verdict", "figures"]): string {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const leftAligned = (i: number) => i === 0 || left.includes(head[i]);
    const line = (cells: string[]) => cells.map((c, i) => (leftAligned(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
    return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n") + "\n";
}

// ---------------------------------------------------------------- main

const SHM = "/dev/shm";

/** /dev/shm when it has room (the 10k database takes ~1 GB), unless --disk; else the usual temp dir. */
function clusterTmpDir(opts: Options): string {
    if (opts.disk) return os.tmpdir();
    try {
        const st = fs.statfsSync(SHM);
        if (st.bavail * st.bsize >= 4 * 1024 ** 3) {
            fs.accessSync(SHM, fs.constants.W_OK);
            return SHM;
        }
    } catch {
        // no /dev/shm here
    }
    return os.tmpdir();
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

async function main(argv: string[]): Promise<void> {
    if (argv[0] === "--probe-pending") return probePending(argv[1], argv[2] === "apply" ? "apply" : "inspect");
    if (argv[0] === "--probe-apply") return probeApply(argv[1]);
    if (argv[0] === "--probe-memory") return probeMemory(argv[1]);

    const opts = parseOptions(argv);
    const out = (s = "") => process.stdout.write(s + "\n");
    if (!fs.existsSync(KEEL_CLI)) throw new Error(`${KEEL_CLI} is missing: run 'npm run build' first`);

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bench-"));
    scratch = tmp;
    const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
    process.on("exit", removeTmp);
    let cluster: PostgresCluster | undefined;
    try {
        const cpus = os.cpus();
        out(`Keel migration benchmark: ${opts.count} migrations (CREATE TABLE + CREATE INDEX each), ${opts.runs} run(s) per tool`);
        out(`node ${process.version}, ${cpus.length} CPU(s) ${cpus[0]?.model ?? ""}, ${os.platform()} ${os.release()}, load average ${loadavg()}`);
        let t = performance.now();
        const { PostgresCluster } = await import("../test/support/postgres");
        const dataIn = clusterTmpDir(opts);
        const savedTmpDir = process.env.TMPDIR;
        process.env.TMPDIR = dataIn; // os.tmpdir(), where PostgresCluster puts its data, follows TMPDIR
        try {
            cluster = await PostgresCluster.start();
        } finally {
            if (savedTmpDir === undefined) delete process.env.TMPDIR;
            else process.env.TMPDIR = savedTmpDir;
        }
        const [{ server_version: version }] = await query<{ server_version: string }>(cluster.url("postgres"), "SHOW server_version");
        out(`cluster: PostgreSQL ${version} on 127.0.0.1:${cluster.port} (fsync off), started in ${((performance.now() - t) / 1000).toFixed(2)} s; one fresh database per tool and run`);
        out(
            `cluster data in ${cluster.dir}` +
                (dataIn === SHM
                    ? " (RAM: creating and dropping ~5 files per table on a shared disk made runs vary 2-3x; --disk to use the temp dir)"
                    : ""),
        );
        t = performance.now();
        const g = generate(path.join(tmp, "small"), opts.count, true);
        out(`generated ${opts.count} migrations per tool in ${((performance.now() - t) / 1000).toFixed(2)} s under ${tmp}`);
        out("psql floor: one file that creates keel_schema_history (timed, as Keel creates its own), then BEGIN; table; index; history INSERT; COMMIT; per migration");
        out(`processes run under ${fs.existsSync(GNU_TIME) ? `${GNU_TIME} for client CPU and max RSS` : "no GNU time (no CPU/RSS columns)"}; output is piped to the bench`);
        out();

        // ---- apply into empty databases, round-robin so drift hits every tool alike
        const all = tools();
        const runs = new Map<string, Timed[]>(all.map((tool) => [tool.key, []]));
        let keelDb: string | undefined;
        for (let run = 1; run <= opts.runs; run++) {
            for (const tool of all) {
                const url = await cluster.createDatabase(tool.key.replace(/-/g, "_"));
                const r = tool.run(url, g, true);
                await verifyApplied(url, opts.count, tool.history, tool.label);
                runs.get(tool.key)!.push(r);
                out(`  run ${run}/${opts.runs}  ${tool.label.padEnd(36)} ${s3(r.seconds)} s`);
                if (tool.key === "keel-npm" && !keelDb) keelDb = url;
                else await dropDatabase(cluster, url);
            }
        }
        out();
        const secs = (key: string) => runs.get(key)!.map((r) => r.seconds);
        const med = (key: string) => median(secs(key));
        const optMed = (xs: (number | undefined)[]) => (xs.every((x) => x !== undefined) ? median(xs as number[]) : undefined);
        const floor = med("psql");
        const keel = med("keel-npm");
        const keelNode = med("keel-node");
        out(`Apply ${opts.count} migrations into an empty database: whole processes, spawn to exit, ${opts.runs} run(s)`);
        out(
            table(
                ["tool", "median s", "min s", "x psql floor", "tool / Keel", "client CPU s", "max RSS MB", "target"],
                all.map((tool) => {
                    const m = med(tool.key);
                    const cpu = optMed(runs.get(tool.key)!.map((r) => r.cpu));
                    const rss = optMed(runs.get(tool.key)!.map((r) => r.rssMb));
                    let target = "";
                    if (tool.key === "keel-npm") target = `<= ${TARGET_FLOOR_RATIO}x floor: ${verdict(m / floor <= TARGET_FLOOR_RATIO)}`;
                    else if (tool.key === "keel-node") target = `(no npm) <= ${TARGET_FLOOR_RATIO}x floor: ${verdict(m / floor <= TARGET_FLOOR_RATIO)}`;
                    else if (tool.competitor) target = `Keel >= ${TARGET_SPEEDUP}x faster: ${verdict(m / keel >= TARGET_SPEEDUP)}`;
                    return [
                        tool.label,
                        s3(m),
                        s3(min(secs(tool.key))),
                        x2(m / floor),
                        x2(m / keel),
                        cpu === undefined ? "-" : s3(cpu),
                        rss === undefined ? "-" : rss.toFixed(0),
                        target,
                    ];
                }),
            ),
        );
        out("tool / Keel = tool's median over Keel's (npm run schema:apply) median: how many times faster Keel is.");
        out("client CPU = user+system CPU of the tool's processes (npm and node for Keel via npm), not the server's.");
        out(`npm run overhead (Keel via npm minus via node, medians): ${((keel - keelNode) * 1000).toFixed(0)} ms`);
        out();

        // ---- where Keel's apply time goes, in a fresh process
        const applyProbes: any[] = [];
        for (let run = 1; run <= opts.runs; run++) {
            const url = await cluster.createDatabase("keel_probe");
            applyProbes.push(runProbe("keel apply probe", ["--probe-apply", g.keel], url));
            await dropDatabase(cluster, url);
        }
        const pm = (f: (p: any) => number) => median(applyProbes.map(f)).toFixed(0);
        out(`Keel's apply of ${opts.count}, split by phase: engine API in a fresh process, medians of ${opts.runs}`);
        out(
            table(
                ["phase", "ms"],
                [
                    ["node start-up + engine modules + parser loaded", pm((p) => p.ready)],
                    ["loadMigrations (read + parse + checksum)", pm((p) => p.load)],
                    ["connect, lock, history table, first file", pm((p) => p.setup)],
                    [`files 2..${opts.count}`, pm((p) => p.files)],
                    ["final fingerprint + unlock + disconnect", pm((p) => p.finish)],
                    ["(sum of execution_ms in the history)", pm((p) => p.sumExecutionMs)],
                    ["whole process, spawn to exit", pm((p) => p.wall)],
                ],
            ),
        );

        // ---- nothing pending with count applied
        if (!keelDb) throw new Error("no Keel database was kept");
        const env = { DATABASE_URL: keelDb };
        const noop: [string, Timed[]][] = [
            ["Keel: npm run schema:apply", []],
            ["Keel: node dist/scripts/schema.js apply", []],
            ["Keel: npm run schema:status", []],
        ];
        for (let run = 1; run <= opts.runs; run++) {
            noop[0][1].push(timeProcess("keel (npm, nothing pending)", "npm", ["run", "schema:apply", "--", "--dir", g.keel], env, true));
            noop[1][1].push(timeProcess("keel (node, nothing pending)", process.execPath, [KEEL_CLI, "apply", "--dir", g.keel], env, true));
            noop[2][1].push(timeProcess("keel status", "npm", ["run", "schema:status", "--", "--dir", g.keel], env, true));
        }
        for (const tool of all.filter((x) => x.competitor)) {
            const url = await cluster.createDatabase(tool.key.replace(/-/g, "_"));
            tool.run(url, g);
            const ts: Timed[] = [];
            for (let run = 1; run <= opts.runs; run++) ts.push(tool.run(url, g, true));
            noop.push([`${tool.label} up`, ts]);
            await dropDatabase(cluster, url);
        }
        const inspectProbes: any[] = [];
        const applyNoopProbes: any[] = [];
        for (let run = 1; run <= opts.runs; run++) {
            inspectProbes.push(runProbe("pending probe (inspect)", ["--probe-pending", g.keel, "inspect"], keelDb));
            applyNoopProbes.push(runProbe("pending probe (apply)", ["--probe-pending", g.keel, "apply"], keelDb));
        }
        const im = (f: (p: any) => number) => median(inspectProbes.map(f));
        const am = (f: (p: any) => number) => median(applyNoopProbes.map(f));
        // The first call as the CLI pays it: pg is required inside it, on the first connection.
        const inspectCold = im((p) => p.pgLoad + p.cold.total);
        const applyCold = am((p) => p.pgLoad + p.cold.total);
        const keelNoopNpm = median(noop[0][1].map((r) => r.seconds));
        out(`Nothing pending with ${opts.count} applied`);
        out(`(a) whole processes, spawn to exit, ${opts.runs} run(s)`);
        out(
            table(
                ["command", "median s", "min s", "client CPU s"],
                noop.map(([label, ts]) => {
                    const cpu = optMed(ts.map((r) => r.cpu));
                    return [label, s3(median(ts.map((r) => r.seconds))), s3(min(ts.map((r) => r.seconds))), cpu === undefined ? "-" : s3(cpu)];
                }),
            ),
        );
        out(`(b) in-process, timed once node is up with the engine modules and the parser loaded: fresh process each, medians of ${opts.runs}`);
        out(
            table(
                ["check", "first call", "= require pg", "+ load", "+ db", "warm call", "= load", "+ db", "target (first call)"],
                [
                    ["loadMigrations + inspectSchema", inspectProbes, inspectCold] as const,
                    ["loadMigrations + applyMigrations", applyNoopProbes, applyCold] as const,
                ].map(([label, probes, cold]) => {
                    const m = (f: (p: any) => number) => ms1(median(probes.map(f)));
                    return [
                        label,
                        ms1(cold),
                        m((p) => p.pgLoad),
                        m((p) => p.cold.load),
                        m((p) => p.cold.db),
                        m((p) => p.warm.total),
                        m((p) => p.warm.load),
                        m((p) => p.warm.db),
                        `< ${TARGET_PENDING_MS} ms: ${verdict(cold < TARGET_PENDING_MS)}`,
                    ];
                }),
                ["target (first call)"],
            ),
        );
        out(
            `first call = what a run pays once, including the require of pg that openClient does on first use; load = loadMigrations; ` +
                `db = inspectSchema or applyMigrations; warm call = median of 5 more in the same process. ` +
                `Process start to engine + parser ready: ${ms1(im((p) => p.ready))}.`,
        );
        out(
            `warm parts: read ${opts.count} files ${ms1(im((p) => p.parts.read))}, parse them ${ms1(im((p) => p.parts.parse))}, ` +
                `connect ${ms1(im((p) => p.parts.connect))}, read history ${ms1(im((p) => p.parts.history))}, ` +
                `schema fingerprint ${ms1(im((p) => p.parts.fingerprint))} (${inspectProbes[0].parts.fingerprintObjects} objects), ` +
                `disconnect ${ms1(im((p) => p.parts.end))}; RSS at the end ${im((p) => p.rssMb).toFixed(0)} MB`,
        );
        out();

        // ---- peak memory with bigCount
        let rss: ReturnType<typeof peakRss> | undefined;
        if (opts.big) {
            t = performance.now();
            const big = generate(path.join(tmp, "big"), opts.bigCount, false);
            out(`Peak memory with ${opts.bigCount} migrations (generated in ${((performance.now() - t) / 1000).toFixed(2)} s)`);
            const url = await cluster.createDatabase("keel_big");
            rss = peakRss(big.keel, url);
            await verifyApplied(url, opts.bigCount, "public.keel_schema_history", `keel (${opts.bigCount})`);
            out(
                `  node dist/scripts/schema.js apply: max RSS ${rss.mb.toFixed(1)} MB (${rss.how}), wall ${s3(rss.seconds)} s` +
                    `${rss.cpu === undefined ? "" : `, client CPU ${s3(rss.cpu)} s`}; ` +
                    `${((rss.seconds / opts.bigCount) * 1000).toFixed(2)} ms per migration vs ${((keelNode / opts.count) * 1000).toFixed(2)} at ${opts.count}`,
            );
            const again = timeProcess("keel (big, nothing pending)", process.execPath, [KEEL_CLI, "apply", "--dir", big.keel], { DATABASE_URL: url }, true);
            out(
                `  nothing pending with ${opts.bigCount} applied, same command: ${s3(again.seconds)} s` +
                    `${again.rssMb === undefined ? "" : `, max RSS ${again.rssMb.toFixed(1)} MB`}`,
            );
            const mem = runProbe("memory probe", ["--probe-memory", big.keel], url);
            out(
                `  peak RSS by phase (nothing pending, engine API): engine + parser loaded ${mem.ready.toFixed(0)} MB, ` +
                    `after loadMigrations ${mem.loaded.toFixed(0)} MB (${mem.loadMs.toFixed(0)} ms; V8 heap ${mem.heapAfterLoad.toFixed(0)} MB), ` +
                    `after applyMigrations (history + fingerprint of ${mem.objects} objects) ${mem.applied.toFixed(0)} MB (${mem.applyMs.toFixed(0)} ms)`,
            );
            await dropDatabase(cluster, url);
            out();
        }

        // ---- verdicts
        out(`Verdicts (Keel = npm run schema:apply; medians of ${opts.runs}; load average now ${loadavg()})`);
        // Runs of one round ran back to back, so their ratios cancel slow drift in the machine's load.
        const paired = (a: string, b: string) =>
            opts.runs > 1 ? `; per run ${secs(a).map((x, i) => (x / secs(b)[i]).toFixed(2)).join(", ")}` : "";
        const lines: [string, boolean | undefined, string][] = [
            [
                `Keel within ${TARGET_FLOOR_RATIO}x of the psql floor`,
                keel / floor <= TARGET_FLOOR_RATIO,
                `${s3(keel)} s / ${s3(floor)} s = ${x2(keel / floor)}${paired("keel-npm", "psql")} (via node, no npm: ${x2(keelNode / floor)})`,
            ],
        ];
        for (const tool of all.filter((x) => x.competitor)) {
            const m = med(tool.key);
            lines.push([
                `Keel >= ${TARGET_SPEEDUP}x faster than ${tool.label}`,
                m / keel >= TARGET_SPEEDUP,
                `${s3(m)} s / ${s3(keel)} s = ${x2(m / keel)}${paired(tool.key, "keel-npm")}`,
            ]);
        }
        lines.push([
            `nothing-pending check < ${TARGET_PENDING_MS} ms once up`,
            inspectCold < TARGET_PENDING_MS,
            `loadMigrations + inspectSchema ${ms1(inspectCold)} (+ applyMigrations instead: ${ms1(applyCold)}; whole npm process ${s3(keelNoopNpm)} s)`,
        ]);
        lines.push([
            `peak RSS < ${TARGET_RSS_MB} MB with ${opts.bigCount} migrations`,
            rss ? rss.mb < TARGET_RSS_MB : undefined,
            rss ? `${rss.mb.toFixed(1)} MB` : "skipped (--no-10k)",
        ]);
        out(table(["target", "verdict", "figures"], lines.map(([what, ok, fig]) => [what, ok === undefined ? "SKIP" : verdict(ok), fig])));
        out("A benchmark, not a gate: it exits 0 whatever the verdicts.");
    } finally {
        await cluster?.stop();
        removeTmp();
        process.removeListener("exit", removeTmp);
    }
}

main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(`bench:migrations failed: ${err?.stack ?? err}\n`);
        process.exit(1);
    },
);
