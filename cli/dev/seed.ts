/** keel dev seed: the seeds run on the dev database (npm run dev:seed). */
import { Command } from "@commander-js/extra-typings";
import { DEFAULT_SEEDS_DIR } from "../../components/schema/seeds";
import { devSeed } from "../../scripts/devSeed";
import { KeelContext } from "../cli";
import { stackOption, urlOption } from "../options";

export const DEV_URL_HELP =
    "the database (default: the stack's own, its output databaseUrl; DATABASE_URL only for an external stack that reads it)";

export function seedCommand(cli: KeelContext) {
    return new Command("seed")
        .description(
            `Runs the seeds (${DEFAULT_SEEDS_DIR}/*.sql, in name order, each file in one transaction) on the dev database: --url, ` +
                "else the stack's own (its output databaseUrl). Dev stacks only. Seeds are not recorded: each run runs them all again.",
        )
        .addOption(stackOption("the stack, whose stage must be dev"))
        .addOption(urlOption(DEV_URL_HELP))
        .option("--dir <path>", `the seeds directory (default: ${DEFAULT_SEEDS_DIR})`)
        .action(async (o) => {
            cli.exitCode = await devSeed({ stack: o.stack, url: o.url, dir: o.dir }, { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`) });
        });
}
