/** Applying the migrations into empty databases with every tool, round-robin so drift hits every tool alike. */
import { median } from "../cli";
import type { BenchRun } from "./context";
import { dropDatabase, verifyApplied } from "./databases";
import { Tool, tools } from "./migrationTools";
import { TARGET_FLOOR_RATIO, TARGET_SPEEDUP } from "./options";
import type { Timed } from "./processes";
import { min, optionalMedian, s3, table, verdict, x2 } from "./report";

export interface ApplyResults {
    all: Tool[];
    /** Per tool's key, its runs. */
    runs: Map<string, Timed[]>;
    /** The database Keel (through npm) applied into on its first run, kept for the nothing-pending checks. */
    keelDb: string;
    /** Medians, in seconds: the psql floor, Keel through npm, Keel through node. */
    floor: number;
    keel: number;
    keelNode: number;
}

export const secondsOf = (a: ApplyResults, key: string) => a.runs.get(key)!.map((r) => r.seconds);
export const medianOf = (a: ApplyResults, key: string) => median(secondsOf(a, key));
export const serverMedian = (a: ApplyResults, key: string) => optionalMedian(a.runs.get(key)!.map((r) => r.serverCpu));

/** Runs every tool `runs` times, each into a fresh database, and prints the table. */
export async function applyIntoEmptyDatabases(bench: BenchRun): Promise<ApplyResults> {
    const { opts, out, cluster, server, g } = bench;
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
    if (!keelDb) throw new Error("no Keel database was kept");
    const a: ApplyResults = { all, runs, keelDb, floor: 0, keel: 0, keelNode: 0 };
    a.floor = medianOf(a, "psql");
    a.keel = medianOf(a, "keel-npm");
    a.keelNode = medianOf(a, "keel-node");
    reportApply(bench, a);
    return a;
}

function reportApply(bench: BenchRun, a: ApplyResults): void {
    const { opts, out } = bench;
    const { all, runs, floor, keel, keelNode } = a;
    const secs = (key: string) => secondsOf(a, key);
    const med = (key: string) => medianOf(a, key);
    const optMed = optionalMedian;
    const serverMed = (key: string) => serverMedian(a, key);
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
}
