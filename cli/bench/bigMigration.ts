/** keel bench big-migration: one large data migration through Keel's engine, memory by phase (npm run bench:big-migration). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function bigMigrationCommand() {
    return new Command("big-migration")
        .description(
            "One large data migration applied by Keel's engine in a fresh process: peak RSS after each phase, parse and apply times, " +
                "the server backend's peak RSS; checks the rows, asserts nothing about time or memory.",
        )
        .option("--mb <n>", "size of the migration file in MB", positiveNumber(true), 50)
        .action(async (o) => {
            const { benchBigMigration } = await import("../../bench/bigMigration");
            await benchBigMigration({ mb: o.mb });
        });
}
