/** Where Keel's apply time goes: the engine's calls in a fresh process, phase by phase. */
import { median } from "../cli";
import type { BenchRun } from "./context";
import { dropDatabase } from "./databases";
import { runProbe } from "./probes";
import { optionalMedian, table } from "./report";

export async function applyByPhase(bench: BenchRun): Promise<void> {
    const { opts, out, cluster, server, g } = bench;
    const optMed = optionalMedian;
    const applyProbes: any[] = [];
    for (let run = 1; run <= opts.runs; run++) {
        const url = await cluster.createDatabase("keel_probe");
        applyProbes.push(await runProbe(bench.entry, "keel apply probe", ["--probe-apply", g.keel], url, server));
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
}
