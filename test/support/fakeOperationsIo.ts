/**
 * An OperationsIo (components/operations/io.ts) with nothing real behind it: health
 * URLs answer from per-URL queues (the last answer again once used up; undefined:
 * nothing answers), the Slack webhook records its posts, `gh` keeps issues in
 * memory as GitHub would, `npm` (the rollback) answers what the test set, and
 * sleep only records. Nothing here waits or reads the clock.
 */
import { CommandResult, HttpAnswer, HttpRequest, OperationsIo, RunOptions } from "../../components/operations/io";
import type { KeelRecord } from "../../components/records/record";

export interface FakeIssue {
    number: number;
    title: string;
    label: string;
    open: boolean;
    body: string;
    comments: string[];
}

export const FAKE_WEBHOOK = "https://hooks.example/slack";

export class FakeOperationsIo implements OperationsIo {
    env: Record<string, string | undefined>;
    log = "";
    sleeps: number[] = [];
    /** Health URLs requested, in order. */
    requests: string[] = [];
    /** The texts posted to Slack. */
    slack: string[] = [];
    /** What the webhook answers. */
    slackStatus = 200;
    answers: Record<string, (number | undefined)[]> = {};
    issues: FakeIssue[] = [];
    labels = new Set<string>();
    /** Every program run: [command, ...args]. */
    calls: string[][] = [];
    /** gh subcommands ("issue create", "label create") that fail. */
    ghFailing = new Set<string>();
    rollback = { status: 0, output: "Rolling prod back to version 41\nrecovered in 42 s\n" };
    files: Record<string, string> = {};
    /** What the command recorded beside the state. */
    records: KeelRecord[] = [];

    constructor(env: Record<string, string | undefined> = {}) {
        this.env = env;
    }

    out(text: string): void {
        this.log += text;
    }

    async fetch(url: string, request: HttpRequest): Promise<HttpAnswer> {
        if (url === FAKE_WEBHOOK) {
            this.slack.push(JSON.parse(request.body ?? "{}").text);
            return { status: this.slackStatus };
        }
        this.requests.push(url);
        const queue = this.answers[url] ?? [];
        const answer = queue.length > 1 ? queue.shift() : queue[0];
        if (answer === undefined) throw new TypeError("fetch failed");
        return { status: answer };
    }

    async record(r: KeelRecord): Promise<void> {
        this.records.push(r);
    }

    async sleep(ms: number): Promise<void> {
        this.sleeps.push(ms);
    }

    async run(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
        this.calls.push([command, ...args]);
        if (command === "npm") {
            if (options.echo) this.out(this.rollback.output);
            return { status: this.rollback.status, stdout: this.rollback.output, stderr: "", output: this.rollback.output };
        }
        if (command !== "gh") return result(127, "", `${command}: not found`);
        const sub = `${args[0]} ${args[1]}`;
        if (this.ghFailing.has(sub)) return result(1, "", "HTTP 403: Resource not accessible by integration");
        const flag = (name: string) => args[args.indexOf(name) + 1];
        const body = flag("--body-file") === "-" ? (options.input ?? "") : "";
        switch (sub) {
            case "label create":
                this.labels.add(args[2]);
                return result(0, "");
            case "issue list": {
                const found = this.issues.filter((i) => i.open && i.label === flag("--label"));
                return result(0, JSON.stringify(found.map((i) => ({ number: i.number, title: i.title }))));
            }
            case "issue create": {
                const issue = {
                    number: 7 + this.issues.length,
                    title: flag("--title"),
                    label: flag("--label"),
                    open: true,
                    body,
                    comments: [],
                };
                this.issues.push(issue);
                return result(0, `https://github.example/o/r/issues/${issue.number}\n`);
            }
            case "issue comment":
                this.issue(Number(args[2])).comments.push(body);
                return result(0, `https://github.example/o/r/issues/${args[2]}#issuecomment-1\n`);
            case "issue close": {
                const issue = this.issue(Number(args[2]));
                issue.open = false;
                issue.comments.push(flag("--comment"));
                return result(0, "");
            }
        }
        return result(1, "", `unknown command ${sub}`);
    }

    appendFile(file: string, text: string): void {
        this.files[file] = (this.files[file] ?? "") + text;
    }

    readFile(file: string): string | undefined {
        return this.files[file];
    }

    /** The gh calls, as the command line would read (`issue create --title …`). */
    ghCalls(): string[] {
        return this.calls.filter((c) => c[0] === "gh").map((c) => c.slice(1).join(" "));
    }

    private issue(n: number): FakeIssue {
        const issue = this.issues.find((i) => i.number === n);
        if (!issue) throw new Error(`no issue #${n}`);
        return issue;
    }
}

function result(status: number, stdout: string, stderr = ""): CommandResult {
    return { status, stdout, stderr, output: stdout + stderr };
}
