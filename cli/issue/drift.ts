/** keel issue drift: drift.yml's issue steps (components/operations/driftIssue.ts). */
import { Command } from "@commander-js/extra-typings";
import { reportDrift, resolveDrift } from "../../components/operations/driftIssue";
import { annotatingErrors } from "../../components/operations/io";
import { KeelContext } from "../cli";
import { operationsIo } from "../operationsIo";

export function driftIssueCommand(cli: KeelContext) {
    return new Command("drift")
        .description(
            "Opens the stack's drift issue, or comments on the open one, with what drift.yml's check left in RUNNER_TEMP (drift.md, drift.txt, " +
                "preview.txt) and its exit codes (DRIFT_EXIT, PREVIEW_EXIT); with --resolved, closes it. Through gh (GH_TOKEN, GH_REPO).",
        )
        .requiredOption("-s, --stack <stack>", "the stack checked")
        .option("--resolved", "the check came back clean: close the open issue")
        .action(async (o) => {
            const io = operationsIo(cli);
            cli.exitCode = await annotatingErrors(io, () => (o.resolved ? resolveDrift(o.stack, io) : reportDrift(o.stack, io)));
        });
}
