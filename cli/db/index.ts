/** keel db: the stack's database (its URL, backups, restores, drills, reset). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { urlCommand } from "./url";

export function dbCommand(cli: KeelContext) {
    return new Command("db").description("the stack's database: its URL, backups, restores, drills, reset").addCommand(urlCommand(cli));
}
