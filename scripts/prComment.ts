/**
 * keel pr comment --pr <n> --summary <file> (npm run pr:comment): the pull request's one preview comment, written
 * from the summary `keel pr up --summary <file>` left (components/previews/comment.ts) and kept in place: the
 * comment that starts with PREVIEW_MARKER is edited, one is created only when there is none, so every push edits
 * the same comment. Through GitHub's REST API with GITHUB_TOKEN (previews.yml: the job's own token, allowed
 * `pull-requests: write`) on GITHUB_REPOSITORY; `--print` prints the body instead and needs neither.
 */
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../components/errors";
import { PREVIEW_MARKER, previewComment } from "../components/previews/comment";
import { isPullRequestNumber } from "../components/previews/naming";
import { parsePreviewSummary, PreviewSummaryError } from "../components/previews/summary";
import { type GithubRetryOptions, parseGithubRepository, upsertMarkedComment } from "../components/vendors/github";
import { UsageError } from "./lib/usageError";

export interface PrCommentOptions {
    /** The pull request's number, as given on the command line. */
    pr: string;
    /** The summary file, relative to the checkout. */
    summary: string;
    /** Print the body on stdout instead of posting it. */
    print?: boolean;
}

export interface PrCommentIo {
    root: string;
    env: Record<string, string | undefined>;
    out(text: string): void;
    /** Retry settings for the GitHub requests (tests: no real sleep). */
    github?: GithubRetryOptions;
}

/** No token to post with. */
export class GithubTokenMissingError extends KeelError {
    constructor() {
        super(
            "GITHUB_TOKEN is not set: the preview comment is posted with it. Fix: in the workflow, give the step " +
                "env GITHUB_TOKEN: ${{ github.token }} and the job `permissions: pull-requests: write` (previews.yml does); " +
                "elsewhere, a token that may comment on the repository's pull requests. Or --print the body instead.",
            "GithubTokenMissingError",
        );
    }
}

/** The workflow run's page, from the variables Actions sets; undefined elsewhere. */
function runUrlOf(env: Record<string, string | undefined>): string | undefined {
    const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
    return server && repo && run ? `${server.replace(/\/+$/, "")}/${repo}/actions/runs/${run}` : undefined;
}

export async function prComment(options: PrCommentOptions, io: PrCommentIo): Promise<number> {
    const pr = /^[0-9]+$/.test(options.pr) ? Number(options.pr) : NaN;
    if (!isPullRequestNumber(pr)) throw new UsageError(`--pr '${options.pr}' is not a pull request number (a whole number above 0)`);
    const file = path.resolve(io.root, options.summary);
    if (!fs.existsSync(file))
        throw new PreviewSummaryError(
            `${options.summary} does not exist. Fix: pass the file \`keel pr up --pr ${pr} --summary <file>\` wrote; ` +
                "when pr up failed it wrote none, and its step's log says why.",
        );
    const summary = parsePreviewSummary(fs.readFileSync(file, "utf8"), options.summary);
    if (summary.pr !== pr)
        throw new UsageError(
            `${options.summary} is the summary of pull request ${summary.pr}, not of --pr ${pr}: pass that pull request's file`,
        );
    const runUrl = runUrlOf(io.env);
    const body = previewComment({ ...summary, ...(runUrl ? { runUrl } : {}) });
    if (options.print) {
        io.out(body);
        return 0;
    }
    const token = io.env.GITHUB_TOKEN;
    if (!token) throw new GithubTokenMissingError();
    const { owner, repo } = parseGithubRepository(io.env.GITHUB_REPOSITORY);
    const done = await upsertMarkedComment(
        { owner, repo, token, ...(io.env.GITHUB_API_URL ? { baseUrl: io.env.GITHUB_API_URL } : {}) },
        { issue: pr, marker: PREVIEW_MARKER, body },
        { ...io.github, onRetry: (m) => io.out(`GitHub: ${m}\n`) },
    );
    const what = done.created ? "created" : done.changed ? "edited" : "unchanged (it already said this)";
    io.out(`preview comment on #${pr} ${what}: ${done.url}\n`);
    return 0;
}
