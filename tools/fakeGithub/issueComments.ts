/**
 * The fake GitHub API's issue comments (a pull request's conversation is its issue's): list an issue's comments
 * (oldest first, per_page and page), create one, get and edit one by id. An issue exists once addIssue made it
 * (404 otherwise, as GitHub answers); a body must be a string of at most 65,536 characters (422 otherwise, with
 * GitHub's validation error). Answers in the shape of api.github.com.json's issue-comment.
 */
import { HttpError } from "../fakeHttp";
import type { FakeGithubComment, FakeGithubRepo } from "./types";
import { iso, userView } from "./views";

/** GitHub's limit on a comment's body, in characters. */
export const COMMENT_BODY_MAX = 65536;

export interface CommentRoute {
    method: string;
    /** The path's segments after repos/<owner>/<repo>/issues. */
    rest: string[];
    query: URLSearchParams;
    body: any;
    login: string;
    nowMs: number;
    /** The fake's base URL, for the answer's urls. */
    api: string;
    page<T>(q: URLSearchParams, all: T[]): T[];
    invalid(message: string, errors?: { resource: string; field: string; code: string; message?: string }[]): HttpError;
}

export class FakeIssueComments {
    readonly comments = new Map<number, FakeGithubComment>();
    private seq = 1;

    reset(): void {
        this.comments.clear();
        this.seq = 1;
    }

    /** An issue's comments, oldest first. */
    of(repo: FakeGithubRepo, issue: number): FakeGithubComment[] {
        return [...this.comments.values()].filter((c) => c.owner === repo.owner && c.repo === repo.repo && c.issue === issue);
    }

    /** Adds a comment as another user would (a reviewer's, or one copying Keel's marker). */
    add(repo: FakeGithubRepo, issue: number, body: string, login: string, nowMs: number): FakeGithubComment {
        const now = iso(nowMs);
        const c: FakeGithubComment = {
            id: this.seq++,
            owner: repo.owner,
            repo: repo.repo,
            issue,
            body,
            user: login,
            created_at: now,
            updated_at: now,
        };
        this.comments.set(c.id, c);
        return c;
    }

    view(api: string, c: FakeGithubComment): unknown {
        const repoUrl = `${api}/repos/${c.owner}/${c.repo}`;
        return {
            id: c.id,
            node_id: Buffer.from(`012:IssueComment${c.id}`).toString("base64"),
            url: `${repoUrl}/issues/comments/${c.id}`,
            html_url: `https://github.com/${c.owner}/${c.repo}/pull/${c.issue}#issuecomment-${c.id}`,
            body: c.body,
            user: userView(api, c.user),
            created_at: c.created_at,
            updated_at: c.updated_at,
            issue_url: `${repoUrl}/issues/${c.issue}`,
            author_association: "NONE",
            performed_via_github_app: null,
        };
    }

    /** The answer to a request under repos/<owner>/<repo>/issues (the token's rights were checked already). */
    route(repo: FakeGithubRepo, r: CommentRoute): [number, unknown] {
        const { rest, method } = r;
        // issues/comments/<id>
        if (rest[0] === "comments" && rest.length === 2) {
            const c = /^\d+$/.test(rest[1]) ? this.comments.get(Number(rest[1])) : undefined;
            if (!c || c.owner !== repo.owner || c.repo !== repo.repo) throw new HttpError(404, "Not Found");
            if (method === "GET") return [200, this.view(r.api, c)];
            if (method === "PATCH") {
                c.body = this.checkedBody(r);
                c.updated_at = iso(r.nowMs);
                return [200, this.view(r.api, c)];
            }
            throw new HttpError(404, "Not Found");
        }
        // issues/<n>/comments
        if (rest.length === 2 && rest[1] === "comments" && /^\d+$/.test(rest[0])) {
            const issue = Number(rest[0]);
            if (!repo.issues.has(issue)) throw new HttpError(404, "Not Found");
            if (method === "GET") return [200, r.page(r.query, this.of(repo, issue)).map((c) => this.view(r.api, c))];
            if (method === "POST") return [201, this.view(r.api, this.add(repo, issue, this.checkedBody(r), r.login, r.nowMs))];
        }
        throw new HttpError(404, "Not Found");
    }

    private checkedBody(r: CommentRoute): string {
        const body = r.body?.body;
        if (typeof body !== "string")
            throw r.invalid(`Invalid request.\n\nFor 'properties/body', ${JSON.stringify(body)} is not a string.`);
        if ([...body].length > COMMENT_BODY_MAX)
            throw r.invalid("Validation Failed", [
                {
                    resource: "IssueComment",
                    field: "data",
                    code: "unprocessable",
                    message: "Body is too long (maximum is 65536 characters)",
                },
            ]);
        return body;
    }
}
