/** keel db drill: backup, restore into a scratch copy, compare, clean up (npm run db:drill). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption, urlOption, yesOption } from "../options";
import { runDbVerb } from "./dbVerb";
import { DB_URL_HELP } from "./urlHelp";

export function drillCommand(cli: KeelContext) {
    return new Command("drill")
        .description(
            "Takes a backup, restores it into a scratch database (or branch), compares schema, rows and data with the source, " +
                "prints a pass/fail report (exit 1 on a failure) and removes the scratch copy. On Neon it also restores the newest " +
                "snapshot branch (what a real recovery uses) into a scratch branch and checks its tables and rows. Each part is " +
                "timed and recorded beside the state.",
        )
        .addOption(stackOption())
        .addOption(urlOption(DB_URL_HELP))
        .addOption(yesOption("go ahead without asking on a prod-stage stack (needed in CI)"))
        .action((o) => runDbVerb("drill", { stack: o.stack, url: o.url, yes: o.yes === true }, cli));
}
