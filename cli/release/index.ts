/** keel release: the project's own releases. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { nextCommand } from "./next";

export function releaseCommand(cli: KeelContext) {
    return new Command("release")
        .description("the project's releases: semantic versions from conventional commits")
        .addCommand(nextCommand(cli));
}
