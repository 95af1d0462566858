/** keel issue drill: drill.yml's report (components/operations/drillIssue.ts). */
import { Command } from "@commander-js/extra-typings";
import { reportDrillRun } from "../../components/operations/drillIssue";
import { annotatingErrors } from "../../components/operations/io";
import { KeelContext } from "../cli";
import { operationsIo } from "../operationsIo";

export function drillIssueCommand(cli: KeelContext) {
    return new Command("drill")
        .description(
            "Reports the stack's drill as drill.yml's steps left it (RESTORE_OUTCOME, ROLLBACK_OUTCOME, and the logs " +
                "drill-restore.txt, drill-rollback.txt in RUNNER_TEMP): to the job summary, to Slack with --slack, and, when it " +
                "failed, to the stack's one open drill issue (opened or commented on); a drill that passed closes it. Through gh (GH_TOKEN, GH_REPO).",
        )
        .requiredOption("-s, --stack <stack>", "the stack drilled")
        .option("--rollback", "the job ran the rollback drill too (ROLLBACK_OUTCOME, drill-rollback.txt)")
        .option("--slack", "post the result to SLACK_WEBHOOK_URL")
        .action(async (o) => {
            const io = operationsIo(cli);
            cli.exitCode = await annotatingErrors(io, () =>
                reportDrillRun(o.stack, { rollback: o.rollback === true, slack: o.slack === true }, io),
            );
        });
}
