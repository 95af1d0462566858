/** keel deploy watch: deploy.yml's watch (components/operations/deployWatch.ts). */
import { deployWatch } from "../../components/operations/deployWatch";
import { annotatingErrors } from "../../components/operations/io";
import { KeelContext } from "../cli";
import { healthCommand, healthTarget, operationsIo } from "../operationsIo";

export function watchCommand(cli: KeelContext) {
    return healthCommand(
        "watch",
        "Probes the stack's health URLs (BACKEND_HEALTH_URL, FRONTEND_HEALTH_URL) every WATCH_INTERVAL_SECONDS for WATCH_MINUTES; " +
            "WATCH_FAILURES failed in a row run `npm run rollback -- --stack <stack> --previous --yes`, open or comment on the stack's " +
            "incident issue (gh, GH_TOKEN), record the failure for keel deploy report (which posts the deploy's notice) and exit 1. Run by deploy.yml, which maps these variables.",
        {
            stack: "the stack just deployed",
            urls: "probe",
            slack: "no effect since the report step posts the deploy's notice (kept for workflows generated before)",
        },
    ).action(async (o) => {
        const io = operationsIo(cli);
        cli.exitCode = await annotatingErrors(io, () => deployWatch(healthTarget(o), io));
    });
}
