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
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import type { PostgresCluster } from "../tools/postgres";
import { applyByPhase } from "./migrations/applyPhases";
import { applyIntoEmptyDatabases } from "./migrations/applyRuns";
import { startCluster } from "./migrations/cluster";
import { generate } from "./migrations/generate";
import { KEEL_CLI } from "./migrations/migrationTools";
import { nothingPending } from "./migrations/nothingPending";
import type { Options } from "./migrations/options";
import { peakMemory } from "./migrations/peakMemory";
import { probe } from "./migrations/probes";
import { GNU_TIME, useScratchDir } from "./migrations/processes";
import { loadavg } from "./migrations/report";
import { reportVerdicts } from "./migrations/verdicts";

/** keel bench migrations (cli/bench/migrations.ts). */
export async function benchMigrations(opts: Options): Promise<void> {
    const out = (s = "") => process.stdout.write(s + "\n");
    if (!fs.existsSync(KEEL_CLI)) throw new Error(`${KEEL_CLI} is missing: run 'npm run build' first`);

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bench-"));
    useScratchDir(tmp);
    const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
    process.on("exit", removeTmp);
    let cluster: PostgresCluster | undefined;
    try {
        const cpus = os.cpus();
        out(`Keel migration benchmark: ${opts.count} migrations (CREATE TABLE + CREATE INDEX each), ${opts.runs} run(s) per tool`);
        out(
            `node ${process.version}, ${cpus.length} CPU(s) ${cpus[0]?.model ?? ""}, ${os.platform()} ${os.release()}, load average ${loadavg()}`,
        );
        const started = await startCluster(opts, out);
        cluster = started.cluster;
        const t = performance.now();
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
        const bench = { opts, out, cluster, server: started.server, g, tmp, entry: __filename };
        const applied = await applyIntoEmptyDatabases(bench);
        await applyByPhase(bench);
        const pending = await nothingPending(bench, applied);
        const rss = await peakMemory(bench, applied.keelNode);
        reportVerdicts(bench, applied, pending, rss);
    } finally {
        await cluster?.stop();
        removeTmp();
        process.removeListener("exit", removeTmp);
    }
}

// The entry re-runs itself as each timed child (--probe-*); imported by keel bench, it only exports.
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
