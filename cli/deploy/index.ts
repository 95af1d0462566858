/** keel deploy: what follows a stack's deploy in CI (the watch, the report). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { reportCommand } from "./report";
import { watchCommand } from "./watch";

export function deployCommand(cli: KeelContext) {
    return new Command("deploy")
        .description("what follows a stack's deploy in CI: the watch that rolls it back, the report of what the deploy did")
        .addCommand(watchCommand(cli))
        .addCommand(reportCommand(cli));
}
