/** keel pr comment: the pull request's one preview comment, from pr up's summary (scripts/prComment.ts). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

export function prCommentCommand(cli: KeelContext) {
    return new Command("comment")
        .description(
            "Writes the pull request's preview comment from the summary `keel pr up --summary <file>` left (URLs, expiry, the migrations it adds, " +
                "its schema against the base, the pre-commit findings) and edits the one already there (found by its hidden marker), else creates it. " +
                "With GITHUB_TOKEN (pull-requests: write) on GITHUB_REPOSITORY; previews.yml runs it after pr up.",
        )
        .requiredOption("--pr <n>", "the pull request")
        .requiredOption("--summary <file>", "the JSON summary pr up wrote")
        .option("--print", "print the comment's Markdown instead of posting it")
        .action(async (o) => {
            const { prComment } = await import("../../scripts/prComment");
            cli.exitCode = await prComment(
                { pr: o.pr, summary: o.summary, print: o.print === true },
                { root: cli.root, env: cli.env, out: cli.out },
            );
        });
}
