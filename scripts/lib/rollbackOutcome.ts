/**
 * What a rollback leaves behind when its update ends: its record (the metrics'
 * rollbacks and times to restore) and its notice. A rollback the deploy watch
 * ran is announced by the deploy workflow's report step, with the deploy it
 * undid; a dev stack's is the local loop's and is only recorded.
 */
import type { DeployOutcome } from "../../components/operations/deployReport";
import { maskSecrets, secretValuesIn } from "../../components/operations/mask";
import { rollbackCommand } from "../../components/operations/rollbackHint";
import type { RollbackRecord, Trigger } from "../../components/records/record";
import { noticeConfig, notice } from "./deployOutcome";
import { keelStack } from "./engine";
import { keepRecord } from "./records";

export interface RollbackEnded {
    root: string;
    env: Record<string, string | undefined>;
    stack: string;
    stage?: string;
    ok: boolean;
    cause?: string;
    fromVersion: number;
    toVersion: number;
    toCommit: string;
    subject?: string;
    durationMs: number;
    trigger: Trigger;
    say(line: string): void;
}

export async function rollbackEnded(r: RollbackEnded): Promise<void> {
    try {
        const envSecrets = secretValuesIn(r.env);
        const record: RollbackRecord = {
            kind: "rollback",
            stack: r.stack,
            at: new Date().toISOString(),
            outcome: r.ok ? "succeeded" : "failed",
            fromVersion: r.fromVersion,
            toVersion: r.toVersion,
            durationMs: r.durationMs,
            trigger: r.trigger,
            ...(r.cause ? { cause: maskSecrets(r.cause, envSecrets) } : {}),
        };
        await keepRecord(r.root, r.stack, r.env, record, r.say);
        // The watch's rollback is in the deploy's report, a drill's in the drill's; a dev stack's is the local loop's.
        if (r.trigger === "watch" || r.trigger === "drill" || r.stage === "dev") return;
        const config = await noticeConfig(await keelStack({ root: r.root, stack: r.stack, env: r.env, create: false }), r.env);
        const outcome: DeployOutcome = {
            outcome: "rolled-back",
            stack: r.stack,
            trigger: r.trigger,
            succeeded: r.ok,
            fromVersion: r.fromVersion,
            toVersion: r.toVersion,
            toCommit: r.toCommit,
            ...(r.ok ? { recoveredMs: r.durationMs } : {}),
            ...(record.cause ? { cause: record.cause } : {}),
            ...(r.env.GITHUB_ACTIONS === "true" && r.env.GITHUB_SERVER_URL
                ? { runUrl: `${r.env.GITHUB_SERVER_URL}/${r.env.GITHUB_REPOSITORY}/actions/runs/${r.env.GITHUB_RUN_ID}` }
                : {}),
            rollbackCommand: rollbackCommand(r.stack, "list"),
        };
        await notice(r.root, r.env, outcome, config.webhook, [...config.secrets, ...envSecrets], r.say, r.toCommit);
    } catch (err) {
        r.say(`keel: the rollback's record and notice were skipped: ${String((err as Error)?.message ?? err).split("\n")[0]}`);
    }
}
