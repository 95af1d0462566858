/** keel bench metrics: keel metrics --json over a long synthesized history, cold and warm (npm run bench:metrics). */
import { Command, Option } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function metricsCommand() {
    return new Command("metrics")
        .description(
            "Times keel metrics --json as a process over a history (in a directory, or --backend s3) of --updates updates (history entries and checkpoints " +
                "written as Pulumi's diy backend writes them) and about --records of Keel's records, with no local cache and with it; " +
                "min/median/max against the target (under 2 s for 1,000 updates).",
        )
        .option("--updates <n>", "updates in the history", positiveNumber(), 1000)
        .option("--records <n>", "about how many of Keel's records", positiveNumber(), 300)
        .option("--runs <n>", "timed runs, cold and warm each", positiveNumber(), 3)
        .addOption(
            new Option("--backend <kind>", "where the state is: a directory, or a bucket of a real S3 server (versitygw)")
                .choices(["file", "s3"] as const)
                .default("file" as const),
        )
        .action(async (o) => {
            const { benchMetrics } = await import("../../bench/metrics");
            await benchMetrics({ updates: o.updates, records: o.records, runs: o.runs, backend: o.backend });
        });
}
