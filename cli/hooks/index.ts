/** keel hooks: Keel's git hooks (.githooks/) turned on or off for this clone, and the pre-commit checks they run. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { installCommand } from "./install";
import { preCommitCommand } from "./preCommit";
import { uninstallCommand } from "./uninstall";

export function hooksCommand(cli: KeelContext) {
    return new Command("hooks")
        .description("Keel's git hooks for this clone: install, uninstall; pre-commit is the check they run")
        .addCommand(installCommand(cli))
        .addCommand(uninstallCommand(cli))
        .addCommand(preCommitCommand(cli));
}
