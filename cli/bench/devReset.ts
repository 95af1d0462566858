/** keel bench dev-reset: keel dev reset --yes timed three ways (npm run bench:dev-reset). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function devResetCommand() {
    return new Command("dev-reset")
        .description(
            "Times npm run dev:reset -- --yes on an existing dev database, three ways (npm, node, without the engine); " +
                "min/median/max against the target (under 5 s).",
        )
        .option("--runs <n>", "resets to time per way", positiveNumber(), 5)
        .action(async (o) => {
            const { benchDevReset } = await import("../../bench/devReset");
            await benchDevReset({ runs: o.runs });
        });
}
