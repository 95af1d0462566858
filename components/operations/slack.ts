/**
 * The Slack post of the monitor and the deploy watch: `{text}` to the incoming
 * webhook in SLACK_WEBHOOK_URL, retried as curl --retry 3 did (1, 2, 4 s apart).
 * The webhook URL is a secret: nothing here prints it.
 */
import { KeelError } from "../errors";
import { isHealthy } from "./probe";
import { OperationsIo } from "./io";

export const SLACK_WEBHOOK_VARIABLE = "SLACK_WEBHOOK_URL";

/** A post Slack did not take (or no webhook where one is required). */
export class SlackError extends KeelError {
    constructor(message: string) {
        super(message, "SlackError");
    }
}

export interface NotifyOptions {
    /** The project posts to Slack (keel's slack setting); off: the text is only printed. */
    slack: boolean;
    /** The monitor: no webhook or a failed post is an error. The deploy watch goes on without. */
    required: boolean;
}

const RETRY_DELAYS_MS = [1_000, 2_000, 4_000];

async function post(webhook: string, text: string, io: OperationsIo): Promise<number | undefined> {
    let status: number | undefined;
    for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
        if (attempt > 0) await io.sleep(RETRY_DELAYS_MS[attempt - 1]);
        try {
            status = (
                await io.fetch(webhook, {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: JSON.stringify({ text }),
                    signal: AbortSignal.timeout(10_000),
                })
            ).status;
        } catch {
            status = undefined;
        }
        if (isHealthy(status)) return status;
    }
    return status;
}

/**
 * Posts `text`; true when posted (or Slack is off). Without a webhook: false, or a
 * SlackError when required; a post Slack refuses: a SlackError.
 */
export async function notify(text: string, options: NotifyOptions, io: OperationsIo): Promise<boolean> {
    if (!options.slack) {
        io.out(`Slack is off for this project: ${text}\n`);
        return true;
    }
    const webhook = io.env[SLACK_WEBHOOK_VARIABLE];
    if (!webhook) {
        if (options.required) throw new SlackError(`No ${SLACK_WEBHOOK_VARIABLE} secret: could not post: ${text}`);
        io.out(`No ${SLACK_WEBHOOK_VARIABLE} secret: not posted: ${text}\n`);
        return false;
    }
    const status = await post(webhook, text, io);
    if (!isHealthy(status)) {
        throw new SlackError(
            `Slack did not take the post (${status === undefined ? "no answer" : `HTTP ${status}`}, 4 attempts). ` +
                `Fix: check the ${SLACK_WEBHOOK_VARIABLE} secret is a live incoming webhook (Slack > Apps > Incoming Webhooks).`,
        );
    }
    return true;
}
