/** keel db drill: backup, restore into a scratch copy, compare, clean up (npm run db:drill). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption, urlOption } from "../options";
import { runDbVerb } from "./dbVerb";
import { DB_URL_HELP } from "./urlHelp";

export function drillCommand(cli: KeelContext) {
    return new Command("drill")
        .description(
            "Takes a backup, restores it into a scratch database (or branch), compares schema, rows and data with the source, " +
                "prints a pass/fail report (exit 1 on a failure) and removes the scratch copy.",
        )
        .addOption(stackOption())
        .addOption(urlOption(DB_URL_HELP))
        .action((o) => runDbVerb("drill", { stack: o.stack, url: o.url }, cli));
}
