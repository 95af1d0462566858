/** keel bench previews: a pull request's preview made and removed through the real engine on the fakes, timed (npm run bench:previews). */
import { Command } from "@commander-js/extra-typings";
import { positiveNumber } from "../options";

export function previewsCommand() {
    return new Command("previews")
        .description(
            "Times keel pr up of a new preview (a Neon child branch migrated, a Fly app behind the health gate, the Vercel variable, the GitHub " +
                "environment) and keel pr down, through the real engine against fake Neon (a real PostgreSQL behind it), Fly, Vercel and GitHub; " +
                "min/median/max per step against the targets (up under 60 s, down under 30 s).",
        )
        .option("--runs <n>", "previews to make and remove", positiveNumber(), 3)
        .action(async (o) => {
            const { benchPreviews } = await import("../../bench/previews");
            await benchPreviews({ runs: o.runs });
        });
}
