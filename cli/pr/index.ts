/** keel pr: a pull request's preview environment (issue 24). A file per verb; add each verb here. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { reapCommand } from "./reap";

export function prCommand(cli: KeelContext) {
    return new Command("pr")
        .description("a pull request's preview environment: the stack pr-<n> made from a base stack")
        .addCommand(reapCommand(cli));
}
