/**
 * npm run bench:metrics [-- --updates 1000] [--records 300] [--runs 3] [--backend file|s3]
 *
 * `keel metrics --json` over a long history, as a user runs it: a stack whose
 * state is a directory (or, with `--backend s3`, a bucket of a real S3 server,
 * versitygw, serving that directory) holding `--updates` updates written as Pulumi's diy
 * backend writes them (bench/metrics/history.ts: each a history entry and a
 * checkpoint with a few dozen resources) and about `--records` of Keel's
 * records; the command run as a process (`node keel metrics --json --stack
 * bench --since <all of it>`), with no local cache (every object read and
 * parsed) and with the cache the first run left. Prints min/median/max of each
 * against the target (under 2 s for 1,000 updates) and checks the report
 * counted what was written. Exits 0 either way.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import type { MetricsReport } from "../../components/metrics";
import { ObjectStoreServer, startS3Server } from "../../tools/objectStores";
import { ROOT } from "../../tools/repoRoot";
import { tempDir } from "../../tools/tempDir";
import { median } from "../cli";
import { syntheticProject, writeHistory, writeRecords } from "./history";
import { scenario } from "./scenario";

const TARGET_SECONDS = 2;
const STACK = "bench";

export interface MetricsBenchOptions {
    /** Updates in the history. */
    updates: number;
    /** Roughly how many of Keel's records (those of the newest deploys and what followed them). */
    records: number;
    /** Timed runs of each kind. */
    runs: number;
    /** Where the state is: a directory, or a bucket on a real S3 server. */
    backend: "file" | "s3";
}

/** keel bench metrics (cli/bench/metrics.ts). */
export async function benchMetrics({ updates, records: recorded, runs, backend }: MetricsBenchOptions): Promise<void> {
    const root = tempDir("keel-bench-metrics-");
    const env = syntheticProject(root, [STACK]);
    let s3: ObjectStoreServer | undefined;
    try {
        await benchOn(root, env, { updates, records: recorded, runs, backend }, async () => {
            if (backend !== "s3") return {};
            // The bucket is a directory of the served one: the state written above becomes its objects.
            const served = tempDir("keel-bench-metrics-s3-");
            fs.renameSync(env.PULUMI_BACKEND_URL.slice("file://".length), path.join(served, "keel-bench-state"));
            s3 = await startS3Server({ dir: served });
            return { PULUMI_BACKEND_URL: s3.backendUrl("keel-bench-state"), ...s3.env };
        });
    } finally {
        await s3?.stop();
    }
}

async function benchOn(
    root: string,
    env: Record<string, string>,
    { updates, records: recorded, runs, backend }: MetricsBenchOptions,
    serve: () => Promise<Record<string, string>>,
): Promise<void> {
    const now = new Date();
    // About 1.3 records per recorded deploy (its own, and the watches, incidents, drift runs and drills after it).
    const s = scenario(STACK, updates, Math.round(recorded / 1.3), now);
    writeHistory(env, STACK, s.updates);
    await writeRecords(root, env, STACK, s.records);
    const state = env.PULUMI_BACKEND_URL.slice("file://".length);
    const size = (dir: string): number =>
        fs
            .readdirSync(dir, { withFileTypes: true })
            .reduce((n, e) => n + (e.isDirectory() ? size(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);
    console.log(
        `bench:metrics: ${s.updates.length} updates (${(size(path.join(state, ".pulumi")) / s.updates.length / 1024).toFixed(1)} KiB each, ` +
            `history entry and checkpoint) and ${s.records.length} records in ${backend === "s3" ? "a bucket of a real S3 server (versitygw)" : `a file backend (${state})`}`,
    );
    Object.assign(env, await serve());
    const days = Math.ceil((now.getTime() - s.first.getTime()) / 86_400_000) + 1;
    const keel = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(ROOT, "keel"), ...args], {
            cwd: root,
            env: { ...process.env, ...env, KEEL_STATE_ROOT: "" },
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
    // Builds dist/ if it is stale, outside the timings.
    keel("metrics", "--help");
    const cache = path.join(root, ".keel", "cache");
    const time = (cold: boolean) => {
        const seconds: number[] = [];
        let report: MetricsReport | undefined;
        for (let i = 0; i < runs; i++) {
            if (cold) fs.rmSync(cache, { recursive: true, force: true });
            const started = performance.now();
            const res = keel("metrics", "--json", "--stack", STACK, "--since", `${days}d`);
            seconds.push((performance.now() - started) / 1000);
            if (res.status !== 0) throw new Error(`keel metrics failed (exit ${res.status}):\n${res.stderr}`);
            report = JSON.parse(res.stdout) as MetricsReport;
        }
        const m = median(seconds);
        console.log(
            `keel metrics --json over ${updates} updates, ${cold ? "a fresh machine (no local cache: the digest beside the state)" : "from the local cache"}: ` +
                `min ${Math.min(...seconds).toFixed(2)} s, median ${m.toFixed(2)} s, max ${Math.max(...seconds).toFixed(2)} s; ` +
                `target < ${TARGET_SECONDS} s: ${m < TARGET_SECONDS ? "PASS" : "FAIL"}`,
        );
        return { m, report: report! };
    };
    // Wall-clock figures on a shared machine: the load they were taken under is part of the figure.
    const load = () => `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`;
    console.log(`  timing ${runs} runs each, ${load()}`);
    // The very first read of the history reads every object and leaves the digest beside the state (stackHistory.ts).
    fs.rmSync(cache, { recursive: true, force: true });
    const first = performance.now();
    const once = keel("metrics", "--json", "--stack", STACK, "--since", `${days}d`);
    if (once.status !== 0) throw new Error(`keel metrics failed (exit ${once.status}):\n${once.stderr}`);
    console.log(
        `keel metrics --json, the first read ever (every object read and parsed, the digest written): ${((performance.now() - first) / 1000).toFixed(2)} s`,
    );
    const cold = time(true);
    const warm = time(false);
    const r = cold.report.stacks[0];
    if (r.read.updates !== s.updates.length || r.read.records !== s.records.length)
        throw new Error(
            `the report read ${r.read.updates} updates and ${r.read.records} records, not ${s.updates.length} and ${s.records.length}`,
        );
    console.log(
        `  the cache saves ${(cold.m - warm.m).toFixed(2)} s (warm is ${((warm.m / cold.m) * 100).toFixed(0)}% of cold); ` +
            `counted: ${r.totals.deploys.count} deploys, ${r.totals.rollbacks.count} rollbacks, ${r.totals.changeFailures.count} change failures, ` +
            `${r.weeks.length} weeks; ${load()}`,
    );
}
