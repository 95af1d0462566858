/** keel pr: a pull request's preview environment ; a file per verb. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { downCommand } from "./down";
import { listCommand } from "./list";
import { reapCommand } from "./reap";
import { upCommand } from "./up";

export function prCommand(cli: KeelContext) {
    return new Command("pr")
        .description("a pull request's preview environment: the stack pr-<n> made from a base stack")
        .addCommand(upCommand(cli))
        .addCommand(downCommand(cli))
        .addCommand(listCommand(cli))
        .addCommand(reapCommand(cli));
}
