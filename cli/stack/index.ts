/** keel stack: Keel's program through the engine on a stack (up, preview, refresh, destroy), and new stacks. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { destroyCommand } from "./destroy";
import { newCommand } from "./new";
import { previewCommand } from "./preview";
import { refreshCommand } from "./refresh";
import { upCommand } from "./up";

export function stackCommand(cli: KeelContext) {
    return new Command("stack")
        .description("a stack through the engine: up, preview, refresh, destroy; new adds one")
        .addCommand(upCommand(cli))
        .addCommand(previewCommand(cli))
        .addCommand(refreshCommand(cli))
        .addCommand(destroyCommand(cli))
        .addCommand(newCommand(cli));
}
