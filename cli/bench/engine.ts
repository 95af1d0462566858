/** keel bench engine: a no-op preview through the real engine, Keel's program against trivial ones (npm run bench:engine). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function engineCommand() {
    return new Command("engine")
        .description(
            "A no-op preview of the dev stack through the real engine against a trivial program, the type-checked program and " +
                "Pulumi's own plugin shim; min/median/max, ratios, the checkpoint's size and PASS/FAIL against the targets.",
        )
        .option("--runs <n>", "previews of each side, alternating", positiveNumber(), 3)
        .option("--tables <n>", "tables in the schema, one migration each", positiveNumber(), 60)
        .action(async (o) => {
            const { benchEngine } = await import("../../bench/engine");
            await benchEngine({ runs: o.runs, tables: o.tables });
        });
}
