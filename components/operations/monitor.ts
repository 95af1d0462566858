/**
 * `keel monitor check`, monitor.yml's step: the stack's health URLs (each retried
 * as curl --retry 2 did); the incident's state is an open issue labelled
 * `incident`: while it is open no new alert is posted, and the first healthy check
 * posts the recovery and closes it. Slack once per incident and once on recovery.
 * An unhealthy stack does not fail the job (the alert is the issue and the post);
 * a missing URL, webhook or issue access does.
 */
import { monitorVariable } from "../github/workflows/contract";
import { closeIssue, createIssue, ensureLabel, findOpenIssue, INCIDENT_LABEL, incidentTitle } from "./issues";
import { OperationsIo } from "./io";
import { HealthCheckTarget, healthUrls, MONITOR_PROBE, probe, problemSummary } from "./probe";
import { rollbackHint } from "./rollbackHint";
import { notify } from "./slack";
import { STEP_ENV } from "./stepEnv";

/** The stack the monitor checks. */
export type MonitorOptions = HealthCheckTarget;

/** One check; the exit code (0 also while unhealthy: the alert is the issue and the post). */
export async function monitorCheck(o: MonitorOptions, io: OperationsIo): Promise<number> {
    const env = io.env;
    const runUrl = env[STEP_ENV.runUrl] ?? "";
    const problems: string[] = [];
    for (const [what, variable] of healthUrls(o)) {
        const url = env[variable];
        if (!url) {
            io.out(
                // The monitor runs outside environments: the URL is a repository variable, which the stack's own up sets.
                `::error::The repository has no ${monitorVariable(o.stack, variable)} variable: the ${o.stack} stack's keel stack up sets it ` +
                    `(or set it under Settings > Secrets and variables > Actions > Variables).\n`,
            );
            return 1;
        }
        const problem = await probe(what, url, MONITOR_PROBE, io);
        if (problem) problems.push(problem);
    }
    const title = incidentTitle(o.stack);
    const open = await findOpenIssue(INCIDENT_LABEL, title, io);
    if (problems.length > 0) {
        const summary = problemSummary(problems);
        io.out(`::error::${summary}\n`);
        if (open !== undefined) {
            io.out(`Incident #${open} is already open: no new alert.\n`);
            return 0;
        }
        const rollback = rollbackHint(o.stack, o.branch, env[STEP_ENV.rollbackUrl] ?? "");
        await notify(`:red_circle: ${o.stack} is unhealthy: ${summary} (${runUrl}). ${rollback}`, { slack: o.slack, required: true }, io);
        await ensureLabel(INCIDENT_LABEL, io);
        const url = await createIssue(
            INCIDENT_LABEL,
            title,
            `The monitor found: ${summary}. First seen: ${runUrl}. ${rollback}. This issue closes itself when the checks pass again.`,
            io,
        );
        if (url) io.out(`${url}\n`);
        return 0;
    }
    if (open !== undefined) {
        await notify(`:large_green_circle: ${o.stack} has recovered (${runUrl})`, { slack: o.slack, required: true }, io);
        await closeIssue(open, `Recovered: every check answered 2xx. ${runUrl}`, io);
        return 0;
    }
    io.out("Healthy.\n");
    return 0;
}
