/** keel pr up: creates or updates a pull request's preview, the stack pr-<n> (npm run pr:up). */
import { Command, Option } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { fromOption, prIo, prOption } from "./prOptions";

export function upCommand(cli: KeelContext) {
    return new Command("up")
        .description(
            "Creates or updates the preview of a pull request, the stack pr-<n>, from the base stack's settings (keel:previews): " +
                "its database (a Neon child branch with an expiry, or a database beside an external base's; schema-only, seeded or masked), " +
                "its backend (named for the PR, smallest size, autostop), the base's Vercel preview deployments of its branch pointed at it, " +
                "its GitHub environment; then the PR's migrations and the health gate. Refuses forks and more than keel:previews.max previews. Prints the URLs.",
        )
        .addOption(prOption())
        .addOption(fromOption())
        .option("--branch <name>", "the pull request's head branch (default GITHUB_HEAD_REF, else the checkout's branch)")
        .option("--head-repo <owner/name>", "the pull request's head repository: a fork's is refused (previews.yml passes it)")
        .addOption(new Option("--summary <file>", "also write what was made (JSON) to this file, for keel pr comment"))
        .action(async (o) => {
            const { prUp } = await import("../../scripts/prUp");
            cli.exitCode = await prUp(
                {
                    pr: o.pr,
                    from: o.from,
                    ...(o.branch ? { branch: o.branch } : {}),
                    ...(o.headRepo ? { headRepo: o.headRepo } : {}),
                    ...(o.summary ? { summary: o.summary } : {}),
                },
                prIo(cli),
            );
        });
}
