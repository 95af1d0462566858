/** keel hooks uninstall: Keel's git hooks off for this clone (npm run hooks:uninstall). */
import { Command } from "@commander-js/extra-typings";
import { HOOKS_DIR, uninstall } from "../../scripts/hooks";
import { KeelContext } from "../cli";

export function uninstallCommand(cli: KeelContext) {
    return new Command("uninstall")
        .description(`Turns Keel's git hooks off for this clone: unsets core.hooksPath when it is ${HOOKS_DIR}. The files stay.`)
        .action(() => {
            cli.exitCode = uninstall({ cwd: cli.root, out: (l) => cli.out(`${l}\n`) });
        });
}
