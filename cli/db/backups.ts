/** keel db backups: the stack's backups, newest first (npm run db:backups). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { jsonOption, stackOption } from "../options";
import { runDbVerb } from "./dbVerb";

export function backupsCommand(cli: KeelContext) {
    return new Command("backups")
        .description("Lists the stack's backups, newest first: time, schema version, the version each was taken before, size or LSN.")
        .addOption(stackOption())
        .addOption(jsonOption("print the stack and its backups' records as one JSON document"))
        .action((o) => runDbVerb("backups", { stack: o.stack, json: o.json === true }, cli));
}
