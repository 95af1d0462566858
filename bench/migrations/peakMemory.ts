/** Peak memory of Keel's apply with `big-count` migrations: as a whole process (the verdict), and by phase. */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import type { BenchRun } from "./context";
import { dropDatabase, verifyApplied } from "./databases";
import { generate } from "./generate";
import { KEEL_CLI } from "./migrationTools";
import { runProbe } from "./probes";
import { GNU_TIME, scratchDir, timeProcess } from "./processes";
import { s3 } from "./report";

export type PeakRss = ReturnType<typeof peakRss>;

/** Max RSS (MB) and wall time of `node dist/cli/main.js schema apply --dir dir`: GNU time, else a preload reporting maxRSS at exit. */
export function peakRss(dir: string, url: string): { mb: number; seconds: number; cpu?: number; how: string } {
    const env = { DATABASE_URL: url };
    if (fs.existsSync(GNU_TIME)) {
        const r = timeProcess("keel (big)", process.execPath, [KEEL_CLI, "schema", "apply", "--dir", dir, "--url", url], env, true);
        if (r.rssMb !== undefined) return { mb: r.rssMb, seconds: r.seconds, cpu: r.cpu, how: `${GNU_TIME} %M` };
    }
    const out = path.join(scratchDir(), "maxrss.txt");
    const preload = path.join(scratchDir(), "maxrss.js");
    fs.writeFileSync(
        preload,
        `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`,
    );
    const r = timeProcess("keel (big)", process.execPath, ["-r", preload, KEEL_CLI, "schema", "apply", "--dir", dir, "--url", url], env);
    return { mb: Number(fs.readFileSync(out, "utf8")) / 1024, seconds: r.seconds, how: "process.resourceUsage().maxRSS at exit" };
}

/** The peak-RSS run, unless --no-10k; `keelNode` (s) is Keel's median at `count`, for the per-migration comparison. */
export async function peakMemory(bench: BenchRun, keelNode: number): Promise<PeakRss | undefined> {
    const { opts, out, cluster, tmp } = bench;
    let rss: PeakRss | undefined;
    if (opts.big) {
        const t = performance.now();
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
            [KEEL_CLI, "schema", "apply", "--dir", big.keel, "--url", url],
            { DATABASE_URL: url },
            true,
        );
        out(
            `  nothing pending with ${opts.bigCount} applied, same command: ${s3(again.seconds)} s` +
                `${again.rssMb === undefined ? "" : `, max RSS ${again.rssMb.toFixed(1)} MB`}`,
        );
        await dropDatabase(cluster, url);
        const probeUrl = await cluster.createDatabase("keel_big_probe");
        const mem = await runProbe(bench.entry, "memory probe", ["--probe-memory", big.keel], probeUrl);
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
    return rss;
}
