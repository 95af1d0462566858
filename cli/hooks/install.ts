/** keel hooks install [--force]: Keel's git hooks on for this clone (npm run hooks:install). */
import { Command } from "@commander-js/extra-typings";
import { BYPASS } from "../../components/precommit/index";
import { HOOKS_DIR, install } from "../../scripts/hooks";
import { KeelContext } from "../cli";

export function installCommand(cli: KeelContext) {
    return new Command("install")
        .description(
            `Turns on Keel's git hooks for this clone: git config core.hooksPath ${HOOKS_DIR}. Then every git commit runs ` +
                `${HOOKS_DIR}/pre-commit on what is staged (migration files, debug leftovers, secrets); ${BYPASS} skips it once.`,
        )
        .option("--force", "replace a core.hooksPath this repository already sets to another directory")
        .action((o) => {
            cli.exitCode = install({ force: o.force === true }, { cwd: cli.root, out: (l) => cli.out(`${l}\n`) });
        });
}
