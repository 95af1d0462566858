/** keel pr: a preview stack per pull request (components/previews); a file per verb. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { prCommentCommand } from "./comment";
import { downCommand } from "./down";
import { listCommand } from "./list";
import { reapCommand } from "./reap";
import { upCommand } from "./up";

export function prCommand(cli: KeelContext) {
    return new Command("pr")
        .description("a preview stack per pull request: made, listed, removed, reaped, and its comment on the pull request")
        .addCommand(upCommand(cli))
        .addCommand(downCommand(cli))
        .addCommand(listCommand(cli))
        .addCommand(reapCommand(cli))
        .addCommand(prCommentCommand(cli));
}
