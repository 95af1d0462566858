/** keel bench rollback: a rollback through the real engine, and the list of a long history, timed (npm run bench:rollback). */
import { Command, Option } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function rollbackCommand() {
    return new Command("rollback")
        .description(
            "Times npm run rollback -- --to <v> --yes through the real engine (fake Fly API, real PostgreSQL), from the command's start " +
                "to the previous version healthy, against the target (under 30 s); then the list of a history of --list deploys, " +
                "with and without the local cache, against its target (under 3 s).",
        )
        .option("--runs <n>", "rollbacks to time, alternating the two versions", positiveNumber(), 3)
        .addOption(
            new Option("--backend <file|s3>", "where the state is: a local directory, or a real S3 server (versitygw)")
                .choices(["file", "s3"] as const)
                .default("file" as const),
        )
        .option("--list <n>", "deploys in the history the list is timed on", positiveNumber(), 200)
        .action(async (o) => {
            const { benchRollback } = await import("../../bench/rollback");
            await benchRollback({ runs: o.runs, list: o.list, backend: o.backend });
        });
}
