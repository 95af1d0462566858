/** keel hooks pre-commit: the checks .githooks/pre-commit runs on what is staged. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

export function preCommitCommand(cli: KeelContext) {
    return new Command("pre-commit")
        .description(
            "Checks what is staged for the next commit: migration files (syntax, destructive statements without " +
                "'-- keel:allow-destructive', a new file older than the newest committed one), debug leftovers on added code lines " +
                "(console.log(, debugger;, .only() and added text that looks like a secret. Exits 1 with each problem (file:line); " +
                "git commit --no-verify skips it once. Git runs it (sh .githooks/pre-commit) once keel hooks install has set core.hooksPath.",
        )
        .action(async () => {
            // Its report goes to stderr: git shows the hook's stderr, and a commit's stdout is the user's.
            const { main } = await import("../../scripts/preCommit");
            cli.exitCode = await main({ cwd: cli.root, out: (l) => cli.err(`${l}\n`) });
        });
}
