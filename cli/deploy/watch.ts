/** keel deploy watch: deploy.yml's watch (components/operations/deployWatch.ts). */
import { Command } from "@commander-js/extra-typings";
import { deployWatch } from "../../components/operations/deployWatch";
import { annotatingErrors } from "../../components/operations/io";
import { KeelContext } from "../cli";
import { operationsIo } from "../operationsIo";

export function watchCommand(cli: KeelContext) {
    return new Command("watch")
        .description(
            "Probes the stack's health URLs (BACKEND_HEALTH_URL, FRONTEND_HEALTH_URL) every WATCH_INTERVAL_SECONDS for WATCH_MINUTES; " +
                "WATCH_FAILURES failed in a row run `npm run rollback -- --stack <stack> --previous --yes`, open or comment on the stack's " +
                "incident issue (gh, GH_TOKEN), post to Slack (SLACK_WEBHOOK_URL) and exit 1. Run by deploy.yml, which maps these variables.",
        )
        .requiredOption("-s, --stack <stack>", "the stack just deployed")
        .requiredOption("--environment <name>", "its GitHub environment (named in the errors)")
        .requiredOption("--branch <branch>", "the branch that deploys it (where the Rollback workflow runs from)")
        .option("--backend", "probe BACKEND_HEALTH_URL")
        .option("--frontend", "probe FRONTEND_HEALTH_URL")
        .option("--slack", "the project posts to Slack")
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
            cli.exitCode = await annotatingErrors(io, () => deployWatch(options, io));
        });
}
