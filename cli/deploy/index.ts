/** keel deploy: what follows a stack's deploy in CI (the watch). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { watchCommand } from "./watch";

export function deployCommand(cli: KeelContext) {
    return new Command("deploy")
        .description("what follows a stack's deploy in CI: the watch that rolls it back")
        .addCommand(watchCommand(cli));
}
