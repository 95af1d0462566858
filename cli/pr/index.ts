/** keel pr: a preview stack per pull request (components/previews). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { prCommentCommand } from "./comment";

export function prCommand(cli: KeelContext) {
    return new Command("pr")
        .description("a preview stack per pull request: made, listed, removed, reaped, and its comment on the pull request")
        .addCommand(prCommentCommand(cli));
}
