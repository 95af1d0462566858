/**
 * The bench's child modes, each run in a fresh process of the bench's own
 * entry file: Keel's engine called as the CLI calls it, timed by phase.
 */
import * as path from "path";
import { performance } from "perf_hooks";
import { median } from "../cli";
import { timeProcess } from "./processes";
import type { ServerCpu } from "./serverCpu";

export type PendingMode = "status" | "apply" | "refresh";

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
    const migrationSet = await import("../../components/schema/migrationSet");
    const runner = await import("../../components/schema/runner");
    const fingerprint = await import("../../components/postgres/fingerprint");
    const connection = await import("../../components/postgres/connection");
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
    const migrationSet = await import("../../components/schema/migrationSet");
    const runner = await import("../../components/schema/runner");
    const sql = await import("../../components/schema/sql");
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
    const migrationSet = await import("../../components/schema/migrationSet");
    const runner = await import("../../components/schema/runner");
    const sql = await import("../../components/schema/sql");
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

/** The bench's own child processes (see the top of bench/migrations.ts), or undefined for a user's command line. */
export function probe(argv: string[]): Promise<void> | undefined {
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

/** Runs the bench's entry file in a child mode; its JSON, with the wall time (ms) and the server's CPU (s) for its sessions when `server` is given. */
export async function runProbe(entry: string, label: string, args: string[], url: string, server?: ServerCpu): Promise<any> {
    const before = await server?.seconds();
    const out = timeProcess(label, process.execPath, [entry, ...args], { DATABASE_URL: url });
    const after = await server?.seconds();
    const line = out.stdout.trim().split("\n").pop() ?? "";
    return {
        ...JSON.parse(line),
        wall: out.seconds * 1000,
        serverCpu: before === undefined || after === undefined ? undefined : after - before,
    };
}
