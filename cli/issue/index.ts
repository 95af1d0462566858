/** keel issue: the repository issues the workflows keep their state in. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { drillIssueCommand } from "./drill";
import { driftIssueCommand } from "./drift";

export function issueCommand(cli: KeelContext) {
    return new Command("issue")
        .description("the repository issues the workflows keep their state in")
        .addCommand(driftIssueCommand(cli))
        .addCommand(drillIssueCommand(cli));
}
