/** keel bench migrations: generated migrations applied by psql, Keel, node-pg-migrate and dbmate (npm run bench:migrations). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function migrationsCommand() {
    return new Command("migrations")
        .description(
            "Applies generated migrations with psql (the floor), Keel, node-pg-migrate and dbmate, each into a fresh database; " +
                "medians, Keel's apply by phase, the nothing-pending check and peak RSS, with verdicts against the targets.",
        )
        .option("--runs <n>", "runs per tool", positiveNumber(), 3)
        .option("--count <n>", "migrations to generate", positiveNumber(), 1000)
        .option("--big-count <n>", "migrations for the peak-RSS run", positiveNumber(), 10000)
        .option("--no-10k", "skip the peak-RSS run")
        .option("--disk", "keep the cluster's data in the usual temp dir even when /dev/shm is there")
        .action(async (o) => {
            const { benchMigrations } = await import("../../bench/migrations");
            await benchMigrations({ runs: o.runs, count: o.count, bigCount: o.bigCount, big: o["10k"] !== false, disk: o.disk === true });
        });
}
