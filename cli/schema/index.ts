/** keel schema: the migration engine against a stack's database, and the tools around it. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { adoptCommand } from "./adopt";
import { applyCommand } from "./apply";
import { diffCommand } from "./diff";
import { newCommand } from "./new";
import { resolveCommand } from "./resolve";
import { statusCommand } from "./status";

export function schemaCommand(cli: KeelContext) {
    return new Command("schema")
        .description("the migrations against a stack's database: status, apply, new, resolve; adopt another tool's; diff two databases")
        .addCommand(statusCommand(cli))
        .addCommand(applyCommand(cli))
        .addCommand(newCommand(cli))
        .addCommand(resolveCommand(cli))
        .addCommand(adoptCommand(cli))
        .addCommand(diffCommand(cli));
}
