/**
 * keel bench: Keel's benchmarks (bench/), each against its targets. Loaded only when one runs:
 * a benchmark's module pulls in the test harness (PostgreSQL clusters, fake vendors).
 */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { backupCommand } from "./backup";
import { bigMigrationCommand } from "./bigMigration";
import { devResetCommand } from "./devReset";
import { engineCommand } from "./engine";
import { maskCommand } from "./mask";
import { metricsCommand } from "./metrics";
import { migrationsCommand } from "./migrations";
import { previewsCommand } from "./previews";
import { rollbackCommand } from "./rollback";

export function benchCommand(_cli: KeelContext) {
    return new Command("bench")
        .description(
            "Keel's benchmarks, each against its targets: migrations, big-migration, backup, mask, engine, rollback, dev-reset, metrics, previews",
        )
        .addCommand(migrationsCommand())
        .addCommand(bigMigrationCommand())
        .addCommand(backupCommand())
        .addCommand(maskCommand())
        .addCommand(engineCommand())
        .addCommand(rollbackCommand())
        .addCommand(devResetCommand())
        .addCommand(metricsCommand())
        .addCommand(previewsCommand());
}
