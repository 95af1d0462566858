/**
 * What `keel stack up` and `keel rollback` leave behind when they end, whatever
 * the outcome: a record beside the state (scripts/lib/records.ts) for the
 * metrics, and from a laptop the notice (components/operations/deployNotice.ts)
 * to the stack's Slack webhook. In GitHub Actions the workflow's own report
 * step sends the deploy's notice once, with the health check's and the watch's
 * outcomes too: `up` only records there. Neither ever fails the command.
 */
import { spawnSync } from "child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { loadMigrationSummaries } from "../../components/schema";
import type { DeployOutcome, LiveUrl } from "../../components/operations/deployReport";
import { sendDeployNotice } from "../../components/operations/deployNotice";
import { processOperationsIo } from "../../components/operations/io";
import { maskSecrets, secretValuesIn } from "../../components/operations/mask";
import { ENVIRONMENT_VARIABLE, TRIGGER_VARIABLE } from "../../components/operations/stepEnv";
import { rollbackCommand } from "../../components/operations/rollbackHint";
import { TRIGGERS, type DeployRecord, type Trigger } from "../../components/records/record";
import { deploymentStatusSink } from "./deploymentStatus";
import { keepRecord } from "./records";

/** A stack output's plain value (the Automation API's OutputMap, or the history's outputs). */
export type Outputs = Record<string, unknown>;

export interface CommitFacts {
    commit?: string;
    committedAt?: string;
    subject?: string;
}

/** HEAD's hash, time and subject; nothing when the project is not a git checkout. */
export function headCommit(root: string): CommitFacts {
    const r = spawnSync("git", ["log", "-1", "--format=%H%n%cI%n%s"], { cwd: root, encoding: "utf8" });
    if (r.status !== 0 || !r.stdout) return {};
    const [commit, committedAt, subject] = r.stdout.split("\n");
    return { commit, committedAt, subject };
}

/** Who started it: a push or the button in GitHub Actions, else a person. */
export function triggerOf(env: Record<string, string | undefined>, fallback: Trigger = "hand"): Trigger {
    const set = env[TRIGGER_VARIABLE] as Trigger | undefined;
    if (set && TRIGGERS.includes(set)) return set;
    if (env.GITHUB_ACTIONS === "true") return env.GITHUB_EVENT_NAME === "workflow_dispatch" ? "button" : "push";
    return fallback;
}

/** The URLs a deploy leaves live, from the stack outputs. */
export function liveUrls(outputs: Outputs): LiveUrl[] {
    const urls: LiveUrl[] = [];
    for (const [name, key] of [
        ["frontend", "frontendUrl"],
        ["backend", "backendUrl"],
    ] as const) {
        const v = outputs[key];
        if (typeof v === "string" && v) urls.push({ name, url: v });
    }
    return urls;
}

const num = (v: unknown) => (typeof v === "number" ? v : undefined);

/** The migrations an update applied (the newest version before and after), and how many of them the parser flags destructive. */
export async function migrationsBetween(
    root: string,
    migrationsDir: string | undefined,
    before: Outputs,
    after: Outputs,
): Promise<{ applied?: number; destructive?: number }> {
    const a = num(after.appliedMigrations);
    const b = num(before.appliedMigrations) ?? 0;
    if (a === undefined) return {};
    const applied = Math.max(0, a - b);
    if (applied === 0) return { applied, destructive: 0 };
    if (!migrationsDir) return { applied };
    try {
        const from = typeof before.schemaVersion === "string" ? before.schemaVersion : "";
        const to = typeof after.schemaVersion === "string" ? after.schemaVersion : "";
        const summaries = await loadMigrationSummaries(path.resolve(root, migrationsDir), {
            cacheFile: path.join(root, ".keel", "cache", "migration-lint.json"),
        });
        const ran = summaries.filter((s) => s.version > from && s.version <= to);
        return { applied, destructive: ran.filter((s) => s.destructive.length > 0).length };
    } catch {
        return { applied };
    }
}

/** The backup the update took (its stack output changed), with its size when it is a file here. */
export function newBackup(before: Outputs, after: Outputs): DeployRecord["backup"] {
    const b = after.latestBackup as { id?: string; location?: string } | null | undefined;
    const was = before.latestBackup as { id?: string } | null | undefined;
    if (!b?.id || b.id === was?.id) return undefined;
    let bytes: number | undefined;
    try {
        if (b.location && fs.existsSync(b.location)) bytes = fs.statSync(b.location).size;
    } catch {
        bytes = undefined;
    }
    return { id: b.id, ...(bytes !== undefined ? { bytes } : {}) };
}

export interface UpEnded {
    root: string;
    stack: string;
    stage?: string;
    migrationsDir?: string;
    env: Record<string, string | undefined>;
    startedMs: number;
    endedMs: number;
    ok: boolean;
    /** The failure in one line (the engine's first error). */
    cause?: string;
    before: Outputs;
    after: Outputs;
    /** The stack's Slack webhook (keel:slackWebhookUrl, or SLACK_WEBHOOK_URL), when it has one. */
    webhook?: string;
    /** The stack's decrypted secrets: masked wherever they would appear. */
    secrets: string[];
    say(line: string): void;
}

/** After `up`: the record, and from a laptop the notice. */
export async function afterUp(u: UpEnded): Promise<void> {
    const head = headCommit(u.root);
    const secrets = [...u.secrets, ...secretValuesIn(u.env)];
    const migrations = u.ok ? await migrationsBetween(u.root, u.migrationsDir, u.before, u.after) : {};
    const backup = u.ok ? newBackup(u.before, u.after) : undefined;
    const cause = u.cause ? maskSecrets(u.cause, secrets) : undefined;
    const record: DeployRecord = {
        kind: "deploy",
        stack: u.stack,
        at: new Date(u.endedMs).toISOString(),
        outcome: u.ok ? "succeeded" : "failed",
        ...(head.commit ? { commit: head.commit, committedAt: head.committedAt } : {}),
        durationMs: u.endedMs - u.startedMs,
        ...(u.ok ? {} : { step: "up", cause: cause ?? "the update failed" }),
        ...(migrations.applied !== undefined ? { migrationsApplied: migrations.applied } : {}),
        ...(migrations.destructive !== undefined ? { destructiveMigrations: migrations.destructive } : {}),
        ...(backup ? { backup } : {}),
        trigger: triggerOf(u.env),
    };
    await keepRecord(u.root, u.stack, u.env, record, u.say);
    if (u.env.GITHUB_ACTIONS === "true" || u.stage === "dev") return;
    const outcome: DeployOutcome = u.ok
        ? {
              outcome: "succeeded",
              stack: u.stack,
              ...head,
              durationMs: record.durationMs,
              ...(migrations.applied !== undefined ? { migrationsApplied: migrations.applied } : {}),
              ...(migrations.destructive ? { destructiveMigrations: migrations.destructive } : {}),
              ...(typeof u.after.backendImage === "string" ? { backendImage: u.after.backendImage } : {}),
              urls: liveUrls(u.after),
          }
        : {
              outcome: "failed",
              stack: u.stack,
              ...head,
              step: "up",
              cause: record.cause!,
              durationMs: record.durationMs,
              rollbackCommand: rollbackCommand(u.stack),
          };
    await notice(u.root, u.env, outcome, u.webhook, secrets, u.say);
}

/**
 * The notice to Slack, and in GitHub Actions to the job summary and (KEEL_ENVIRONMENT set by the workflow)
 * the environment's deployment status of `ref`, when there is somewhere to send it.
 */
export async function notice(
    root: string,
    env: Record<string, string | undefined>,
    outcome: DeployOutcome,
    webhook: string | undefined,
    secrets: readonly string[],
    say: (line: string) => void,
    ref?: string,
): Promise<void> {
    const summaryFile = env.GITHUB_ACTIONS === "true" ? env.GITHUB_STEP_SUMMARY : undefined;
    const environment = env[ENVIRONMENT_VARIABLE];
    const post = environment ? deploymentStatusSink(env, { environment, ref, say }) : undefined;
    if (!webhook && !summaryFile && !post) return;
    const io = processOperationsIo(root, env, (t) => say(t.replace(/\n$/, "")));
    const sinks = {
        ...(webhook ? { slackWebhook: webhook } : {}),
        ...(summaryFile ? { summaryFile } : {}),
        ...(post ? { deploymentStatus: post } : {}),
    };
    await sendDeployNotice(outcome, { ...sinks, secrets }, io);
}

/** The stack's decrypted secrets (masked in the notice) and its webhook: keel:slackWebhookUrl, else SLACK_WEBHOOK_URL (the key's documented fallback). */
export async function noticeConfig(s: Stack, env: Record<string, string | undefined>): Promise<{ secrets: string[]; webhook?: string }> {
    try {
        const all = await s.getAllConfig();
        const secrets = Object.values(all)
            .filter((v) => v.secret)
            .map((v) => v.value);
        return { secrets, webhook: all["keel:slackWebhookUrl"]?.value || env.SLACK_WEBHOOK_URL || undefined };
    } catch {
        return { secrets: [], webhook: env.SLACK_WEBHOOK_URL || undefined };
    }
}
