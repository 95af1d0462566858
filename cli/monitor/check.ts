/** keel monitor check: monitor.yml's step (components/operations/monitor.ts). */
import { annotatingErrors } from "../../components/operations/io";
import { monitorCheck } from "../../components/operations/monitor";
import { KeelContext } from "../cli";
import { healthCommand, healthTarget, operationsIo } from "../operationsIo";

export function checkCommand(cli: KeelContext) {
    return healthCommand(
        "check",
        "Checks the stack's health URLs (BACKEND_HEALTH_URL, FRONTEND_HEALTH_URL) once, each retried. Unhealthy: posts to Slack and opens the " +
            "stack's incident issue, unless one is open; healthy with one open: posts the recovery and closes it. Run by monitor.yml.",
        { stack: "the stack to check", urls: "check", slack: "the project posts to Slack (SLACK_WEBHOOK_URL must be set)" },
    ).action(async (o) => {
        const io = operationsIo(cli);
        cli.exitCode = await annotatingErrors(io, () => monitorCheck(healthTarget(o), io));
    });
}
