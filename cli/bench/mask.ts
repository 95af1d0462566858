/** keel bench mask: a masked copy of a database against pg_dump | pg_restore (npm run bench:mask, issue 23). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function maskCommand() {
    return new Command("mask")
        .description(
            "A masked copy (Keel's copyDatabase, every column under a masking rule) against a plain createdb + pg_dump -Fc | pg_restore of a generated " +
                "database (accounts, orders, events: emails, names, phones, notes, jsonb, foreign keys), alternating; medians, the ratio and " +
                "PASS/FAIL against 1.5x.",
        )
        .option("--mb <n>", "size of the generated database in MB", positiveNumber(true), 1024)
        .option("--runs <n>", "runs of each side", positiveNumber(), 3)
        .action(async (o) => {
            const { benchMask } = await import("../../bench/mask");
            await benchMask({ mb: o.mb, runs: o.runs });
        });
}
