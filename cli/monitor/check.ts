/** keel monitor check: monitor.yml's step (components/operations/monitor.ts). */
import { Command } from "@commander-js/extra-typings";
import { annotatingErrors } from "../../components/operations/io";
import { monitorCheck } from "../../components/operations/monitor";
import { KeelContext } from "../cli";
import { operationsIo } from "../operationsIo";

export function checkCommand(cli: KeelContext) {
    return new Command("check")
        .description(
            "Checks the stack's health URLs (BACKEND_HEALTH_URL, FRONTEND_HEALTH_URL) once, each retried. Unhealthy: posts to Slack and opens the " +
                "stack's incident issue, unless one is open; healthy with one open: posts the recovery and closes it. Run by monitor.yml.",
        )
        .requiredOption("-s, --stack <stack>", "the stack to check")
        .requiredOption("--environment <name>", "its GitHub environment (named in the errors)")
        .requiredOption("--branch <branch>", "the branch that deploys it (where the Rollback workflow runs from)")
        .option("--backend", "check BACKEND_HEALTH_URL")
        .option("--frontend", "check FRONTEND_HEALTH_URL")
        .option("--slack", "the project posts to Slack (SLACK_WEBHOOK_URL must be set)")
        .action(async (o) => {
            const io = operationsIo(cli);
            const options = {
                stack: o.stack,
                environment: o.environment,
                branch: o.branch,
                backend: o.backend === true,
                frontend: o.frontend === true,
                slack: o.slack === true,
            };
            cli.exitCode = await annotatingErrors(io, () => monitorCheck(options, io));
        });
}
