/** keel dev: the stack's database on this machine (start, stop, logs), its seeds and its reset. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { logsCommand } from "./logs";
import { resetCommand } from "./reset";
import { seedCommand } from "./seed";
import { startCommand } from "./start";
import { stopCommand } from "./stop";

export function devCommand(cli: KeelContext) {
    return new Command("dev")
        .description("the stack's database on this machine: start, stop, logs; seed it; reset it from the migrations")
        .addCommand(startCommand(cli))
        .addCommand(stopCommand(cli))
        .addCommand(logsCommand(cli))
        .addCommand(seedCommand(cli))
        .addCommand(resetCommand(cli));
}
