/**
 * Sends a deploy's outcome (deployReport.ts) to every sink the place it runs
 * has: Slack when there is a webhook, the job summary on a GitHub runner, the
 * environment's deployment status when the job may write it. A notice that
 * cannot be sent never fails what it reports: it says so in the log and goes on.
 * Every text is masked once more on the way out (the known secrets of the run).
 */
import { DeployOutcome, deploymentStatus, slackText, summaryMarkdown } from "./deployReport";
import { OperationsIo } from "./io";
import { maskSecrets } from "./mask";
import { notify, SLACK_WEBHOOK_VARIABLE } from "./slack";

export interface DeploymentStatusPost {
    state: "success" | "failure" | "error";
    description: string;
    environmentUrl?: string;
}

export interface NoticeSinks {
    /** The incoming webhook (SLACK_WEBHOOK_URL, or the stack's keel:slackWebhookUrl); none: no post. */
    slackWebhook?: string;
    /** GITHUB_STEP_SUMMARY. */
    summaryFile?: string;
    /** Posts the deployment status (components/vendors/github/deployments.ts), when the run may. */
    deploymentStatus?: (status: DeploymentStatusPost) => Promise<void>;
    /** Values to mask wherever they appear (the run's tokens, the stack's secrets). */
    secrets: readonly string[];
}

/** Which sinks took the notice, for the log and the tests. */
export interface NoticeResult {
    slack: "posted" | "no webhook" | "failed";
    summary: boolean;
    deploymentStatus: "posted" | "not here" | "failed";
}

const masked = (o: DeployOutcome, secrets: readonly string[]): DeployOutcome => JSON.parse(maskSecrets(JSON.stringify(o), secrets));

function oneLine(err: unknown, secrets: readonly string[]): string {
    return maskSecrets(String((err as Error)?.message ?? err).split("\n")[0], secrets);
}

export async function sendDeployNotice(outcome: DeployOutcome, sinks: NoticeSinks, io: OperationsIo): Promise<NoticeResult> {
    const o = masked(outcome, sinks.secrets);
    const warn = (line: string) => io.out(`${io.env.GITHUB_ACTIONS === "true" ? "::warning::" : "keel: "}${line}\n`);
    const result: NoticeResult = { slack: "no webhook", summary: false, deploymentStatus: "not here" };

    if (sinks.summaryFile) {
        try {
            io.appendFile(sinks.summaryFile, summaryMarkdown(o));
            result.summary = true;
        } catch (err) {
            warn(`could not write the job summary: ${oneLine(err, sinks.secrets)}`);
        }
    }
    if (sinks.slackWebhook) {
        try {
            const slackIo: OperationsIo = { ...io, env: { ...io.env, [SLACK_WEBHOOK_VARIABLE]: sinks.slackWebhook } };
            await notify(slackText(o), { slack: true, required: true }, slackIo);
            result.slack = "posted";
            io.out(`keel: posted the ${o.stack} ${o.outcome} notice to Slack\n`);
        } catch (err) {
            result.slack = "failed";
            warn(`the ${o.stack} ${o.outcome} notice was not posted to Slack (the deploy is not affected): ${oneLine(err, sinks.secrets)}`);
        }
    }
    if (sinks.deploymentStatus) {
        try {
            await sinks.deploymentStatus(deploymentStatus(o));
            result.deploymentStatus = "posted";
        } catch (err) {
            result.deploymentStatus = "failed";
            warn(`the GitHub deployment status of ${o.stack} was not set (the deploy is not affected): ${oneLine(err, sinks.secrets)}`);
        }
    }
    return result;
}
