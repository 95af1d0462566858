/**
 * keel deploy report: deploy.yml's last step, run whatever happened before it.
 * It says once what the deploy did: succeeded (what is live), failed (the step
 * and its cause), or rolled back by the health watch. The facts come from the
 * steps' outcomes (the step's env), the stack history (version, outputs) and
 * Keel's records (the update's cause, its migrations, the watch's rollback);
 * the notice goes to the job summary, Slack and the environment's deployment
 * status (components/operations/deployNotice.ts). It never fails the job: the
 * job's own steps already did, or did not.
 */
import { DeployOutcome, DeploySteps, failedStep, LiveUrl } from "../components/operations/deployReport";
import { DeploymentStatusPost, NoticeResult, sendDeployNotice } from "../components/operations/deployNotice";
import { OperationsIo } from "../components/operations/io";
import { secretValuesIn } from "../components/operations/mask";
import { rollbackCommand } from "../components/operations/rollbackHint";
import { SLACK_WEBHOOK_VARIABLE } from "../components/operations/slack";
import { STEP_ENV, STEP_OUTCOME_VARIABLES } from "../components/operations/stepEnv";
import type { DeployRecord, KeelRecord, RollbackRecord, WatchFailedRecord } from "../components/records/record";
import { headCommit, liveUrls } from "./lib/deployOutcome";
import { deploymentStatusSink } from "./lib/deploymentStatus";
import { recordLog } from "./lib/records";
import { Deploy, listDeploys } from "./lib/stackHistory";

export interface DeployReportOptions {
    stack: string;
    environment: string;
    /** The project posts to Slack (SLACK_WEBHOOK_URL). */
    slack: boolean;
}

export interface DeployReportFacts {
    steps: DeploySteps;
    commit?: string;
    subject?: string;
    runUrl?: string;
    rollbackUrl?: string;
    /** The newest update in the stack history. */
    latest?: Deploy;
    /** The stack's records, oldest first. */
    records: KeelRecord[];
}

const newest = <T extends KeelRecord>(records: KeelRecord[], kind: T["kind"], match: (r: T) => boolean = () => true): T | undefined =>
    [...records].reverse().find((r): r is T => r.kind === kind && match(r as T));

/** What the report says, from the facts. Pure. */
export function deployOutcomeOf(stack: string, f: DeployReportFacts): DeployOutcome {
    const common = {
        stack,
        ...(f.commit ? { commit: f.commit } : {}),
        ...(f.subject ? { subject: f.subject } : {}),
        ...(f.runUrl ? { runUrl: f.runUrl } : {}),
    };
    const deploy = newest<DeployRecord>(f.records, "deploy", (r) => !f.commit || r.commit === f.commit);
    const failed = failedStep(f.steps);
    if (failed?.step === "watch") {
        const rollback = newest<RollbackRecord>(f.records, "rollback", (r) => r.trigger === "watch");
        const watch = newest<WatchFailedRecord>(f.records, "watch-failed");
        return {
            ...common,
            outcome: "rolled-back",
            trigger: "watch",
            succeeded: rollback?.outcome === "succeeded",
            ...(rollback?.fromVersion !== undefined ? { fromVersion: rollback.fromVersion } : {}),
            ...(rollback ? { toVersion: rollback.toVersion } : {}),
            ...(rollback?.outcome === "succeeded" ? { recoveredMs: rollback.durationMs } : {}),
            cause: rollback
                ? (rollback.cause ?? "the stack failed its health probes after the deploy")
                : "the watch found the stack unhealthy; its rollback left no record",
            ...(watch?.issue ? { incident: watch.issue } : {}),
            rollbackCommand: rollbackCommand(stack, "list"),
        };
    }
    if (failed) {
        const cause =
            failed.outcome === "cancelled"
                ? `${failed.name} was cancelled`
                : failed.step === "up"
                  ? ((deploy?.outcome === "failed" ? deploy.cause : undefined) ?? "pulumi up failed: its reasons are in the step's log")
                  : failed.step === "preflight"
                    ? "preflight found problems: they are listed in the step's log"
                    : "the backend's health URL did not answer 2xx after the deploy";
        return {
            ...common,
            outcome: "failed",
            step: failed.name,
            cause,
            ...(deploy?.durationMs !== undefined ? { durationMs: deploy.durationMs } : {}),
            rollbackCommand: rollbackCommand(stack),
            ...(f.rollbackUrl ? { rollbackButton: f.rollbackUrl } : {}),
        };
    }
    const latest = f.latest?.kind === "update" && f.latest.result === "succeeded" ? f.latest : undefined;
    const urls: LiveUrl[] = latest ? liveUrls(latest.outputs) : [];
    const durationMs = deploy?.durationMs ?? (latest?.endTime ? latest.endTime.getTime() - latest.startTime.getTime() : undefined);
    return {
        ...common,
        outcome: "succeeded",
        ...(latest ? { version: latest.version } : {}),
        ...(durationMs !== undefined ? { durationMs } : {}),
        ...(deploy?.migrationsApplied !== undefined ? { migrationsApplied: deploy.migrationsApplied } : {}),
        ...(deploy?.destructiveMigrations ? { destructiveMigrations: deploy.destructiveMigrations } : {}),
        ...(typeof latest?.outputs.backendImage === "string" ? { backendImage: latest.outputs.backendImage } : {}),
        urls,
    };
}

export interface DeployReportIo extends OperationsIo {
    root: string;
}

export async function runDeployReport(o: DeployReportOptions, io: DeployReportIo): Promise<NoticeResult> {
    const env = io.env;
    const say = (line: string) => io.out(`${line}\n`);
    const steps: DeploySteps = Object.fromEntries(
        Object.entries(STEP_OUTCOME_VARIABLES).map(([step, variable]) => [step, env[variable] || undefined]),
    );
    const commit = env[STEP_ENV.commit] || undefined;
    const head = headCommit(io.root);
    let latest: Deploy | undefined;
    let records: KeelRecord[] = [];
    try {
        latest = (await listDeploys(io.root, o.stack, env, { say })).pop();
    } catch (err) {
        io.out(
            `::warning::The report could not read the ${o.stack} stack history: ${String((err as Error)?.message ?? err).split("\n")[0]}\n`,
        );
    }
    try {
        records = await recordLog(io.root, o.stack, env, { warn: say }).list();
    } catch (err) {
        io.out(
            `::warning::The report could not read Keel's records of ${o.stack}: ${String((err as Error)?.message ?? err).split("\n")[0]}\n`,
        );
    }
    const outcome = deployOutcomeOf(o.stack, {
        steps,
        ...(commit ? { commit } : {}),
        ...(head.commit === commit && head.subject ? { subject: head.subject } : {}),
        ...(env[STEP_ENV.runUrl] ? { runUrl: env[STEP_ENV.runUrl] } : {}),
        ...(env[STEP_ENV.rollbackUrl] ? { rollbackUrl: env[STEP_ENV.rollbackUrl] } : {}),
        latest,
        records,
    });
    const post = deploymentStatusSink(env, { environment: o.environment, ref: commit ?? head.commit, say });
    return sendDeployNotice(
        outcome,
        {
            ...(o.slack && env[SLACK_WEBHOOK_VARIABLE] ? { slackWebhook: env[SLACK_WEBHOOK_VARIABLE] } : {}),
            ...(env[STEP_ENV.stepSummary] ? { summaryFile: env[STEP_ENV.stepSummary] } : {}),
            ...(post ? { deploymentStatus: (s: DeploymentStatusPost) => post(s) } : {}),
            secrets: secretValuesIn(env),
        },
        io,
    );
}
