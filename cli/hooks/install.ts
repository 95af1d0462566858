/** keel hooks install [--force]: Keel's git hooks on for this clone (npm run hooks:install). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

export function installCommand(cli: KeelContext) {
    return new Command("install")
        .description(
            "Turns on Keel's git hooks for this clone: git config core.hooksPath .githooks. Then every git commit runs " +
                ".githooks/pre-commit on what is staged (migration files, debug leftovers, secrets); git commit --no-verify skips it once.",
        )
        .option("--force", "replace a core.hooksPath this repository already sets to another directory")
        .action(async (o) => {
            const { install } = await import("../../scripts/hooks");
            cli.exitCode = install({ force: o.force === true }, { cwd: cli.root, out: (l) => cli.out(`${l}\n`) });
        });
}
