/**
 * npm run bench:big-migration [-- --mb 50]
 *
 * One large data migration (tools/bigMigration.ts: 50 MB is about
 * 690,000 INSERTs) applied by Keel's engine to a fresh database on a throwaway
 * cluster, in a fresh process as `schema:apply` runs it: scanMigrations,
 * parseMigrations (the parser is handed the file in bounded pieces), then
 * applyMigrations, which sends the transactional file as one message. Prints
 * the peak RSS of that process after each phase, the parse and apply times, and
 * the peak RSS of the server backend that ran the file (from /proc). Checks the
 * rows and the lint facts; asserts nothing about time or memory.
 *
 * Internal child mode: --probe <dir> (DATABASE_URL is the empty database).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { Client } from "pg";

const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

async function probe(dir: string): Promise<void> {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const { parseMigrations, scanMigrations } = await import("../components/schema/migrationSet");
    const { applyMigrations, DEFAULT_ENGINE_SETTINGS } = await import("../components/schema/runner");
    const ready = maxRssMb();
    let t = performance.now();
    const sources = scanMigrations(dir);
    const scanMs = performance.now() - t;
    const scanned = maxRssMb();
    t = performance.now();
    const files = await parseMigrations(sources, dir);
    const parseMs = performance.now() - t;
    const parsed = maxRssMb();
    const heapAfterParse = process.memoryUsage().heapUsed / 1048576;
    const [file] = files;
    t = performance.now();
    const result = await applyMigrations(
        url,
        files,
        { ...DEFAULT_ENGINE_SETTINGS, appliedBy: "bench", statementTimeout: "1h" },
        undefined,
        { fingerprint: false },
    );
    const applyMs = performance.now() - t;
    if (result.ran.length !== 1) throw new Error(`applied ${result.ran.length} files, expected 1`);
    process.stdout.write(
        JSON.stringify({
            statements: file.statements.length,
            destructive: file.destructive,
            lastInsertLine: file.statements[file.statements.length - 2].line,
            ready,
            scanned,
            scanMs,
            parsed,
            parseMs,
            heapAfterParse,
            applied: maxRssMb(),
            applyMs,
        }) + "\n",
    );
}

export interface BigMigrationBenchOptions {
    /** Size of the migration file in MB. */
    mb: number;
}

export async function benchBigMigration(options: BigMigrationBenchOptions): Promise<void> {
    const mb = options.mb;
    const out = (s = "") => process.stdout.write(s + "\n");
    const { backendPeakMb, bigMigration } = await import("../tools/bigMigration");
    const { PostgresCluster } = await import("../tools/postgres");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-big-"));
    const cluster = await PostgresCluster.start();
    try {
        const url = await cluster.createDatabase("big");
        const big = bigMigration(mb * 1e6);
        fs.writeFileSync(path.join(tmp, "1_big.sql"), big.text);
        const bytes = fs.statSync(path.join(tmp, "1_big.sql")).size;
        out(
            `Keel big-migration bench: ${(bytes / 1e6).toFixed(1)} MB, ${big.inserts} INSERTs (${big.statements} statements), node ${process.version}, ${os.cpus().length} CPU(s)`,
        );

        const admin = new Client({ connectionString: url });
        await admin.connect();
        let serverPeak: number | undefined;
        const watch = setInterval(() => {
            admin
                .query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'keel-migrate%'")
                .then((r) => {
                    for (const { pid } of r.rows) {
                        const peak = backendPeakMb(pid);
                        if (peak !== undefined) serverPeak = Math.max(serverPeak ?? 0, peak);
                    }
                })
                .catch(() => undefined);
        }, 200);
        // spawnSync would block the event loop that samples the server: run the child asynchronously.
        const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const p = spawn(process.execPath, [__filename, "--probe", tmp], { env: { ...process.env, DATABASE_URL: url } });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (code) => resolve({ code, stdout, stderr }));
        });
        clearInterval(watch);
        if (child.code !== 0) throw new Error(`the probe failed (${child.code}): ${child.stderr.slice(-2000)}`);
        const r = JSON.parse(child.stdout.trim().split("\n").pop()!);
        const rows = Number((await admin.query("SELECT count(*) AS n FROM big_t")).rows[0].n);
        await admin.end();

        const ok = (cond: boolean) => (cond ? "ok" : "WRONG");
        out(
            `rows in big_t: ${rows} (${ok(rows === big.inserts)}); statements found: ${r.statements} (${ok(r.statements === big.statements)})`,
        );
        out(
            `destructive: ${JSON.stringify(r.destructive)} (${ok(r.destructive.length === 1 && r.destructive[0].line === big.dropLine)}: line ${big.dropLine} is the DROP TABLE)`,
        );
        out(`last INSERT at line ${r.lastInsertLine} (${ok(r.lastInsertLine === big.dropLine - 1)})`);
        out("");
        out("peak RSS of the schema:apply process (MB):");
        out(
            `  modules loaded ${r.ready.toFixed(0)}, after scan ${r.scanned.toFixed(0)} (${r.scanMs.toFixed(0)} ms), after parse ${r.parsed.toFixed(0)} (${(r.parseMs / 1000).toFixed(1)} s, heap ${r.heapAfterParse.toFixed(0)} MB), after apply ${r.applied.toFixed(0)} (${(r.applyMs / 1000).toFixed(1)} s)`,
        );
        out(
            `peak RSS of the server backend that ran it: ${serverPeak === undefined ? "not visible here (no /proc access)" : `${serverPeak.toFixed(0)} MB`}`,
        );
        out("A benchmark, not a gate.");
    } finally {
        await cluster.stop();
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

// The probe is the bench's own child process (--probe <dir>), not an option a user passes.
if (require.main === module && process.argv[2] === "--probe") {
    probe(process.argv[3]).then(
        () => process.exit(0),
        (err) => {
            process.stderr.write(`bench:big-migration probe failed: ${err?.stack ?? err}\n`);
            process.exit(1);
        },
    );
}
