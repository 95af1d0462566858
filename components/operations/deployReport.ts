/**
 * What a deploy did, said once wherever the operator looks: the Slack post, the
 * job summary, and the GitHub deployment status of the stack's environment.
 * Three outcomes: it succeeded (what is live now), it failed (the step, the
 * cause in one line, how to roll back), it was rolled back (by hand, the
 * button or the watch; from which version to which, recovered in how long).
 * Pure: the texts are built here, sent by deployNotice.ts. Every free text
 * (causes) is masked before it gets here.
 */
import type { Trigger } from "../records/record";

export interface LiveUrl {
    name: string;
    url: string;
}

interface Common {
    stack: string;
    commit?: string;
    /** The commit's subject line. */
    subject?: string;
    /** The run that did it (GitHub Actions), for the link. */
    runUrl?: string;
}

export interface Succeeded extends Common {
    outcome: "succeeded";
    version?: number;
    durationMs?: number;
    migrationsApplied?: number;
    destructiveMigrations?: number;
    backendImage?: string;
    urls: LiveUrl[];
}

export interface Failed extends Common {
    outcome: "failed";
    /** preflight, up, the health check, the watch. */
    step: string;
    cause: string;
    durationMs?: number;
    /** The command that goes back (`npm run rollback -- --stack prod --previous --yes`) and the button's page, when there is one. */
    rollbackCommand: string;
    rollbackButton?: string;
}

export interface RolledBack extends Common {
    outcome: "rolled-back";
    /** The incident issue the watch filed. */
    incident?: string;
    trigger: Trigger;
    /** The rollback itself: it can fail too. */
    succeeded: boolean;
    fromVersion?: number;
    toVersion?: number;
    toCommit?: string;
    recoveredMs?: number;
    cause?: string;
    rollbackCommand: string;
}

export type DeployOutcome = Succeeded | Failed | RolledBack;

const short = (commit?: string) => (commit ? commit.slice(0, 7) : undefined);

/** `2 min 13 s`, `48.2 s`. */
export function duration(ms: number): string {
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    return `${m} min ${Math.round(s - m * 60)} s`;
}

const BY: Record<Trigger, string> = {
    hand: "by hand",
    button: "by the Rollback button",
    watch: "by the health watch",
    push: "by a push",
    schedule: "on schedule",
    drill: "by a drill",
};

function what(o: Common): string {
    const c = short(o.commit);
    return c ? `${c}${o.subject ? ` "${o.subject}"` : ""}` : "the working tree";
}

/** The one-line headline every sink starts with. */
export function headline(o: DeployOutcome): string {
    switch (o.outcome) {
        case "succeeded":
            return `${o.stack}: deployed ${what(o)}${o.version !== undefined ? ` as version ${o.version}` : ""}${o.durationMs !== undefined ? ` in ${duration(o.durationMs)}` : ""}`;
        case "failed":
            return `${o.stack}: the deploy of ${what(o)} FAILED at ${o.step}`;
        case "rolled-back":
            return o.succeeded
                ? `${o.stack}: rolled back ${BY[o.trigger]}${o.fromVersion !== undefined ? ` from version ${o.fromVersion}` : ""} to version ${o.toVersion ?? "?"}${o.toCommit ? ` (${short(o.toCommit)})` : ""}${o.recoveredMs !== undefined ? `, recovered in ${duration(o.recoveredMs)}` : ""}`
                : `${o.stack}: the rollback ${BY[o.trigger]} FAILED${o.toVersion !== undefined ? ` (to version ${o.toVersion})` : ""}`;
    }
}

/** The facts under the headline, one per line. */
export function details(o: DeployOutcome): string[] {
    switch (o.outcome) {
        case "succeeded":
            return [
                ...(o.migrationsApplied !== undefined
                    ? [
                          `migrations applied: ${o.migrationsApplied}${o.destructiveMigrations ? ` (${o.destructiveMigrations} destructive)` : ""}`,
                      ]
                    : []),
                ...(o.backendImage ? [`backend image: ${o.backendImage}`] : []),
                ...o.urls.map((u) => `${u.name}: ${u.url}`),
            ];
        case "failed":
            return [
                `cause: ${o.cause}`,
                `to go back: ${o.rollbackButton ? `the Rollback workflow (${o.rollbackButton}) or ` : ""}${o.rollbackCommand}`,
            ];
        case "rolled-back":
            return [
                ...(o.commit ? [`rolled back from: ${what(o)}`] : []),
                ...(o.incident ? [`incident: ${o.incident}`] : []),
                ...(o.cause ? [`cause: ${o.cause}`] : []),
                ...(o.succeeded ? [] : [`the stack may still run the failed version: ${o.rollbackCommand}`]),
            ];
    }
}

const EMOJI = { succeeded: ":white_check_mark:", failed: ":x:", "rolled-back": ":leftwards_arrow_with_hook:" } as const;

/** The Slack post (mrkdwn). */
export function slackText(o: DeployOutcome): string {
    const emoji = o.outcome === "rolled-back" && !o.succeeded ? ":rotating_light:" : EMOJI[o.outcome];
    return [`${emoji} ${headline(o)}`, ...details(o).map((d) => `• ${d}`), ...(o.runUrl ? [`<${o.runUrl}|the run>`] : [])].join("\n");
}

/** The job summary's section (Markdown). */
export function summaryMarkdown(o: DeployOutcome): string {
    return [`### ${headline(o)}`, "", ...details(o).map((d) => `- ${d}`), ...(o.runUrl ? [`- run: ${o.runUrl}`] : []), ""].join("\n");
}

/** What the environment's deployment status says: GitHub's state, a description of at most 140 characters, the URL to open. */
export function deploymentStatus(o: DeployOutcome): {
    state: "success" | "failure" | "error";
    description: string;
    environmentUrl?: string;
} {
    const state = o.outcome === "succeeded" ? "success" : o.outcome === "failed" ? "failure" : o.succeeded ? "success" : "error";
    const url = o.outcome === "succeeded" ? (o.urls.find((u) => u.name === "frontend") ?? o.urls[0])?.url : undefined;
    return { state, description: headline(o), ...(url ? { environmentUrl: url } : {}) };
}

/** The outcome of each step of a deploy job, as `steps.<id>.outcome` says it (success, failure, cancelled, skipped, or unset). */
export interface DeploySteps {
    preflight?: string;
    up?: string;
    health?: string;
    watch?: string;
}

/** The steps in the order they run, with the names the notices use. */
export const DEPLOY_STEP_NAMES: [keyof DeploySteps, string][] = [
    ["preflight", "preflight"],
    ["up", "pulumi up"],
    ["health", "the health check"],
    ["watch", "the health watch"],
];

/** The first step that did not succeed (failed or was cancelled), or undefined when every step that ran succeeded. */
export function failedStep(steps: DeploySteps): { step: keyof DeploySteps; name: string; outcome: string } | undefined {
    for (const [step, name] of DEPLOY_STEP_NAMES) {
        const outcome = steps[step];
        if (outcome === "failure" || outcome === "cancelled") return { step, name, outcome };
    }
    return undefined;
}
