/** keel dev seed: the seeds run on the dev database (npm run dev:seed). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption, urlOption } from "../options";

/** components/schema/seeds.ts's DEFAULT_SEEDS_DIR, for the help (that module loads the SQL parser). */
export const SEEDS_DIR = "db/seeds";

export const DEV_URL_HELP =
    "the database (default: the stack's own, its output databaseUrl; DATABASE_URL only for an external stack that reads it)";

export function seedCommand(cli: KeelContext) {
    return new Command("seed")
        .description(
            `Runs the seeds (${SEEDS_DIR}/*.sql, in name order, each file in one transaction) on the dev database: --url, ` +
                "else the stack's own (its output databaseUrl). Dev stacks only. Seeds are not recorded: each run runs them all again.",
        )
        .addOption(stackOption("the stack, whose stage must be dev"))
        .addOption(urlOption(DEV_URL_HELP))
        .option("--dir <path>", `the seeds directory (default: ${SEEDS_DIR})`)
        .action(async (o) => {
            const { devSeed } = await import("../../scripts/devSeed");
            cli.exitCode = await devSeed(
                { stack: o.stack, url: o.url, dir: o.dir },
                { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`) },
            );
        });
}
