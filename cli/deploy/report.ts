/** keel deploy report: deploy.yml's last step (scripts/deployReport.ts). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { operationsIo } from "../operationsIo";

export function reportCommand(cli: KeelContext) {
    return new Command("report")
        .description(
            "Says once what the stack's deploy did: succeeded (version, commit, duration, migrations, image, URLs), failed (the step, the cause, " +
                "how to roll back) or rolled back by the watch. To the job summary (GITHUB_STEP_SUMMARY), Slack (--slack, SLACK_WEBHOOK_URL) and " +
                "the environment's GitHub deployment status (KEEL_DEPLOYMENTS_TOKEN). Reads the steps' outcomes from PREFLIGHT_OUTCOME, UP_OUTCOME, " +
                "HEALTH_OUTCOME, WATCH_OUTCOME. Run by deploy.yml, which maps these variables; never fails the job.",
        )
        .requiredOption("-s, --stack <stack>", "the stack just deployed")
        .requiredOption("--environment <name>", "its GitHub environment (where the deployment status goes)")
        .option("--slack", "the project posts to Slack")
        .action(async (o) => {
            const { runDeployReport } = await import("../../scripts/deployReport");
            await runDeployReport(
                { stack: o.stack, environment: o.environment, slack: o.slack === true },
                { ...operationsIo(cli), root: cli.root },
            );
            cli.exitCode = 0;
        });
}
