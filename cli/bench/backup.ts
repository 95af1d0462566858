/** keel bench backup: Keel's backup and restore against bare pg_dump and pg_restore (npm run bench:backup). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function backupCommand() {
    return new Command("backup")
        .description(
            "Keel's backup and restore against bare pg_dump -Fc and createdb + pg_restore on a generated database, alternating; " +
                "medians, ratios and PASS/FAIL against 1.1x.",
        )
        .option("--mb <n>", "size of the generated database in MB", positiveNumber(true), 200)
        .option("--runs <n>", "runs of each side", positiveNumber(), 3)
        .action(async (o) => {
            const { benchBackup } = await import("../../bench/backup");
            await benchBackup({ mb: o.mb, runs: o.runs });
        });
}
