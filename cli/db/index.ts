/** keel db: the stack's database (its URL, backups, restores, drills, reset). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { backupCommand } from "./backup";
import { backupsCommand } from "./backups";
import { copyCommand } from "./copy";
import { drillCommand } from "./drill";
import { maskCheckCommand, maskInitCommand } from "./mask";
import { resetCommand } from "./reset";
import { restoreCommand } from "./restore";
import { urlCommand } from "./url";

export function dbCommand(cli: KeelContext) {
    return new Command("db")
        .description("the stack's database: its URL, backups, restores, drills, reset, copies and their masking rules")
        .addCommand(urlCommand(cli))
        .addCommand(backupsCommand(cli))
        .addCommand(backupCommand(cli))
        .addCommand(restoreCommand(cli))
        .addCommand(drillCommand(cli))
        .addCommand(resetCommand(cli))
        .addCommand(copyCommand(cli))
        .addCommand(maskCheckCommand(cli))
        .addCommand(maskInitCommand(cli));
}
