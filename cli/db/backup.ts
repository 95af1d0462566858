/** keel db backup: a backup now, as pulumi up takes before migrating (npm run db:backup). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption, urlOption } from "../options";
import { runDbVerb } from "./dbVerb";
import { DB_URL_HELP } from "./urlHelp";

export function backupCommand(cli: KeelContext) {
    return new Command("backup")
        .description(
            "Takes a backup now, as pulumi up does before migrating: pg_dump (docker, external, local) with its record and the stack's " +
                "retention (keel:migrations.keepBackups), or a Neon snapshot branch (expiring after keel:migrations.backupRetentionDays).",
        )
        .addOption(stackOption())
        .addOption(urlOption(DB_URL_HELP))
        .action((o) => runDbVerb("backup", { stack: o.stack, url: o.url }, cli));
}
