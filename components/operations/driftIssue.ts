/**
 * `keel issue drift`, drift.yml's steps after its check: a failed check opens the
 * stack's drift issue (or comments on the open one) with what the check wrote to
 * RUNNER_TEMP; a clean one closes it.
 */
import * as path from "path";
import { closeIssue, DRIFT_LABEL, findOpenIssue, openOrComment } from "./issues";
import { OperationsIo } from "./io";
import { STEP_ENV } from "./stepEnv";

/** The one open drift issue of a stack. */
export function driftTitle(stack: string): string {
    return `Drift detected in ${stack}`;
}

/** The drift check's first command: a refresh preview through Keel (changes outside Keel, the schema, pending migrations). */
export function driftCommand(stack: string): string {
    return `npm run drift -- --stack ${stack}`;
}

/** The check's second command: this branch's code against the refreshed cloud. */
export function refreshPreviewCommand(stack: string): string {
    return `npm run preview -- ${stack} --refresh --expect-no-changes`;
}

/** What the check step leaves in RUNNER_TEMP for the issue. */
export const DRIFT_FILES = { markdown: "drift.md", driftLog: "drift.txt", previewLog: "preview.txt" } as const;

export interface DriftCheckResult {
    stack: string;
    runUrl: string;
    /** The exit codes as the check step reported them ("" when unknown). */
    driftExit: string;
    previewExit: string;
    /** npm run drift's Markdown (its table), when it wrote one. */
    markdown?: string;
    driftLog: string;
    previewLog: string;
}

/** The last `chars` characters, as `tail -c` kept them, fenced. */
function fencedTail(text: string, chars: number): string[] {
    return ["```", text.slice(-chars).replace(/\n$/, ""), "```"];
}

/** The issue's (or comment's) text. */
export function driftIssueBody(r: DriftCheckResult): string {
    const drift = driftCommand(r.stack);
    const preview = refreshPreviewCommand(r.stack);
    return [
        `The daily drift check of the ${r.stack} stack did not come back clean.`,
        "",
        `Run: ${r.runUrl}`,
        "",
        `\`${drift}\` (exit ${r.driftExit || "?"}; 1: drift, 2: a stack not checked, the table says why):`,
        "",
        ...(r.markdown?.trim() ? [r.markdown.replace(/\n$/, "")] : fencedTail(r.driftLog, 30_000)),
        "",
        `<details><summary><code>${preview}</code> (this branch's code against the cloud): exit ${r.previewExit || "?"}</summary>`,
        "",
        ...fencedTail(r.previewLog, 30_000),
        "</details>",
        "",
        `Settle it with \`npm run up -- ${r.stack}\` (the code wins) or \`npm run refresh -- ${r.stack}\` (the cloud wins); the next clean check closes this issue.`,
        "",
    ].join("\n");
}

/** The check's result from the step's env and RUNNER_TEMP. */
export function readDriftCheck(stack: string, io: OperationsIo): DriftCheckResult {
    const dir = io.env[STEP_ENV.runnerTemp] ?? ".";
    const read = (file: string) => io.readFile(path.join(dir, file));
    return {
        stack,
        runUrl: io.env[STEP_ENV.runUrl] ?? "",
        driftExit: io.env[STEP_ENV.driftExit] ?? "",
        previewExit: io.env[STEP_ENV.previewExit] ?? "",
        markdown: read(DRIFT_FILES.markdown),
        driftLog: read(DRIFT_FILES.driftLog) ?? "",
        previewLog: read(DRIFT_FILES.previewLog) ?? "",
    };
}

/** A drifting stack: its issue opened or commented on. */
export async function reportDrift(stack: string, io: OperationsIo): Promise<number> {
    const url = await openOrComment(DRIFT_LABEL, driftTitle(stack), driftIssueBody(readDriftCheck(stack, io)), io);
    if (url) io.out(`${url}\n`);
    return 0;
}

/** A clean stack: its open drift issue, if any, closed. */
export async function resolveDrift(stack: string, io: OperationsIo): Promise<number> {
    const open = await findOpenIssue(DRIFT_LABEL, driftTitle(stack), io);
    if (open !== undefined) await closeIssue(open, `No drift any more: ${io.env[STEP_ENV.runUrl] ?? ""}`, io);
    return 0;
}
