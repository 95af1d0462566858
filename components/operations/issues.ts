/**
 * The repository's issues as the workflows keep state in them: one open issue per
 * stack and kind (label + title), found, created, commented on and closed through
 * the `gh` CLI. gh rather than the REST API: it is on every GitHub runner, takes
 * the job's token and repository from GH_TOKEN / GH_REPO as the steps already map
 * them, and the workflow tests can put a fake gh first on PATH.
 */
import { KeelError } from "../errors";
import type { IncidentRecord } from "../records/record";
import { CommandResult, OperationsIo } from "./io";

export interface IssueLabel {
    name: string;
    color: string;
    description: string;
}

/** A stack is unhealthy: opened by the monitor or the deploy watch, closed by the monitor on recovery. */
export const INCIDENT_LABEL: IssueLabel = {
    name: "incident",
    color: "B60205",
    description: "Keel monitor: a stack is unhealthy (open while it lasts)",
};

/** A stack differs from its state: opened by the drift check, closed by the next clean one. */
export const DRIFT_LABEL: IssueLabel = { name: "drift", color: "D93F0B", description: "Keel: a stack differs from its state" };

/** The title of a stack's one open incident issue, shared by the monitor and the deploy watch. */
export function incidentTitle(stack: string): string {
    return `Incident: ${stack} is unhealthy`;
}

/** A gh command that failed; its stderr (gh never prints the token) and what to check. */
export class GithubIssueError extends KeelError {
    constructor(what: string, result: CommandResult) {
        const said = result.stderr.trim().split("\n").slice(-3).join(" ") || `exit ${result.status}`;
        super(
            `Could not ${what}: gh ${said}. Fix: the job needs \`permissions: issues: write\` and GH_TOKEN / GH_REPO in the step's env (the generated workflows map them).`,
            "GithubIssueError",
        );
    }
}

/** gh could not be started: not installed here. */
export class GhMissingError extends KeelError {
    constructor(what: string) {
        super(
            `Could not ${what}: the GitHub CLI (gh) is not on PATH. Fix: install it (https://cli.github.com) and run gh auth login; GitHub's runners have it.`,
            "GhMissingError",
        );
    }
}

async function gh(io: OperationsIo, what: string, args: string[], input?: string): Promise<string> {
    const r = await io.run("gh", args, { input });
    if (r.status === 127) throw new GhMissingError(what);
    if (r.status !== 0) throw new GithubIssueError(what, r);
    return r.stdout;
}

/** Creates the label, or updates its color and description. */
export async function ensureLabel(label: IssueLabel, io: OperationsIo): Promise<void> {
    await gh(io, `create the label '${label.name}'`, [
        "label",
        "create",
        label.name,
        "--color",
        label.color,
        "--description",
        label.description,
        "--force",
    ]);
}

/** The number of the open issue with this label and exactly this title (the first of the 100 newest), if any. */
export async function findOpenIssue(label: IssueLabel, title: string, io: OperationsIo): Promise<number | undefined> {
    const text = await gh(io, `list the open '${label.name}' issues`, [
        "issue",
        "list",
        "--state",
        "open",
        "--label",
        label.name,
        "--limit",
        "100",
        "--json",
        "number,title",
    ]);
    if (!text.trim()) return undefined;
    let issues: unknown;
    try {
        issues = JSON.parse(text);
    } catch {
        throw new GithubIssueError(`list the open '${label.name}' issues`, {
            status: 0,
            stdout: "",
            stderr: "answered no JSON",
            output: "",
        });
    }
    const found = Array.isArray(issues) ? issues.find((i) => i?.title === title && typeof i?.number === "number") : undefined;
    return found?.number;
}

/** Opens an issue; its URL (what gh prints). */
export async function createIssue(label: IssueLabel, title: string, body: string, io: OperationsIo): Promise<string> {
    const out = await gh(
        io,
        `open the issue '${title}'`,
        ["issue", "create", "--title", title, "--label", label.name, "--body-file", "-"],
        body,
    );
    return out.trim();
}

/** Comments on an issue; the comment's URL. */
export async function commentOnIssue(issue: number, body: string, io: OperationsIo): Promise<string> {
    return (await gh(io, `comment on issue #${issue}`, ["issue", "comment", String(issue), "--body-file", "-"], body)).trim();
}

export async function closeIssue(issue: number, comment: string, io: OperationsIo): Promise<void> {
    await gh(io, `close issue #${issue}`, ["issue", "close", String(issue), "--comment", comment]);
}

/**
 * The one open issue of this label and title gets `body`: as a comment when it is
 * open, else as a new issue (the label made first). Returns the issue's or the
 * comment's URL.
 */
export async function openOrComment(label: IssueLabel, title: string, body: string, io: OperationsIo): Promise<string> {
    await ensureLabel(label, io);
    const number = await findOpenIssue(label, title, io);
    return number !== undefined ? commentOnIssue(number, body, io) : createIssue(label, title, body, io);
}

/** One incident issue as `gh issue list --json number,title,createdAt,closedAt,url` prints it. */
export interface IncidentIssue {
    number: number;
    title: string;
    createdAt: string;
    closedAt?: string | null;
    url?: string;
}

/**
 * A stack's incidents as records (opened, and closed when it was), from its incident issues: the
 * monitor runs outside the stack's environment, without its state, so the issues are where
 * incidents are kept. Pure.
 */
export function incidentRecordsOf(stack: string, issues: IncidentIssue[]): IncidentRecord[] {
    const title = incidentTitle(stack);
    return issues
        .filter((i) => i.title === title && !Number.isNaN(Date.parse(i.createdAt)))
        .flatMap((i): IncidentRecord[] => [
            { kind: "incident-opened", stack, at: new Date(i.createdAt).toISOString(), ...(i.url ? { issue: i.url } : {}) },
            ...(i.closedAt
                ? [{ kind: "incident-closed" as const, stack, at: new Date(i.closedAt).toISOString(), ...(i.url ? { issue: i.url } : {}) }]
                : []),
        ]);
}

/** Every incident issue, open and closed (the 1,000 newest), through gh. */
export async function listIncidentIssues(io: OperationsIo): Promise<IncidentIssue[]> {
    const text = await gh(io, `list the '${INCIDENT_LABEL.name}' issues`, [
        "issue",
        "list",
        "--state",
        "all",
        "--label",
        INCIDENT_LABEL.name,
        "--limit",
        "1000",
        "--json",
        "number,title,createdAt,closedAt,url",
    ]);
    try {
        const parsed = JSON.parse(text || "[]");
        return Array.isArray(parsed) ? parsed : [];
    } catch {
        throw new GithubIssueError(`list the '${INCIDENT_LABEL.name}' issues`, {
            status: 0,
            stdout: "",
            stderr: "answered no JSON",
            output: "",
        });
    }
}
