/** keel monitor: the scheduled health check of a deployed stack. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { checkCommand } from "./check";

export function monitorCommand(cli: KeelContext) {
    return new Command("monitor")
        .description("the scheduled health check of a deployed stack, with its incident issue")
        .addCommand(checkCommand(cli));
}
