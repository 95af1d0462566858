/** The nothing-pending check with `count` applied: as whole processes, and in-process as the CLI calls the engine. */
import { median } from "../cli";
import type { ApplyResults } from "./applyRuns";
import type { BenchRun } from "./context";
import { dropDatabase } from "./databases";
import { KEEL_CLI } from "./migrationTools";
import { TARGET_PENDING_MS } from "./options";
import { PendingMode, runProbe } from "./probes";
import { Timed, timeProcess } from "./processes";
import { min, ms1, optionalMedian, s3, table, verdict } from "./report";

/** The first call of each check (ms) and the whole npm process (s), for the verdicts. */
export interface NothingPending {
    statusCold: number;
    applyCold: number;
    refreshCold: number;
    keelNoopNpm: number;
}

export async function nothingPending(bench: BenchRun, a: ApplyResults): Promise<NothingPending> {
    const { opts, out, cluster, g } = bench;
    const { all, keelDb } = a;
    const optMed = optionalMedian;
    const env = { DATABASE_URL: keelDb };
    const noop: [string, Timed[]][] = [
        ["Keel: npm run schema:apply", []],
        ["Keel: node dist/cli/main.js schema apply", []],
        ["Keel: npm run schema:status", []],
    ];
    for (let run = 1; run <= opts.runs; run++) {
        noop[0][1].push(
            timeProcess("keel (npm, nothing pending)", "npm", ["run", "schema:apply", "--", "--dir", g.keel, "--url", keelDb], env, true),
        );
        noop[1][1].push(
            timeProcess(
                "keel (node, nothing pending)",
                process.execPath,
                [KEEL_CLI, "schema", "apply", "--dir", g.keel, "--url", keelDb],
                env,
                true,
            ),
        );
        noop[2][1].push(timeProcess("keel status", "npm", ["run", "schema:status", "--", "--dir", g.keel, "--url", keelDb], env, true));
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
            pendingProbes
                .get(mode)!
                .push(await runProbe(bench.entry, `pending probe (${mode})`, ["--probe-pending", g.keel, mode], keelDb));
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
                return [label, s3(median(ts.map((r) => r.seconds))), s3(min(ts.map((r) => r.seconds))), cpu === undefined ? "-" : s3(cpu)];
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
    return { statusCold, applyCold, refreshCold, keelNoopNpm };
}
