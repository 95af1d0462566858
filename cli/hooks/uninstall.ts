/** keel hooks uninstall: Keel's git hooks off for this clone (npm run hooks:uninstall). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

export function uninstallCommand(cli: KeelContext) {
    return new Command("uninstall")
        .description("Turns Keel's git hooks off for this clone: unsets core.hooksPath when it is .githooks. The files stay.")
        .action(async () => {
            const { uninstall } = await import("../../scripts/hooks");
            cli.exitCode = uninstall({ cwd: cli.root, out: (l) => cli.out(`${l}\n`) });
        });
}
