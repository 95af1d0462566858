/**
 * `keel issue drill`, drill.yml's last step: the stack's drill (the restore drill,
 * and on staging the rollback drill) as the steps before left it (their outcomes
 * in the step's env, their logs in RUNNER_TEMP, each part's drill line in them:
 * drillLine.ts) goes to the job summary, to Slack (when the project has it on),
 * and, when it failed, to the stack's one open drill issue (opened, or commented
 * on); a drill that passes closes that issue.
 */
import * as path from "path";
import { DrillLine, formatDrillLine, parseDrillLines } from "./drillLine";
import { closeIssue, findOpenIssue, IssueLabel, openOrComment } from "./issues";
import { OperationsIo } from "./io";
import { notify, SlackError } from "./slack";
import { STEP_ENV } from "./stepEnv";

/** A stack's drill failed: opened by drill.yml's report, closed by the next drill that passes. */
export const DRILL_LABEL: IssueLabel = { name: "drill", color: "FBCA04", description: "Keel: a stack's backup or rollback drill failed" };

/** The title of a stack's one open drill issue. */
export function drillTitle(stack: string): string {
    return `Drill failed: ${stack}`;
}

/** The drill steps' commands: what drill.yml runs and the issue names. */
export function restoreDrillCommand(stack: string): string {
    return `./keel db drill --stack ${stack} --yes`;
}
export function rollbackDrillCommand(stack: string): string {
    return `./keel rollback drill --stack ${stack} --yes`;
}

/** Where the drill steps keep their logs (RUNNER_TEMP), and the env that carries their outcomes. */
export const DRILL_FILES = { restore: "drill-restore.txt", rollback: "drill-rollback.txt" } as const;
export const DRILL_ENV = { restoreOutcome: "RESTORE_OUTCOME", rollbackOutcome: "ROLLBACK_OUTCOME" } as const;

export interface DrillReportOptions {
    /** The job ran the rollback drill too (staging-stage stacks). */
    rollback: boolean;
    /** The project posts to Slack (SLACK_WEBHOOK_URL). */
    slack: boolean;
}

/** One step of the drill as the report sees it. */
export interface DrillStepResult {
    step: "restore" | "rollback";
    command: string;
    /** The step's outcome as GitHub gives it: success, failure, cancelled, skipped ("" when unknown). */
    outcome: string;
    /** The drill lines its log holds (restore: the restore part, and on Neon the snapshot part). */
    parts: DrillLine[];
    log: string;
}

export interface DrillRun {
    stack: string;
    runUrl: string;
    steps: DrillStepResult[];
}

/** The drill as the steps left it. */
export function readDrillRun(stack: string, options: DrillReportOptions, io: OperationsIo): DrillRun {
    const dir = io.env[STEP_ENV.runnerTemp] ?? ".";
    const step = (name: "restore" | "rollback", command: string, outcome: string): DrillStepResult => {
        const log = io.readFile(path.join(dir, DRILL_FILES[name])) ?? "";
        return { step: name, command, outcome, parts: parseDrillLines(log), log };
    };
    return {
        stack,
        runUrl: io.env[STEP_ENV.runUrl] ?? "",
        steps: [
            step("restore", restoreDrillCommand(stack), io.env[DRILL_ENV.restoreOutcome] ?? ""),
            ...(options.rollback ? [step("rollback", rollbackDrillCommand(stack), io.env[DRILL_ENV.rollbackOutcome] ?? "")] : []),
        ],
    };
}

/** A step passed when GitHub says it succeeded and none of its parts failed. */
const passed = (s: DrillStepResult) => s.outcome === "success" && s.parts.every((p) => p.outcome === "succeeded");

export function drillPassed(run: DrillRun): boolean {
    return run.steps.every(passed);
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A part in a few words: `restore 12.3 s`, `rollback 161.0 s (back 80.2 s, forward 80.8 s)`, `snapshot FAILED: …`. */
function partWords(p: DrillLine): string {
    const ways =
        p.backMs !== undefined ? ` (back ${secs(p.backMs)}${p.forwardMs !== undefined ? `, forward ${secs(p.forwardMs)}` : ""})` : "";
    return p.outcome === "succeeded"
        ? `${p.drill} ${secs(p.durationMs)}${ways}`
        : `${p.drill} FAILED${ways}${p.cause ? `: ${p.cause}` : ""}`;
}

/** A step without its drill line (it failed before one, or did not run) in a few words. */
function stepWords(s: DrillStepResult): string[] {
    if (s.parts.length) return s.parts.map(partWords);
    return [
        `${s.step} ${s.outcome === "success" ? "passed" : s.outcome ? `did not complete (${s.outcome})` : "did not run"}: see the run's log`,
    ];
}

/** The Slack text: one line, the stack, passed or FAILED, each part's time or cause, the run (and the issue). */
export function drillSlackText(run: DrillRun, issueUrl?: string): string {
    const ok = drillPassed(run);
    const parts = run.steps.flatMap(stepWords).join("; ");
    return `Drill of ${run.stack}: ${ok ? "passed" : "FAILED"}. ${parts}. Run: ${run.runUrl}${issueUrl ? `. Issue: ${issueUrl}` : ""}`;
}

/** The job summary's (and the issue's) Markdown. */
export function drillMarkdown(run: DrillRun, heading = "###"): string {
    const ok = drillPassed(run);
    const rows = run.steps.flatMap((s) =>
        s.parts.length
            ? s.parts.map((p) => {
                  const ways =
                      p.backMs !== undefined
                          ? `back ${secs(p.backMs)}${p.forwardMs !== undefined ? `, forward ${secs(p.forwardMs)}` : ""}`
                          : "";
                  const cause = p.outcome === "failed" ? (p.cause ?? "see the log") : "";
                  return `| ${p.drill} | ${p.outcome === "succeeded" ? "passed" : "**FAILED**"} | ${secs(p.durationMs)} | ${cell([ways, cause].filter(Boolean).join("; "))} |`;
              })
            : [
                  `| ${s.step} | ${s.outcome === "success" ? "passed" : `**${s.outcome || "not run"}**`} | - | ${cell(`\`${s.command}\` left no drill line: see the log`)} |`,
              ],
    );
    const lines = [
        `${heading} Drill of ${run.stack}: ${ok ? "passed" : "FAILED"}`,
        "",
        "| drill | result | time | details |",
        "| --- | --- | --- | --- |",
        ...rows,
        "",
        `Run: ${run.runUrl}`,
        "",
    ];
    for (const s of run.steps.filter((x) => !passed(x))) {
        lines.push(`<details><summary><code>${s.command}</code>: ${s.outcome || "not run"}</summary>`, "", "```");
        lines.push(s.log.slice(-30_000).replace(/\n$/, "") || "(no output)", "```", "</details>", "");
    }
    return lines.join("\n");
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The issue's (or comment's) text. */
export function drillIssueBody(run: DrillRun): string {
    return [
        `The scheduled drill of the ${run.stack} stack failed: a recovery that relies on what failed may not work either.`,
        "",
        drillMarkdown(run, "####"),
        `Run it again by hand with the Drill workflow (Run workflow, stack \`${run.stack}\`) or locally: ` +
            run.steps.map((s) => `\`${s.command.replace(/^\.\/keel /, "npm run keel -- ")}\``).join(", then ") +
            ". The next drill that passes closes this issue.",
        "",
    ].join("\n");
}

/**
 * The report: the job summary always; Slack when on (a post that fails is said, never fatal);
 * a failed drill opens or comments on the stack's drill issue, a passing one closes it.
 */
export async function reportDrillRun(stack: string, options: DrillReportOptions, io: OperationsIo): Promise<number> {
    const run = readDrillRun(stack, options, io);
    const ok = drillPassed(run);
    const summary = io.env[STEP_ENV.stepSummary];
    if (summary) io.appendFile(summary, drillMarkdown(run));
    for (const s of run.steps) for (const p of s.parts) io.out(`${formatDrillLine(p)}\n`);
    let issueUrl: string | undefined;
    if (!ok) {
        issueUrl = await openOrComment(DRILL_LABEL, drillTitle(stack), drillIssueBody(run), io);
        io.out(`The drill failed: ${issueUrl}\n`);
    } else {
        const open = await findOpenIssue(DRILL_LABEL, drillTitle(stack), io);
        if (open !== undefined) await closeIssue(open, `The drill passed again: ${run.runUrl}`, io);
    }
    try {
        await notify(drillSlackText(run, issueUrl), { slack: options.slack, required: false }, io);
    } catch (err) {
        if (!(err instanceof SlackError)) throw err;
        io.out(`::warning::${err.message}\n`);
    }
    return 0;
}
