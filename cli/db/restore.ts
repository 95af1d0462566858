/** keel db restore --backup <id>: a backup over the stack's database, the previous state kept (npm run db:restore). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption, urlOption, yesOption } from "../options";
import { runDbVerb } from "./dbVerb";
import { DB_URL_HELP } from "./urlHelp";

export function restoreCommand(cli: KeelContext) {
    return new Command("restore")
        .description(
            "Restores a backup over the stack's database: prints the plan and asks first; the previous state is kept " +
                "(a database or a branch) with the way back.",
        )
        .addOption(stackOption())
        .option("-b, --backup <id>", "the backup: its id as db backups lists it, or a unique prefix (required)")
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .addOption(urlOption(DB_URL_HELP))
        .action((o) => runDbVerb("restore", { stack: o.stack, backup: o.backup, yes: o.yes === true, url: o.url }, cli));
}
