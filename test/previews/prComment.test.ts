/**
 * keel pr comment (scripts/prComment.ts, components/vendors/github/comments.ts) against the fake GitHub API
 * (tools/fakeGithub): one comment per pull request, edited on every run; the fake's answers checked against
 * GitHub's OpenAPI description (@octokit/openapi).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PREVIEW_MARKER } from "../../components/previews/comment";
import type { PreviewSummary } from "../../components/previews/summary";
import { GithubApiError, upsertMarkedComment } from "../../components/vendors/github";
import { prComment } from "../../scripts/prComment";
import { FakeGithub } from "../support/fakeGithub";
import { keel } from "../support/keel";
import { DATE_TIME, OpenApiSpec } from "../support/openapi";
import { tempDir } from "../support/tempDir";
import { SUMMARY } from "../support/previewSummary";

const REPO = "acme/shop";

describe("keel pr comment (against the fake GitHub API)", function () {
    let fake: FakeGithub;
    let root: string;
    let out: string;

    before(async () => {
        fake = await FakeGithub.start({ repos: [REPO] });
    });
    after(async () => fake.stop());
    beforeEach(() => {
        fake.reset();
        fake.addIssue(REPO, 12);
        root = tempDir("keel-pr-comment-");
        out = "";
    });

    const write = (s: PreviewSummary, file = "preview.json") => fs.writeFileSync(path.join(root, file), JSON.stringify(s));
    const env = (over: Record<string, string | undefined> = {}) => ({
        GITHUB_TOKEN: fake.token,
        GITHUB_API_URL: fake.url,
        GITHUB_REPOSITORY: REPO,
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_RUN_ID: "77",
        ...over,
    });
    const run = (over: Record<string, string | undefined> = {}, pr = "12") =>
        prComment(
            { pr, summary: "preview.json" },
            { root, env: env(over), out: (t) => void (out += t), github: { sleep: async () => undefined, random: () => 0 } },
        );
    const comments = () => fake.issueComments.of(fake.repos.get(REPO)!, 12);

    it("creates the comment once, then edits that one: two runs, one comment", async () => {
        write(SUMMARY);
        assert.equal(await run(), 0);
        assert.equal(comments().length, 1);
        const first = comments()[0];
        assert.ok(first.body.startsWith(`${PREVIEW_MARKER}\n`));
        assert.match(first.body, /\[this run\]\(https:\/\/github\.com\/acme\/shop\/actions\/runs\/77\)/);
        assert.match(out, /preview comment on #12 created: https:\/\/github\.com\/acme\/shop\/pull\/12#issuecomment-1/);

        // A reviewer's comment in between, and a push that changes the preview.
        fake.issueComments.add(fake.repos.get(REPO)!, 12, "looks good", "octocat", fake.clock.now());
        write({ ...SUMMARY, expiresAt: "2026-12-15T08:00:00Z", migrations: [] });
        out = "";
        assert.equal(await run(), 0);
        const after = comments();
        assert.equal(after.length, 2, "the reviewer's and Keel's: no second preview comment");
        assert.equal(after[0].id, first.id);
        assert.match(after[0].body, /Expires\*\*: 2026-12-15 08:00 UTC/);
        assert.match(after[0].body, /adds: 0/);
        assert.equal(after[1].body, "looks good", "another's comment is left alone");
        assert.match(out, /preview comment on #12 edited/);
        const writes = fake.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
        assert.deepEqual(writes, ["POST /repos/acme/shop/issues/12/comments", "PATCH /repos/acme/shop/issues/comments/1"]);

        // The same summary again: nothing to write.
        out = "";
        assert.equal(await run(), 0);
        assert.match(out, /unchanged/);
        assert.equal(fake.requests.filter((r) => r.method !== "GET").length, 2);
    });

    it("finds its comment beyond the first page of a long conversation", async () => {
        const repo = fake.repos.get(REPO)!;
        for (let i = 0; i < 150; i++) fake.issueComments.add(repo, 12, `comment ${i}`, "octocat", fake.clock.now());
        const mine = fake.issueComments.add(repo, 12, `${PREVIEW_MARKER}\nold`, "github-actions[bot]", fake.clock.now());
        write(SUMMARY);
        assert.equal(await run(), 0);
        assert.equal(comments().length, 151);
        assert.notEqual(fake.issueComments.comments.get(mine.id)!.body, `${PREVIEW_MARKER}\nold`);
        // A comment that only mentions the marker further down is not Keel's.
        const other = fake.issueComments.add(repo, 13, `see ${PREVIEW_MARKER}`, "octocat", fake.clock.now());
        fake.addIssue(REPO, 13);
        write({ ...SUMMARY, pr: 13, stack: "pr-13" });
        assert.equal(await run({}, "13"), 0);
        assert.equal(fake.issueComments.comments.get(other.id)!.body, `see ${PREVIEW_MARKER}`);
        assert.equal(fake.issueComments.of(repo, 13).length, 2);
    });

    it("retries a 502 and a lost create without making a second comment", async () => {
        write(SUMMARY);
        fake.inject({ method: "GET", path: /\/issues\/12\/comments$/, status: 502 });
        fake.dropResponses("POST", /\/issues\/12\/comments$/);
        assert.equal(await run(), 0);
        assert.equal(comments().length, 1);
        assert.match(out, /GitHub: retrying in/);
    });

    it("says what is wrong, and the fix: no token, a token that may not comment, a wrong --pr or summary", async () => {
        write(SUMMARY);
        await assert.rejects(run({ GITHUB_TOKEN: undefined }), /GITHUB_TOKEN is not set[\s\S]*pull-requests: write/);
        const readOnly = fake.addToken({ deployments: "none", pullRequests: "read" });
        await assert.rejects(run({ GITHUB_TOKEN: readOnly }), (e: unknown) => {
            assert.ok(e instanceof GithubApiError);
            assert.equal(e.status, 403);
            assert.match(e.message, /permissions: pull-requests: write/);
            assert.ok(!e.message.includes(readOnly));
            return true;
        });
        assert.equal(comments().length, 0);
        await assert.rejects(run({}, "0"), /--pr '0' is not a pull request number/);
        await assert.rejects(run({}, "13"), /summary of pull request 12, not of --pr 13/);
        fs.writeFileSync(path.join(root, "preview.json"), "{}");
        await assert.rejects(run(), /preview\.json is not a preview summary: version/);
        fs.rmSync(path.join(root, "preview.json"));
        await assert.rejects(run(), /preview\.json does not exist\. Fix: pass the file `keel pr up --pr 12 --summary <file>` wrote/);
    });

    it("answers as GitHub's OpenAPI description says (list, create, edit)", async () => {
        write(SUMMARY);
        await run();
        write({ ...SUMMARY, migrations: [] });
        await run();
        const spec = new OpenApiSpec(
            JSON.parse(fs.readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.json"), "utf8")),
            {
                formats: { "date-time": DATE_TIME, uri: /^(https?:\/\/\S+)?$/, int64: true },
            },
        );
        const seen: string[] = [];
        for (const r of fake.requests) {
            const template = spec.template(r.path)!;
            const op = spec.operation(r.method, template)!;
            seen.push(`${op.operationId} ${r.status}`);
            if (r.body !== undefined) assert.deepEqual(spec.validate(spec.requestSchema(r.method, template)!, r.body), [], op.operationId);
            const response = spec.responseSchema(r.method, template, r.status!);
            assert.ok(response.declared && response.at, `${op.operationId} ${r.status}`);
            assert.deepEqual(spec.validate(response.at, r.response), [], `${op.operationId} ${r.status}`);
        }
        assert.deepEqual([...new Set(seen)].sort(), ["issues/create-comment 201", "issues/list-comments 200", "issues/update-comment 200"]);
    });

    it("refuses a body that does not start with the marker (a bug, never sent)", async () => {
        await assert.rejects(
            upsertMarkedComment(
                { owner: "acme", repo: "shop", token: fake.token, baseUrl: fake.url },
                { issue: 12, marker: PREVIEW_MARKER, body: "hi" },
            ),
            /does not start with/,
        );
        assert.equal(fake.requests.length, 0);
    });

    it("keel pr comment --print prints the body without GitHub; a missing flag is a usage error", async () => {
        write(SUMMARY);
        const r = await keel(["pr", "comment", "--pr", "12", "--summary", "preview.json", "--print"], root, {});
        assert.equal(r.code, 0, r.err);
        assert.ok(r.out.startsWith(PREVIEW_MARKER));
        const bad = await keel(["pr", "comment", "--pr", "x", "--summary", "preview.json"], root, {});
        assert.equal(bad.code, 2);
        assert.match(bad.err, /--pr 'x' is not a pull request number[\s\S]*Usage: keel pr comment/);
        assert.equal((await keel(["pr", "comment", "--pr", "12"], root, {})).code, 2);
    });
});
