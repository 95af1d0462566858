/**
 * keel metrics [--stack <s> ...] [--since 30d] [--json | --markdown <file>] [--slack]
 * (npm run metrics): the solo operator's metrics of each stack over a period,
 * from its history (scripts/lib/stackHistory.ts, any state backend) and Keel's
 * records beside the state (scripts/lib/records.ts), computed by
 * components/metrics. Progress goes to stderr, the report to stdout; the Slack
 * digest is posted when asked, and a post that fails never fails the command.
 * Incidents are the monitor's issues (it runs without the stacks' state): read
 * once through gh (GH_TOKEN / GH_REPO, or the checkout's repository); without
 * gh, or without access, the report says so and counts the records alone.
 * Exit 0, or 1 when a stack could not be read (the others are reported).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { stacksIn } from "../components/config";
import {
    CHANGE_FAILURE_WINDOW_MS,
    DEFINITIONS,
    formatDigest,
    formatMarkdown,
    formatText,
    HistoryUpdate,
    MetricsReport,
    parseSince,
    SINCE_FORMS,
    StackMetrics,
    stackMetrics,
} from "../components/metrics";
import { periodMetrics, stackFacts } from "../components/metrics/compute";
import { OperationsIo, processOperationsIo } from "../components/operations/io";
import { IncidentIssue, incidentRecordsOf, listIncidentIssues } from "../components/operations/issues";
import { notify } from "../components/operations/slack";
import type { KeelRecord } from "../components/records/record";
import { plural } from "../components/metrics/figures";
import { recordLog } from "./lib/records";
import { factsOf } from "./lib/rollbackPlan";
import { Deploy, listDeploys } from "./lib/stackHistory";
import { UsageError } from "./lib/usageError";

export interface MetricsOptions {
    /** The stacks (default: every Pulumi.<stack>.yaml). */
    stacks: string[];
    /** `--since`: Nd, Nh, Nw or an ISO date (SINCE_FORMS). */
    since: string;
    /** The report as JSON on stdout (MetricsReport). */
    json?: boolean;
    /** Also write the report as Markdown to this file. */
    markdown?: string;
    /** Post the digest to Slack (SLACK_WEBHOOK_URL). */
    slack?: boolean;
}

export interface MetricsIo {
    root: string;
    env: Record<string, string | undefined>;
    out(text: string): void;
    err(text: string): void;
    /** The period's end (default: now). */
    now?: Date;
    /** Where gh runs and the Slack post goes (default: the real ones; tests give a fake). */
    operations?: OperationsIo;
}

const message = (err: unknown) => String((err as Error)?.message ?? err);

/** A deploy as the metrics read it: the history fields and the backup its outputs name. */
function historyUpdate(d: Deploy): HistoryUpdate {
    const backup = factsOf(d).backup;
    return {
        version: d.version,
        kind: d.kind,
        result: d.result,
        startTime: d.startTime,
        ...(d.endTime ? { endTime: d.endTime } : {}),
        message: d.message,
        ...(d.commit ? { commit: d.commit } : {}),
        ...(backup ? { backup: { id: backup.id, ...(backup.sizeBytes !== undefined ? { bytes: backup.sizeBytes } : {}) } } : {}),
    };
}

/**
 * The checkout's commit times by hash, for the lead time of deploys whose record has none (those made
 * before records, or on Pulumi Cloud). Empty outside a git checkout, or where git is missing: a shallow
 * CI checkout knows few commits, and those deploys just have no lead time.
 */
function gitCommitTimes(root: string): Map<string, Date> {
    const res = spawnSync("git", ["log", "--all", "--format=%H %ct"], { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const times = new Map<string, Date>();
    if (res.status !== 0 || !res.stdout) return times;
    for (const line of res.stdout.split("\n")) {
        const [hash, seconds] = line.split(" ");
        if (hash && seconds) times.set(hash, new Date(Number(seconds) * 1000));
    }
    return times;
}

/** The incident issues of every stack, or none (said on stderr) when gh cannot list them: never fatal. */
async function incidentIssues(io: MetricsIo, ops: OperationsIo): Promise<IncidentIssue[]> {
    try {
        return await listIncidentIssues(ops);
    } catch (err) {
        io.err(
            `keel: incidents not read from the repository's issues (on a laptop: install gh and run gh auth login; in CI: GH_TOKEN and GH_REPO), ` +
                `so the figures count Keel's records alone: ${message(err)}\n`,
        );
        return [];
    }
}

/** The stack's records and its incidents from the issues, each once (a record written for the same event is not counted again). */
function withIncidents(records: KeelRecord[], incidents: KeelRecord[]): KeelRecord[] {
    const seen = new Set(records.map((r) => `${r.kind} ${Date.parse(r.at)}`));
    return [...records, ...incidents.filter((r) => !seen.has(`${r.kind} ${Date.parse(r.at)}`))];
}

async function readStack(
    stack: string,
    since: Date,
    until: Date,
    io: MetricsIo,
    commitTimes: () => Map<string, Date>,
    issues: Promise<IncidentIssue[]>,
): Promise<StackMetrics> {
    const say = (line: string) => io.err(`${line}\n`);
    try {
        // The history entries alone: a deploy's backup comes from Keel's record of it (with its size), not its checkpoint.
        const deploys = await listDeploys(io.root, stack, io.env, { say, historyOnly: true });
        const kept = await recordLog(io.root, stack, io.env, { warn: say }).list();
        const incidents = incidentRecordsOf(stack, await issues);
        const records = withIncidents(kept, incidents);
        say(
            `${stack}: ${plural(deploys.length, "update")}, ${plural(kept.length, "record")}, ${plural(incidents.length, "incident event")} from the issues`,
        );
        const history = deploys.map(historyUpdate);
        // Deploys made before records were kept (or on Pulumi Cloud) have only their commit: git knows its time.
        return stackMetrics(
            { stack, history, records, ...(history.some((u) => u.commit) ? { commitTimes: commitTimes() } : {}) },
            since,
            until,
        );
    } catch (err) {
        say(`${stack}: could not be read: ${message(err)}`);
        const empty = stackFacts({ history: [], records: [] });
        return {
            stack,
            read: { updates: 0, records: 0 },
            problem: message(err),
            totals: periodMetrics(empty, since, until),
            weeks: [],
            lastDrills: [],
        };
    }
}

export async function metrics(options: MetricsOptions, io: MetricsIo): Promise<number> {
    const until = io.now ?? new Date();
    const since = parseSince(options.since, until);
    if (!since) throw new UsageError(`--since takes ${SINCE_FORMS}, before now; got '${options.since}'`);
    if (options.json && options.markdown !== undefined) throw new UsageError("--json and --markdown <file> are one or the other: pick one");
    const known = stacksIn(io.root);
    const stacks = options.stacks.length ? [...new Set(options.stacks)] : known;
    if (!stacks.length) throw new UsageError(`no Pulumi.<stack>.yaml in ${io.root}: name a stack with --stack, or run npm run stack:new`);
    // A mistyped name would read an empty history and report a quiet stack: refused, with the stacks there are.
    const unknown = stacks.filter((s) => !known.includes(s));
    if (unknown.length)
        throw new UsageError(
            `--stack ${unknown.join(", ")}: no Pulumi.<stack>.yaml in ${io.root} for ${unknown.length === 1 ? "it" : "them"}; the stacks are ${known.join(", ") || "none yet"}`,
        );
    let times: Map<string, Date> | undefined;
    const commitTimes = () => (times ??= gitCommitTimes(io.root));
    const ops = io.operations ?? processOperationsIo(io.root, io.env, io.err);
    // gh asks GitHub while the history is read: its answer's latency hides behind the reads.
    const issues = incidentIssues(io, ops);
    const results: StackMetrics[] = [];
    for (const stack of stacks) results.push(await readStack(stack, since, until, io, commitTimes, issues));
    const report: MetricsReport = {
        format: 1,
        since: since.toISOString(),
        until: until.toISOString(),
        definitions: DEFINITIONS,
        changeFailureWindowHours: CHANGE_FAILURE_WINDOW_MS / 3_600_000,
        stacks: results,
    };
    if (options.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else io.out(formatText(report));
    if (options.markdown !== undefined) {
        fs.writeFileSync(options.markdown, formatMarkdown(report));
        io.err(`wrote the Markdown report to ${options.markdown}\n`);
    }
    if (options.slack) await postDigest(report, io, ops);
    return results.some((r) => r.problem) ? 1 : 0;
}

/** The digest to Slack; a post that fails is said on stderr and never fails the command. */
async function postDigest(report: MetricsReport, io: MetricsIo, ops: OperationsIo): Promise<void> {
    try {
        if (await notify(formatDigest(report), { slack: true, required: false }, ops)) io.err("posted the digest to Slack\n");
    } catch (err) {
        io.err(`keel: the digest was not posted to Slack (the report above stands): ${message(err)}\n`);
    }
}
