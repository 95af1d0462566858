/** keel schema new <name>: a new migration file (npm run schema:new). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption } from "../options";
import { schemaIo } from "./options";

export function newCommand(cli: KeelContext) {
    return new Command("new")
        .description("Creates <dir>/<version>_<name>.sql: the next sequence number when the directory counts, else a UTC timestamp.")
        .argument("[name...]", "the migration's name (words are joined with _)")
        .addOption(stackOption("whose keel:migrations settings apply"))
        .option("--dir <path>", "the migrations directory, for this run (default: the stack's keel:migrations.dir)")
        .action(async (name, o) => {
            const { schemaNew } = await import("../../scripts/schema");
            cli.exitCode = await schemaNew({ stack: o.stack, dir: o.dir, name }, schemaIo(cli));
        });
}
