/**
 * `keel deploy watch`, deploy.yml's step after `pulumi up` and the health check:
 * the stack's health URLs every interval for the watch's minutes; `failures`
 * failed probes in a row run the rollback to the previous successful version
 * (`npm run rollback -- --stack <s> --previous --yes`), open or comment on the
 * stack's one incident issue, record the failure and fail the job (the deploy's
 * one notice, Slack included, is the report step's: scripts/deployReport.ts). The settings come
 * from the stack's environment (WATCH_VARIABLES, mapped to WATCH_*); counted in
 * probes, never by the clock.
 */
import { WATCH_DEFAULTS } from "../config/stage";
import { monitorVariable, WATCH_VARIABLES } from "../github/workflows/contract";
import { commentOnIssue, createIssue, ensureLabel, findOpenIssue, INCIDENT_LABEL, incidentTitle } from "./issues";
import { OperationsIo } from "./io";
import { HealthCheckTarget, healthUrls, probe, problemSummary, WATCH_PROBE } from "./probe";
import { rollbackArgs, rollbackCommand } from "./rollbackHint";
import { STEP_ENV } from "./stepEnv";

/** The stack just deployed (a watched stack has a backend: keel:backend.watch is its setting). */
export type DeployWatchOptions = HealthCheckTarget;

export interface WatchSettings {
    minutes: number;
    intervalSeconds: number;
    /** Failed probes in a row that roll back. */
    failures: number;
}

/** The settings from the step's env (unset: no watch, and the defaults), or the error line naming them. */
export function watchSettings(
    env: Record<string, string | undefined>,
    o: Pick<DeployWatchOptions, "stack" | "environment">,
): WatchSettings | string {
    const minutes = env[STEP_ENV.watchMinutes] || "0";
    const interval = env[STEP_ENV.watchIntervalSeconds] || String(WATCH_DEFAULTS.intervalSeconds);
    const failures = env[STEP_ENV.watchFailures] || String(WATCH_DEFAULTS.failures);
    if (!/^[0-9]+$/.test(minutes) || !/^[1-9][0-9]*$/.test(interval) || !/^[1-9][0-9]*$/.test(failures)) {
        const names = `${WATCH_VARIABLES.minutes}, ${WATCH_VARIABLES.intervalSeconds} and ${WATCH_VARIABLES.failures}`;
        return (
            `The watch settings (${names} in the ${o.environment} environment) are not whole numbers: '${minutes}', '${interval}', '${failures}'. ` +
            `They come from keel:backend.watch: npm run up -- ${o.stack} sets them again.`
        );
    }
    return { minutes: Number(minutes), intervalSeconds: Number(interval), failures: Number(failures) };
}

/** Probes in the watch: enough intervals to cover its minutes. */
export function probeCount(s: WatchSettings): number {
    return Math.ceil((s.minutes * 60) / s.intervalSeconds);
}

/** The rollback's own "recovered in 12.3 s" (its last), if it printed one. */
export function recoveredIn(output: string): string | undefined {
    return output.match(/recovered in [0-9.]+ s/g)?.pop();
}

export interface WatchOutcome {
    /** The probe lines, as the log showed them. */
    probes: string[];
    /** The watch ended with `failures` failed in a row. */
    unhealthy: boolean;
}

/** The probing loop: a pause, then every URL; stops at `failures` failed in a row. */
export async function watchProbes(settings: WatchSettings, urls: [string, string][], io: OperationsIo): Promise<WatchOutcome> {
    const total = probeCount(settings);
    const lines: string[] = [];
    let failed = 0;
    for (let i = 1; i <= total; i++) {
        await io.sleep(settings.intervalSeconds * 1000);
        const problems: string[] = [];
        for (const [what, url] of urls) {
            const problem = await probe(what, url, WATCH_PROBE, io);
            if (problem) problems.push(problem);
        }
        failed = problems.length === 0 ? 0 : failed + 1;
        const line =
            problems.length === 0
                ? `probe ${i}/${total}: healthy`
                : `probe ${i}/${total}: ${problemSummary(problems)} (${failed} in a row)`;
        lines.push(line);
        io.out(`${line}\n`);
        if (failed >= settings.failures) return { probes: lines, unhealthy: true };
    }
    return { probes: lines, unhealthy: false };
}

export interface IncidentFacts {
    stack: string;
    branch: string;
    commit: string;
    settings: WatchSettings;
    /** The rollback's result in one line. */
    result: string;
    runUrl: string;
    rollbackUrl: string;
    /** Where the backend's logs are (KEEL_BACKEND_LOGS), or a fallback. */
    logs: string;
    probes: string[];
    rollbackOutput: string;
}

/** The incident issue's (or comment's) text. */
export function incidentBody(f: IncidentFacts): string {
    const fence = "```";
    return [
        `The deploy of ${f.commit} to ${f.stack} passed its health check, then failed ${f.settings.failures} health probes in a row during the ${f.settings.minutes}-minute watch (one every ${f.settings.intervalSeconds} s).`,
        "",
        `- Rollback: ${f.result}`,
        `- Failed version: commit ${f.commit} (deploy run: ${f.runUrl})`,
        `- Where to look: ${f.logs}`,
        `- Another version: the Rollback workflow (${f.rollbackUrl}, Run workflow from the ${f.branch} branch, stack ${f.stack}, a version or commit), or npm run rollback -- --stack ${f.stack} --to <version-or-commit> --yes; the versions: ${rollbackCommand(f.stack, "list")}`,
        `- The ${f.branch} branch still holds ${f.commit}: revert or fix it, or the next push deploys it again.`,
        "",
        "Probes:",
        fence,
        ...f.probes,
        fence,
        "",
        "Rollback output (the end):",
        fence,
        f.rollbackOutput.slice(-20_000).replace(/\n$/, ""),
        fence,
        "",
    ].join("\n");
}

function summaryAppend(io: OperationsIo, text: string): void {
    const file = io.env[STEP_ENV.stepSummary];
    if (file) io.appendFile(file, text);
}

/** The watch; the exit code: 0 healthy (or no watch), 1 unhealthy (after the rollback) or misconfigured. */
export async function deployWatch(o: DeployWatchOptions, io: OperationsIo): Promise<number> {
    const env = io.env;
    const settings = watchSettings(env, o);
    if (typeof settings === "string") {
        io.out(`::error::${settings}\n`);
        return 1;
    }
    if (settings.minutes === 0) {
        io.out(`No watch: keel:backend.watch.minutes is 0 for ${o.stack}.\n`);
        return 0;
    }
    // A URL the stack has not set yet is skipped with a warning: the deploy itself succeeded.
    const candidates = healthUrls(o);
    const urls: [string, string][] = [];
    for (const [what, variable] of candidates) {
        const url = env[variable];
        if (url) urls.push([what, url]);
        else
            io.out(
                `::warning::No ${monitorVariable(o.stack, variable)} variable: the watch does not probe the ${what}. The stack's own deploy sets it (npm run up -- ${o.stack}); see Settings > Secrets and variables > Actions.\n`,
            );
    }
    if (urls.length === 0) {
        io.out("::warning::Nothing to watch.\n");
        return 0;
    }
    const total = probeCount(settings);
    io.out(
        `Watching ${o.stack} for ${settings.minutes} min: a probe every ${settings.intervalSeconds} s (${total} probes); ${settings.failures} failed in a row roll it back.\n`,
    );
    const watch = await watchProbes(settings, urls, io);
    if (!watch.unhealthy) {
        io.out(`${o.stack} stayed healthy through the watch.\n`);
        summaryAppend(
            io,
            `### Watch: ${o.stack} healthy\n\n${total} probes in ${settings.minutes} min, one every ${settings.intervalSeconds} s; never ${settings.failures} failed in a row.\n`,
        );
        return 0;
    }

    const commit = env[STEP_ENV.commit] ?? "";
    const runUrl = env[STEP_ENV.runUrl] ?? "";
    io.out(
        `::error::${o.stack} failed ${settings.failures} health probes in a row after deploying ${commit}: rolling back to the previous successful version.\n`,
    );
    const rollback = await io.run("npm", rollbackArgs(o.stack), { echo: true });
    const result =
        rollback.status === 0
            ? `rolled back to the previous successful version (${recoveredIn(rollback.output) ?? "the command succeeded"})`
            : `the rollback FAILED (exit ${rollback.status}): ${o.stack} may still run ${commit}`;
    io.out(`Rollback: ${result}\n`);
    const body = incidentBody({
        stack: o.stack,
        branch: o.branch,
        commit,
        settings,
        result,
        runUrl,
        rollbackUrl: env[STEP_ENV.rollbackUrl] ?? "",
        logs: env[STEP_ENV.backendLogs] || "the backend platform logs",
        probes: watch.probes,
        rollbackOutput: rollback.output,
    });
    const issue = await fileIncident(o.stack, body, io);
    if (!issue) io.out("::warning::Could not open or update the incident issue; its text is in the job summary.\n");
    summaryAppend(io, `### Watch: ${o.stack} unhealthy, ${result}\n\nIncident: ${issue || "not filed"}\n\n${body}`);
    // The deploy's one notice (Slack, the deployment status) is the report step's: keel deploy report reads this record.
    await io.record?.({
        kind: "watch-failed",
        stack: o.stack,
        at: new Date().toISOString(),
        ...(commit ? { commit } : {}),
        ...(issue ? { issue } : {}),
    });
    io.out(`::error::${o.stack} was unhealthy after the deploy: ${result}.\n`);
    return 1;
}

/**
 * The monitor's issue: one open incident per stack, whoever found it first (the
 * monitor closes it on recovery). Best effort: the rollback already ran, so a
 * GitHub hiccup only costs the issue (its text is in the summary); "" then.
 */
async function fileIncident(stack: string, body: string, io: OperationsIo): Promise<string> {
    const title = incidentTitle(stack);
    await ensureLabel(INCIDENT_LABEL, io).catch(() => undefined);
    const open = await findOpenIssue(INCIDENT_LABEL, title, io).catch(() => undefined);
    try {
        return open !== undefined ? await commentOnIssue(open, body, io) : await createIssue(INCIDENT_LABEL, title, body, io);
    } catch {
        return "";
    }
}
