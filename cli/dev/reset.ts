/** keel dev reset: the dev database dropped and rebuilt from the migrations and seeds (npm run dev:reset). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption, urlOption, yesOption } from "../options";
import { DEV_URL_HELP, SEEDS_DIR } from "./seed";

export function resetCommand(cli: KeelContext) {
    return new Command("reset")
        .description(
            "Starts the dev database over: drops it, creates it again empty, applies every migration and runs the seeds " +
                `(${SEEDS_DIR}/). Dev stacks only; says what it will destroy and asks first.`,
        )
        .addOption(stackOption("the stack, whose stage must be dev"))
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .addOption(urlOption(DEV_URL_HELP))
        .option("--seeds <path>", `the seeds directory (default: ${SEEDS_DIR})`)
        .action(async (o) => {
            const { devReset } = await import("../../scripts/devReset");
            cli.exitCode = await devReset(
                { stack: o.stack, yes: o.yes === true, url: o.url, seeds: o.seeds },
                { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`), confirm: cli.confirm },
            );
        });
}
