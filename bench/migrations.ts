/**
 * npm run bench:migrations [-- --runs 3 --count 1000 --big-count 10000 --no-10k --disk]
 *
 * Generates `count` migrations (one table and one index each) and applies them,
 * each tool into its own fresh database on one throwaway cluster, with:
 *   - psql running one file that holds the same transactions and history
 *     inserts (the floor; the history table is created inside that file, so
 *     it is timed, as Keel creates its own),
 *   - Keel's runner via `npm run schema:apply -- --dir D` (as a user runs it)
 *     and via `node dist/cli/main.js schema apply --dir D` (no npm),
 *   - node-pg-migrate (one transaction per file, like Keel; and its default,
 *     one transaction for the whole run) and dbmate (the npm bin, which is a
 *     node wrapper, and the Go binary it wraps).
 * Times are of whole processes from spawn to exit, median and min of `runs`,
 * with the CPU the server spent on each tool's sessions (from /proc, Linux).
 * Then Keel's apply split by phase, the nothing-pending check with `count`
 * applied (as a whole process, and in-process once the engine modules are
 * loaded, the way the CLI calls the engine: scanMigrations, then
 * applyMigrations or inspectSchema without the schema fingerprint; plus one
 * row with the fingerprint, which pulumi refresh pays), and peak RSS of
 * `node dist/cli/main.js schema apply` with `big-count` migrations. Exits 0
 * when a target is missed: it prints verdicts, it is not a gate.
 *
 * Internal child modes (used by the bench itself, each in a fresh process):
 *   --probe-pending <dir> <status|apply|refresh>   DATABASE_URL has every file applied
 *   --probe-apply <dir>                            DATABASE_URL is empty
 *   --probe-memory <dir>                           DATABASE_URL is empty
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { dbmateBin, dbmateGoBinary } from "../test/support/dbmate";
import { median } from "./cli";
import type { PostgresCluster } from "../test/support/postgres";

const ROOT = path.resolve(__dirname, "..", "..");
const KEEL_CLI = path.join(ROOT, "dist", "cli", "main.js");
const NODE_PG_MIGRATE = path.join(ROOT, "node_modules", ".bin", "node-pg-migrate");
/** Installs dbmate (pinned, outside the lock file: see test/support/dbmate.ts); carries on without it if npm cannot. */
function ensureDbmate(): string | undefined {
    try {
        return dbmateBin((line) => process.stdout.write(`${line}\n`));
    } catch (err) {
        process.stdout.write(`note: ${(err as Error).message}; dbmate is skipped\n`);
        return undefined;
    }
}
const PSQL = process.env.PSQL ?? "/usr/bin/psql";
const GNU_TIME = "/usr/bin/time";

const TARGET_FLOOR_RATIO = 1.5;
const TARGET_SPEEDUP = 3;
const TARGET_PENDING_MS = 150;
const TARGET_RSS_MB = 200;

// ---------------------------------------------------------------- options

export interface Options {
    runs: number;
    count: number;
    bigCount: number;
    big: boolean;
    /** Keep the cluster's data in the usual temp dir even when /dev/shm is there. */
    disk: boolean;
}

// ---------------------------------------------------------------- generation

const pad = (i: number, width: number) => String(i).padStart(width, "0");

function migrationBody(table: string): string {
    return (
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n` +
        `CREATE INDEX ${table}_name_idx ON ${table} (name);\n`
    );
}

interface Generated {
    keel: string;
    nodePgMigrate: string;
    dbmate: string;
    psqlFile: string;
}

/**
 * Writes the same `count` migrations in each tool's format under `root`;
 * `historyDdl` (Keel's own CREATE TABLE for its history) opens the psql floor file.
 */
function generate(root: string, count: number, withOthers: boolean, historyDdl = ""): Generated {
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
    const floor: string[] = [`${historyDdl.trim()};\n`];
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
    /** CPU seconds the PostgreSQL server spent on the process's sessions, when /proc tells (see ServerCpu). */
    serverCpu?: number;
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

const min = (xs: number[]) => Math.min(...xs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Titles of the server's own processes; any other child of the postmaster serves a connection.
const PG_AUXILIARY =
    /^postgres: (checkpointer|background writer|walwriter|autovacuum launcher|autovacuum worker|logical replication launcher|archiver|stats collector|startup|walsender|walreceiver)\b/;

/**
 * The server's CPU for a tool's run: user + system time of the postmaster and
 * of the children it has reaped (the backends that served the connections;
 * an autovacuum worker that ends meanwhile is counted too), from /proc. Each
 * backend runs its session's statements one after another, so its CPU is a
 * lower bound on the wall time of any client that sends it the same work.
 */
class ServerCpu {
    private constructor(
        private readonly postmaster: number,
        private readonly hz: number,
    ) {}

    /** Undefined where /proc or the postmaster's pid cannot be read (not Linux, another user's cluster). */
    static open(dataDir: string): ServerCpu | undefined {
        try {
            const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
            const hz = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;
            const cpu = new ServerCpu(pid, hz);
            cpu.ticks();
            cpu.sessions();
            return cpu;
        } catch {
            return undefined;
        }
    }

    /** utime + stime + cutime + cstime: fields 14 to 17 of /proc/<pid>/stat, counted from after the command name. */
    private ticks(): number {
        const stat = fs.readFileSync(`/proc/${this.postmaster}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }

    /** Children serving a connection, including exited ones not reaped yet (a zombie has an empty title). */
    private sessions(): number {
        const kids = fs
            .readFileSync(`/proc/${this.postmaster}/task/${this.postmaster}/children`, "utf8")
            .trim()
            .split(/\s+/)
            .filter(Boolean);
        let n = 0;
        for (const kid of kids) {
            let title: string;
            try {
                title = fs.readFileSync(`/proc/${kid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
            } catch {
                continue; // gone since the listing
            }
            if (!PG_AUXILIARY.test(title)) n++;
        }
        return n;
    }

    /** The counter in seconds, once every session that ended has been reaped into it (waits up to 5 s). */
    async seconds(): Promise<number> {
        const deadline = Date.now() + 5000;
        while (this.sessions() > 0 && Date.now() < deadline) await sleep(2);
        return this.ticks() / this.hz;
    }
}

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
            label: "Keel: node dist/cli/main.js schema",
            history: "public.keel_schema_history",
            run: (url, g, u) =>
                timeProcess("keel (node)", process.execPath, [KEEL_CLI, "schema", "apply", "--dir", g.keel], { DATABASE_URL: url }, u),
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
                    timeProcess(
                        "node-pg-migrate",
                        NODE_PG_MIGRATE,
                        ["up", "-m", g.nodePgMigrate, "--no-single-transaction"],
                        { DATABASE_URL: url },
                        u,
                    ),
            },
            {
                key: "npm-default",
                label: "node-pg-migrate (default: 1 tx)",
                history: "public.pgmigrations",
                competitor: true,
                run: (url, g, u) =>
                    timeProcess("node-pg-migrate", NODE_PG_MIGRATE, ["up", "-m", g.nodePgMigrate], { DATABASE_URL: url }, u),
            },
        );
    } else process.stdout.write(`note: ${NODE_PG_MIGRATE} is missing (npm ci?); node-pg-migrate is skipped\n`);
    const dbmate = ensureDbmate();
    if (dbmate) {
        const dbmateArgs = (g: Generated) => ["--migrations-dir", g.dbmate, "--no-dump-schema", "up"];
        const dbmateEnv = (url: string) => ({ DATABASE_URL: `${url}?sslmode=disable` });
        list.push({
            key: "dbmate",
            label: "dbmate (npm bin)",
            history: "public.schema_migrations",
            competitor: true,
            run: (url, g, u) => timeProcess("dbmate", dbmate, dbmateArgs(g), dbmateEnv(url), u),
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
    }
    return list;
}

// ---------------------------------------------------------------- child probes

type PendingMode = "status" | "apply" | "refresh";

/** True once libpg-query (the WASM SQL parser) has been required in this process. */
const parserLoaded = () => Object.keys(require.cache).some((k) => k.includes(`${path.sep}libpg-query${path.sep}`));

/**
 * The nothing-pending check in a fresh process, called as the CLI calls it,
 * after the engine modules are loaded (the SQL parser is not: only pending
 * files are parsed, and there are none): the first call is what a real run
 * pays. `status`: scanMigrations + inspectSchema without the fingerprint, then
 * parseMigrations of the pending files (schema:status); `apply`:
 * scanMigrations + applyMigrations without the fingerprint (schema:apply);
 * `refresh`: scanMigrations + inspectSchema with the fingerprint (the
 * provider's read, which pulumi refresh runs). Prints JSON.
 */
async function probePending(dir: string, mode: PendingMode): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const migrationSet = await import("../components/schema/migrationSet");
    const runner = await import("../components/schema/runner");
    const fingerprint = await import("../components/postgres/fingerprint");
    const connection = await import("../components/postgres/connection");
    const ready = performance.now(); // ms since the process started
    const settings = { ...runner.DEFAULT_ENGINE_SETTINGS, appliedBy: "bench" };
    // openClient requires pg on first use; timed apart so the first call can be read with or without it.
    let t = performance.now();
    await import("pg");
    const pgLoad = performance.now() - t;

    const check = async () => {
        const t0 = performance.now();
        const sources = migrationSet.scanMigrations(dir);
        const t1 = performance.now();
        let pending: number;
        let applied: number;
        if (mode === "apply") {
            const r = await runner.applyMigrations(url, sources, settings, undefined, { fingerprint: false });
            if (r.fingerprint) throw new Error("applyMigrations read the fingerprint though asked not to");
            pending = r.ran.length;
            applied = r.applied.length;
        } else {
            const { plan, state } = await runner.inspectSchema(url, sources, settings, { fingerprint: mode === "refresh" });
            if (plan.problems.length) throw new Error(plan.problems.join("\n"));
            if ((mode === "refresh") !== (state.fingerprint !== undefined))
                throw new Error(`inspectSchema: fingerprint ${state.fingerprint ? "read" : "missing"} in ${mode} mode`);
            // schema:status parses the pending files (none here) to report their problems.
            if (mode === "status") await migrationSet.parseMigrations(plan.pending, dir);
            pending = plan.pending.length;
            applied = plan.applied.length;
        }
        const t2 = performance.now();
        if (pending !== 0 || applied !== sources.length)
            throw new Error(`expected nothing pending: ${pending} pending, ${applied} applied`);
        return { load: t1 - t0, db: t2 - t1, total: t2 - t0 };
    };
    const cold = await check();
    const parserAfterCheck = parserLoaded();
    const warm: { load: number; db: number; total: number }[] = [];
    for (let i = 0; i < 5; i++) warm.push(await check());

    // Where the time goes, warm: connecting, history, fingerprint (read here in every mode, to show what it costs).
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
            parserAfterCheck,
            warm: { load: median(warm.map((w) => w.load)), db: median(warm.map((w) => w.db)), total: median(warm.map((w) => w.total)) },
            parts: { connect, history, fingerprint: fpMs, end, fingerprintObjects: Object.keys(fp.objects).length },
            rssMb,
        }) + "\n",
    );
}

/**
 * Keel's apply in a fresh process, as `schema:apply` does it (scanMigrations,
 * then applyMigrations without the fingerprint), split into phases. The
 * pending files are parsed with parseMigrations before applyMigrations instead
 * of inside it, to time the parse apart; applyMigrations then uses them as they
 * are (it parses only sources that are not parsed yet). Prints JSON.
 */
async function probeApply(dir: string): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const migrationSet = await import("../components/schema/migrationSet");
    const runner = await import("../components/schema/runner");
    const sql = await import("../components/schema/sql");
    const ready = performance.now();
    if (parserLoaded()) throw new Error("the engine modules loaded the SQL parser up front");
    const settings = { ...runner.DEFAULT_ENGINE_SETTINGS, appliedBy: "bench" };
    const cpu0 = process.cpuUsage();
    // openClient requires pg on first use; timed apart.
    let t = performance.now();
    await import("pg");
    const pgLoad = performance.now() - t;
    const t0 = performance.now();
    const sources = migrationSet.scanMigrations(dir);
    const t1 = performance.now();
    await sql.loadSqlParser(); // what the first parse does
    const t2 = performance.now();
    const files = await migrationSet.parseMigrations(sources, dir);
    t = performance.now();
    // The first event-loop turn after the parser has run blocks while V8 finishes its optimizing (TurboFan)
    // compile of libpg-query's WASM on background threads (not with node --liftoff-only). In the CLI that
    // wait falls on applyMigrations' first query after parsing; here it is timed apart.
    await new Promise((resolve) => setImmediate(resolve));
    const t3 = performance.now();
    let applying = 0;
    let firstApplied = 0;
    let lastApplied = 0;
    const result = await runner.applyMigrations(
        url,
        files,
        settings,
        (line) => {
            if (line.startsWith("applying ")) applying = performance.now();
            else if (line.startsWith("[")) {
                lastApplied = performance.now();
                if (!firstApplied) firstApplied = lastApplied;
            }
        },
        { fingerprint: false },
    );
    const t4 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    if (result.ran.length !== files.length) throw new Error(`applied ${result.ran.length} of ${files.length}`);
    if (!applying || !firstApplied) throw new Error("applyMigrations reported no progress");
    process.stdout.write(
        JSON.stringify({
            ready,
            pgLoad,
            scan: t1 - t0,
            parserLoad: t2 - t1,
            parse: t - t2,
            tierUp: t3 - t,
            // connect, lock, read history, plan, history table
            setup: applying - t3,
            first: firstApplied - applying,
            files: lastApplied - firstApplied,
            // read the history again (no fingerprint), unlock, disconnect
            finish: t4 - lastApplied,
            clientCpu: (cpu.user + cpu.system) / 1000,
            sumExecutionMs: result.ran.reduce((a, r) => a + r.executionMs, 0),
        }) + "\n",
    );
}

/**
 * Peak RSS by phase of `schema:apply` with every file pending (what the CLI
 * verdict measures as a whole): which part of the engine holds the memory.
 * Parsed apart before applyMigrations, as in probeApply. Prints JSON.
 */
async function probeMemory(dir: string): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const maxRss = () => process.resourceUsage().maxRSS / 1024;
    const heap = () => process.memoryUsage().heapUsed / 1048576;
    const migrationSet = await import("../components/schema/migrationSet");
    const runner = await import("../components/schema/runner");
    const sql = await import("../components/schema/sql");
    const ready = maxRss();
    let t = performance.now();
    const sources = migrationSet.scanMigrations(dir);
    const scanMs = performance.now() - t;
    const scanned = maxRss();
    const heapAfterScan = heap();
    await sql.loadSqlParser();
    const parserReady = maxRss();
    t = performance.now();
    const files = await migrationSet.parseMigrations(sources, dir);
    const parseMs = performance.now() - t;
    const parsed = maxRss();
    const heapAfterParse = heap();
    t = performance.now();
    const r = await runner.applyMigrations(url, files, { ...runner.DEFAULT_ENGINE_SETTINGS, appliedBy: "bench" }, undefined, {
        fingerprint: false,
    });
    const applyMs = performance.now() - t;
    if (r.ran.length !== files.length) throw new Error(`applied ${r.ran.length} of ${files.length}`);
    process.stdout.write(
        JSON.stringify({
            ready,
            scanned,
            scanMs,
            heapAfterScan,
            parserReady,
            parsed,
            parseMs,
            heapAfterParse,
            applied: maxRss(),
            applyMs,
        }) + "\n",
    );
}

/** Runs this file in a child mode; its JSON, with the wall time (ms) and the server's CPU (s) for its sessions when `server` is given. */
async function runProbe(label: string, args: string[], url: string, server?: ServerCpu): Promise<any> {
    const before = await server?.seconds();
    const out = timeProcess(label, process.execPath, [__filename, ...args], { DATABASE_URL: url });
    const after = await server?.seconds();
    const line = out.stdout.trim().split("\n").pop() ?? "";
    return {
        ...JSON.parse(line),
        wall: out.seconds * 1000,
        serverCpu: before === undefined || after === undefined ? undefined : after - before,
    };
}

// ---------------------------------------------------------------- peak memory

/** Max RSS (MB) and wall time of `node dist/cli/main.js schema apply --dir dir`: GNU time, else a preload reporting maxRSS at exit. */
function peakRss(dir: string, url: string): { mb: number; seconds: number; cpu?: number; how: string } {
    const env = { DATABASE_URL: url };
    if (fs.existsSync(GNU_TIME)) {
        const r = timeProcess("keel (big)", process.execPath, [KEEL_CLI, "schema", "apply", "--dir", dir], env, true);
        if (r.rssMb !== undefined) return { mb: r.rssMb, seconds: r.seconds, cpu: r.cpu, how: `${GNU_TIME} %M` };
    }
    const out = path.join(scratch, "maxrss.txt");
    const preload = path.join(scratch, "maxrss.js");
    fs.writeFileSync(
        preload,
        `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`,
    );
    const r = timeProcess("keel (big)", process.execPath, ["-r", preload, KEEL_CLI, "schema", "apply", "--dir", dir], env);
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
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (leftAligned(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
            .join("  ")
            .trimEnd();
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

const loadavg = () =>
    os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ");

/** The bench's own child processes (see the top of this file), or undefined for a user's command line. */
function probe(argv: string[]): Promise<void> | undefined {
    if (argv[0] === "--probe-pending") {
        const mode = argv[2];
        if (mode !== "status" && mode !== "apply" && mode !== "refresh")
            throw new Error(`--probe-pending <dir> <status|apply|refresh>, got '${mode ?? ""}'`);
        return probePending(argv[1], mode);
    }
    if (argv[0] === "--probe-apply") return probeApply(argv[1]);
    if (argv[0] === "--probe-memory") return probeMemory(argv[1]);
    return undefined;
}

export async function benchMigrations(opts: Options): Promise<void> {
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
        out(
            `node ${process.version}, ${cpus.length} CPU(s) ${cpus[0]?.model ?? ""}, ${os.platform()} ${os.release()}, load average ${loadavg()}`,
        );
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
        out(
            `cluster: PostgreSQL ${version} on 127.0.0.1:${cluster.port} (fsync off), started in ${((performance.now() - t) / 1000).toFixed(2)} s; one fresh database per tool and run`,
        );
        out(
            `cluster data in ${cluster.dir}` +
                (dataIn === SHM
                    ? " (RAM: creating and dropping ~5 files per table on a shared disk made runs vary 2-3x; --disk to use the temp dir)"
                    : ""),
        );
        const server = ServerCpu.open(cluster.dataDir);
        out(
            server
                ? "server CPU: user+system CPU of the postmaster and the backends it reaped during each run, from /proc (sessions one after another: a lower bound on wall time)"
                : "server CPU: not available here (no /proc or postmaster.pid); the psql floor's wall time stands in for the server's work",
        );
        t = performance.now();
        // Loaded here, not at the top: the child probes time the engine's module loading themselves.
        const { historyTableDdl, DEFAULT_ENGINE_SETTINGS } = await import("../components/schema/runner");
        const g = generate(path.join(tmp, "small"), opts.count, true, historyTableDdl(DEFAULT_ENGINE_SETTINGS));
        out(`generated ${opts.count} migrations per tool in ${((performance.now() - t) / 1000).toFixed(2)} s under ${tmp}`);
        out(
            "psql floor: one file that creates keel_schema_history (runner.ts's historyTableDdl; timed, as Keel creates its own), " +
                "then BEGIN; table; index; history INSERT; COMMIT; per migration",
        );
        out(
            `processes run under ${fs.existsSync(GNU_TIME) ? `${GNU_TIME} for client CPU and max RSS` : "no GNU time (no CPU/RSS columns)"}; output is piped to the bench`,
        );
        out();

        // ---- apply into empty databases, round-robin so drift hits every tool alike
        const all = tools();
        const runs = new Map<string, Timed[]>(all.map((tool) => [tool.key, []]));
        let keelDb: string | undefined;
        for (let run = 1; run <= opts.runs; run++) {
            for (const tool of all) {
                const url = await cluster.createDatabase(tool.key.replace(/-/g, "_"));
                const before = await server?.seconds();
                const r = tool.run(url, g, true);
                if (server && before !== undefined) r.serverCpu = (await server.seconds()) - before;
                await verifyApplied(url, opts.count, tool.history, tool.label);
                runs.get(tool.key)!.push(r);
                out(
                    `  run ${run}/${opts.runs}  ${tool.label.padEnd(36)} ${s3(r.seconds)} s${r.serverCpu === undefined ? "" : `  (server CPU ${s3(r.serverCpu)} s)`}`,
                );
                if (tool.key === "keel-npm" && !keelDb) keelDb = url;
                else await dropDatabase(cluster, url);
            }
        }
        out();
        const secs = (key: string) => runs.get(key)!.map((r) => r.seconds);
        const med = (key: string) => median(secs(key));
        const optMed = (xs: (number | undefined)[]) => (xs.every((x) => x !== undefined) ? median(xs as number[]) : undefined);
        const serverMed = (key: string) => optMed(runs.get(key)!.map((r) => r.serverCpu));
        const floor = med("psql");
        const keel = med("keel-npm");
        const keelNode = med("keel-node");
        out(`Apply ${opts.count} migrations into an empty database: whole processes, spawn to exit, ${opts.runs} run(s)`);
        out(
            table(
                ["tool", "median s", "min s", "x psql floor", "tool / Keel", "client CPU s", "server CPU s", "max RSS MB", "target"],
                all.map((tool) => {
                    const m = med(tool.key);
                    const cpu = optMed(runs.get(tool.key)!.map((r) => r.cpu));
                    const srv = serverMed(tool.key);
                    const rss = optMed(runs.get(tool.key)!.map((r) => r.rssMb));
                    let target = "";
                    if (tool.key === "keel-npm") target = `<= ${TARGET_FLOOR_RATIO}x floor: ${verdict(m / floor <= TARGET_FLOOR_RATIO)}`;
                    else if (tool.key === "keel-node")
                        target = `(no npm) <= ${TARGET_FLOOR_RATIO}x floor: ${verdict(m / floor <= TARGET_FLOOR_RATIO)}`;
                    else if (tool.competitor) target = `Keel >= ${TARGET_SPEEDUP}x faster: ${verdict(m / keel >= TARGET_SPEEDUP)}`;
                    return [
                        tool.label,
                        s3(m),
                        s3(min(secs(tool.key))),
                        x2(m / floor),
                        x2(m / keel),
                        cpu === undefined ? "-" : s3(cpu),
                        srv === undefined ? "-" : s3(srv),
                        rss === undefined ? "-" : rss.toFixed(0),
                        target,
                    ];
                }),
            ),
        );
        out("tool / Keel = tool's median over Keel's (npm run schema:apply) median: how many times faster Keel is.");
        out(
            "client CPU = user+system CPU of the tool's processes (npm and node for Keel via npm); server CPU = the PostgreSQL processes serving its connections.",
        );
        out(`npm run overhead (Keel via npm minus via node, medians): ${((keel - keelNode) * 1000).toFixed(0)} ms`);
        out();

        // ---- where Keel's apply time goes, in a fresh process
        const applyProbes: any[] = [];
        for (let run = 1; run <= opts.runs; run++) {
            const url = await cluster.createDatabase("keel_probe");
            applyProbes.push(await runProbe("keel apply probe", ["--probe-apply", g.keel], url, server));
            await dropDatabase(cluster, url);
        }
        const pmed = (f: (p: any) => number) => median(applyProbes.map(f));
        const pm = (f: (p: any) => number) => pmed(f).toFixed(0);
        const probeServer = optMed(applyProbes.map((p) => p.serverCpu));
        out(`Keel's apply of ${opts.count}, split by phase: schema:apply's engine calls in a fresh process, medians of ${opts.runs}`);
        out(
            table(
                ["phase", "ms"],
                [
                    ["node start-up + engine modules loaded (not the SQL parser)", pm((p) => p.ready)],
                    ["require pg (openClient does it on first use)", pm((p) => p.pgLoad)],
                    ["scanMigrations (read + checksum + directives)", pm((p) => p.scan)],
                    ["load the SQL parser (libpg-query WASM, on the first parse)", pm((p) => p.parserLoad)],
                    [`parse the ${opts.count} pending files (in the CLI inside applyMigrations; timed apart here)`, pm((p) => p.parse)],
                    ["first event-loop turn after parsing: V8's background compile of the WASM", pm((p) => p.tierUp)],
                    ["applyMigrations: connect, lock, read history, plan, history table", pm((p) => p.setup)],
                    ["applyMigrations: first file", pm((p) => p.first)],
                    [`applyMigrations: files 2..${opts.count}, one message each`, pm((p) => p.files)],
                    ["applyMigrations: read history (no fingerprint), unlock, disconnect", pm((p) => p.finish)],
                    ["whole process, spawn to exit", pm((p) => p.wall)],
                    ["(client CPU of the node process, all threads, from require pg to the end)", pm((p) => p.clientCpu)],
                    ["(server CPU of its session)", probeServer === undefined ? "-" : (probeServer * 1000).toFixed(0)],
                    ["(sum of execution_ms in the history)", pm((p) => p.sumExecutionMs)],
                ],
            ),
        );
        const perFile = pmed((p) => p.files) / Math.max(1, opts.count - 1);
        out(
            `files 2..${opts.count}: ${perFile.toFixed(3)} ms per file` +
                (probeServer === undefined
                    ? ""
                    : `; the server's CPU for the whole session is ${((probeServer * 1000) / opts.count).toFixed(3)} ms per file`) +
                `; execution_ms (BEGIN to the history INSERT, on the server's clock) ${(pmed((p) => p.sumExecutionMs) / opts.count).toFixed(3)} ms per file`,
        );
        out();

        // ---- nothing pending with count applied
        if (!keelDb) throw new Error("no Keel database was kept");
        const env = { DATABASE_URL: keelDb };
        const noop: [string, Timed[]][] = [
            ["Keel: npm run schema:apply", []],
            ["Keel: node dist/cli/main.js schema apply", []],
            ["Keel: npm run schema:status", []],
        ];
        for (let run = 1; run <= opts.runs; run++) {
            noop[0][1].push(timeProcess("keel (npm, nothing pending)", "npm", ["run", "schema:apply", "--", "--dir", g.keel], env, true));
            noop[1][1].push(
                timeProcess("keel (node, nothing pending)", process.execPath, [KEEL_CLI, "schema", "apply", "--dir", g.keel], env, true),
            );
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
        const modes: [PendingMode, string][] = [
            ["status", "schema:status: scanMigrations + inspectSchema"],
            ["apply", "schema:apply: scanMigrations + applyMigrations"],
            ["refresh", "with fingerprint (pulumi refresh): scan + inspectSchema"],
        ];
        const pendingProbes = new Map<PendingMode, any[]>(modes.map(([mode]) => [mode, []]));
        for (let run = 1; run <= opts.runs; run++) {
            for (const [mode] of modes)
                pendingProbes.get(mode)!.push(await runProbe(`pending probe (${mode})`, ["--probe-pending", g.keel, mode], keelDb));
        }
        // The first call as the CLI pays it: pg is required inside it, on the first connection.
        const firstCall = (mode: PendingMode) => median(pendingProbes.get(mode)!.map((p) => p.pgLoad + p.cold.total));
        const statusCold = firstCall("status");
        const applyCold = firstCall("apply");
        const refreshCold = firstCall("refresh");
        const keelNoopNpm = median(noop[0][1].map((r) => r.seconds));
        out(`Nothing pending with ${opts.count} applied`);
        out(`(a) whole processes, spawn to exit, ${opts.runs} run(s)`);
        out(
            table(
                ["command", "median s", "min s", "client CPU s"],
                noop.map(([label, ts]) => {
                    const cpu = optMed(ts.map((r) => r.cpu));
                    return [
                        label,
                        s3(median(ts.map((r) => r.seconds))),
                        s3(min(ts.map((r) => r.seconds))),
                        cpu === undefined ? "-" : s3(cpu),
                    ];
                }),
            ),
        );
        out(
            `(b) in-process, the engine called as the CLI calls it, timed once node is up with the engine modules loaded: fresh process each, medians of ${opts.runs}`,
        );
        out(
            table(
                ["check", "first call", "= require pg", "+ scan", "+ db", "warm call", "= scan", "+ db", "target (first call)"],
                modes.map(([mode, label]) => {
                    const probes = pendingProbes.get(mode)!;
                    const m = (f: (p: any) => number) => ms1(median(probes.map(f)));
                    const cold = firstCall(mode);
                    return [
                        label,
                        ms1(cold),
                        m((p) => p.pgLoad),
                        m((p) => p.cold.load),
                        m((p) => p.cold.db),
                        m((p) => p.warm.total),
                        m((p) => p.warm.load),
                        m((p) => p.warm.db),
                        mode === "refresh"
                            ? `provider's read, not the CLI target (${cold < TARGET_PENDING_MS ? "under" : "over"} ${TARGET_PENDING_MS} ms)`
                            : `< ${TARGET_PENDING_MS} ms: ${verdict(cold < TARGET_PENDING_MS)}`,
                    ];
                }),
                ["target (first call)"],
            ),
        );
        const parserUsed = [...pendingProbes.values()].flat().some((p) => p.parserAfterCheck);
        const st = (f: (p: any) => number) => median(pendingProbes.get("status")!.map(f));
        out(
            `first call = what a run pays once, including the require of pg that openClient does on first use; scan = scanMigrations ` +
                `(read + checksum + directives, no SQL parsing); db = inspectSchema (fingerprint only in the last row; status then parses the ` +
                `pending files: none) or applyMigrations (fingerprint: false); warm call = median of 5 more in the same process. ` +
                `Process start to engine modules loaded: ${ms1(st((p) => p.ready))}. SQL parser loaded by the check: ${parserUsed ? "YES" : "no"}.`,
        );
        out(
            `warm parts: scanMigrations of ${opts.count} files ${ms1(st((p) => p.warm.load))}, connect ${ms1(st((p) => p.parts.connect))}, ` +
                `read history ${ms1(st((p) => p.parts.history))}, schema fingerprint ${ms1(st((p) => p.parts.fingerprint))} ` +
                `(${pendingProbes.get("status")![0].parts.fingerprintObjects} objects; read only with the fingerprint), ` +
                `disconnect ${ms1(st((p) => p.parts.end))}; RSS at the end ${st((p) => p.rssMb).toFixed(0)} MB`,
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
                `  node dist/cli/main.js schema apply (the verdict): max RSS ${rss.mb.toFixed(1)} MB (${rss.how}), wall ${s3(rss.seconds)} s` +
                    `${rss.cpu === undefined ? "" : `, client CPU ${s3(rss.cpu)} s`}; ` +
                    `${((rss.seconds / opts.bigCount) * 1000).toFixed(2)} ms per migration vs ${((keelNode / opts.count) * 1000).toFixed(2)} at ${opts.count}`,
            );
            const again = timeProcess(
                "keel (big, nothing pending)",
                process.execPath,
                [KEEL_CLI, "schema", "apply", "--dir", big.keel],
                { DATABASE_URL: url },
                true,
            );
            out(
                `  nothing pending with ${opts.bigCount} applied, same command: ${s3(again.seconds)} s` +
                    `${again.rssMb === undefined ? "" : `, max RSS ${again.rssMb.toFixed(1)} MB`}`,
            );
            await dropDatabase(cluster, url);
            const probeUrl = await cluster.createDatabase("keel_big_probe");
            const mem = await runProbe("memory probe", ["--probe-memory", big.keel], probeUrl);
            out(
                `  peak RSS by phase (the same apply through the engine API in a fresh process; MB, peak so far): ` +
                    `engine modules ${mem.ready.toFixed(0)}, after scanMigrations ${mem.scanned.toFixed(0)} (${mem.scanMs.toFixed(0)} ms; V8 heap used ${mem.heapAfterScan.toFixed(0)} MB), ` +
                    `SQL parser loaded ${mem.parserReady.toFixed(0)}, after parseMigrations of ${opts.bigCount} ${mem.parsed.toFixed(0)} ` +
                    `(${mem.parseMs.toFixed(0)} ms; V8 heap used ${mem.heapAfterParse.toFixed(0)} MB), ` +
                    `after applyMigrations (fingerprint: false) ${mem.applied.toFixed(0)} (${mem.applyMs.toFixed(0)} ms); whole process ${s3(mem.wall / 1000)} s`,
            );
            await dropDatabase(cluster, probeUrl);
            out();
        }

        // ---- verdicts
        out(`Verdicts (Keel = npm run schema:apply; medians of ${opts.runs}; load average now ${loadavg()})`);
        // Runs of one round ran back to back, so their ratios cancel slow drift in the machine's load.
        const paired = (a: string, b: string) =>
            opts.runs > 1
                ? `; per run ${secs(a)
                      .map((x, i) => (x / secs(b)[i]).toFixed(2))
                      .join(", ")}`
                : "";
        const competitors = all.filter((x) => x.competitor);
        const lines: [string, boolean | undefined, string][] = [
            [
                `Keel within ${TARGET_FLOOR_RATIO}x of the psql floor`,
                keel / floor <= TARGET_FLOOR_RATIO,
                `${s3(keel)} s / ${s3(floor)} s = ${x2(keel / floor)}${paired("keel-npm", "psql")} (via node, no npm: ${x2(keelNode / floor)})`,
            ],
        ];
        for (const tool of competitors) {
            const m = med(tool.key);
            lines.push([
                `Keel >= ${TARGET_SPEEDUP}x faster than ${tool.label}`,
                m / keel >= TARGET_SPEEDUP,
                `${s3(m)} s / ${s3(keel)} s = ${x2(m / keel)}${paired(tool.key, "keel-npm")}`,
            ]);
        }
        lines.push([
            `nothing-pending check < ${TARGET_PENDING_MS} ms once up`,
            applyCold < TARGET_PENDING_MS && statusCold < TARGET_PENDING_MS,
            `schema:apply path (scanMigrations + applyMigrations) ${ms1(applyCold)}, schema:status path ${ms1(statusCold)}; ` +
                `with the fingerprint (pulumi refresh) ${ms1(refreshCold)}; whole npm process ${s3(keelNoopNpm)} s`,
        ]);
        lines.push([
            `peak RSS < ${TARGET_RSS_MB} MB with ${opts.bigCount} migrations`,
            rss ? rss.mb < TARGET_RSS_MB : undefined,
            rss ? `${rss.mb.toFixed(1)} MB (node dist/cli/main.js schema apply, ${rss.how})` : "skipped (--no-10k)",
        ]);
        out(
            table(
                ["target", "verdict", "figures"],
                lines.map(([what, ok, fig]) => [what, ok === undefined ? "SKIP" : verdict(ok), fig]),
            ),
        );
        if (competitors.length) {
            // The bound on the 3x target: no runner finishes before the server has done the DDL. The least
            // server CPU any tool's session needed for the same migrations is the work no client can avoid.
            const sessions = all.map((tool) => ({ label: tool.label, cpu: serverMed(tool.key) }));
            const least = sessions.every((x) => x.cpu !== undefined) ? sessions.reduce((a, b) => (a.cpu! <= b.cpu! ? a : b)) : undefined;
            const work = least?.cpu ?? floor;
            const thirds = competitors.map((tool) => {
                const m = med(tool.key);
                return { label: tool.label, third: m / TARGET_SPEEDUP, best: m / work };
            });
            const outOfReach = thirds.filter((x) => x.third < work);
            out(
                `3x bound: the server's work alone for these ${opts.count} migrations is ${s3(work)} s ` +
                    (least
                        ? `(server CPU of the least demanding session, ${least.label}; psql floor's session ${s3(serverMed("psql")!)} s, ` +
                          `Keel's whole run ${s3(keel)} s)`
                        : "(psql floor wall time: no server CPU figures here)") +
                    `; 3x needs Keel within 1/3 of each tool: ${thirds.map((x) => `${x.label} ${s3(x.third)} s`).join(", ")}; ` +
                    `a client costing nothing would reach at most ${thirds.map((x) => x2(x.best)).join(", ")} respectively: ` +
                    (outOfReach.length === thirds.length
                        ? "3x is physically out of reach against every one of them."
                        : outOfReach.length
                          ? `3x is physically out of reach against ${outOfReach.map((x) => x.label).join(", ")}; possible in principle against the rest.`
                          : "3x is possible in principle against each of them."),
            );
        }
        out("A benchmark, not a gate: it exits 0 whatever the verdicts.");
    } finally {
        await cluster?.stop();
        removeTmp();
        process.removeListener("exit", removeTmp);
    }
}

const probing = require.main === module ? probe(process.argv.slice(2)) : undefined;
if (probing) {
    probing.then(
        () => process.exit(0),
        (err) => {
            process.stderr.write(`bench:migrations probe failed: ${err?.stack ?? err}\n`);
            process.exit(1);
        },
    );
}
