/**
 * Keel's GitHub deployment statuses (components/vendors/github) against the
 * fake GitHub API (tools/fakeGithub), and the fake against GitHub's own
 * OpenAPI description (@octokit/openapi, generated/api.github.com.json).
 *
 * After every test, every request the fake handled is checked against the
 * spec: its query parameters, the request body against the operation's
 * request schema, the answer against the response schema of its status; an
 * error status the operation does not declare (401, 403, 429, 5xx) must be a
 * basic-error. Two readings of the spec: GitHub sends "" for a status's
 * unset target_url, log_url and environment_url, which the spec marks
 * format uri (with default ""), so "" passes as a uri; and a declared status
 * without a body in the spec (create-deployment's 409) is checked as a
 * basic-error, which is what GitHub sends.
 *
 * The spec (13 MB) is read once, when the first test needs it.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as util from "util";
import { Octokit } from "@octokit/rest";
import {
    GithubApiError,
    GithubRepositoryError,
    parseGithubRepository,
    reportDeployment,
    type DeploymentReport,
    type DeploymentTarget,
    type ReportOptions,
    truncateDescription,
} from "../../components/vendors/github";
import { FakeClock } from "../support/fakeClock";
import { FakeGithub, type LoggedGithubRequest, setGithubEnv } from "../support/fakeGithub";
import { DATE_TIME, OpenApiSpec } from "../support/openapi";

const SHA1 = "1111111111111111111111111111111111111111";
const SHA2 = "2222222222222222222222222222222222222222";
const START = Date.UTC(2026, 0, 2, 3, 4, 5);

let spec: OpenApiSpec | undefined;
/** GitHub's description, parsed and indexed once (lazily: only these tests need it). */
function githubSpec(): OpenApiSpec {
    if (!spec) {
        const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
        spec = new OpenApiSpec(JSON.parse(fs.readFileSync(file, "utf8")), {
            formats: { "date-time": DATE_TIME, uri: /^(https?:\/\/\S+)?$/, int64: true },
        });
    }
    return spec;
}

/** A parameter, following GitHub's $refs into components/parameters. */
function param(index: OpenApiSpec, p: any): { name: string; in: string; required?: boolean; schema?: any } {
    return p.$ref
        ? p.$ref
              .replace(/^#\//, "")
              .split("/")
              .reduce((n: any, k: string) => n[k], index.spec)
        : p;
}

/**
 * Every way a logged request or its answer departs from the spec; [] when
 * none. With invalidBodiesRefused, a request body the spec refuses is fine
 * when the fake answered it 422 (a scenario sending one on purpose).
 */
function specProblems(
    requests: LoggedGithubRequest[],
    seen = new Set<string>(),
    options: { invalidBodiesRefused?: boolean } = {},
): string[] {
    const index = githubSpec();
    const problems: string[] = [];
    for (const r of requests) {
        const template = index.template(r.path);
        const op = template ? index.operation(r.method, template) : undefined;
        if (!template || !op) {
            problems.push(`${r.method} ${r.path}: no such operation in the spec`);
            continue;
        }
        const label = `${r.method} ${template} (${op.operationId}) -> ${r.status}`;
        seen.add(`${op.operationId} ${r.status}`);
        const declared = (op.parameters ?? []).map((p) => param(index, p)).filter((p) => p.in === "query");
        for (const [name, value] of Object.entries(r.query)) {
            const d = declared.find((p) => p.name === name);
            if (!d) problems.push(`${label}: query ${name} is not declared`);
            else if (d.schema?.type === "integer" && !/^\d+$/.test(value))
                problems.push(`${label}: query ${name}=${value} is not an integer`);
        }
        if (r.body !== undefined) {
            const at = index.requestSchema(r.method, template);
            if (!at) problems.push(`${label}: a request body the spec does not declare`);
            else {
                const invalid = index.validate(at, r.body).map((e) => `${label} request: ${e}`);
                // The conformance scenario sends some on purpose: the fake must refuse them (422) as GitHub does.
                if (invalid.length && options.invalidBodiesRefused && r.status === 422) seen.add(`${op.operationId} invalid body refused`);
                else if (invalid.length && options.invalidBodiesRefused)
                    problems.push(`${label}: the fake accepted a body the spec refuses`);
                else problems.push(...invalid);
            }
        }
        if (r.dropped || r.status === undefined) continue;
        const basicError = (body: unknown) => [
            ...index.validate(["components", "schemas", "basic-error"], body).map((e) => `${label} error body: ${e}`),
            ...(typeof (body as { message?: unknown })?.message === "string" ? [] : [`${label}: an error without a message`]),
        ];
        const response = index.responseSchema(r.method, template, r.status);
        if (!response.declared) {
            if (r.status < 400) problems.push(`${label}: a success status the spec does not declare`);
            else problems.push(...basicError(r.response));
        } else if (response.at) problems.push(...index.validate(response.at, r.response).map((e) => `${label} response: ${e}`));
        else if (r.status >= 400) problems.push(...basicError(r.response));
        else if (r.response !== undefined) problems.push(`${label}: a body where the spec declares none`);
    }
    return problems;
}

/** The HTTP status an octokit call ends with (its error's, when it throws). */
async function statusOf(p: Promise<{ status: number }>): Promise<number> {
    try {
        return (await p).status;
    } catch (err) {
        return (err as { status: number }).status;
    }
}

describe("GitHub deployment statuses (components/vendors/github against the fake GitHub API)", function () {
    let fake: FakeGithub;
    let target: DeploymentTarget;
    let sleeps: number[];
    let options: ReportOptions;

    const report = (status: Partial<DeploymentReport> = {}, extra: ReportOptions = {}) =>
        reportDeployment(
            target,
            { environment: "staging", ref: SHA1, state: "in_progress", description: "Deploying", runId: "101", ...status },
            { ...options, ...extra },
        );
    /** The deployments of keel-org/keel via the API, newest first, each with its statuses' states oldest first. */
    const deploymentsSeen = () =>
        fake.deploymentsOf("keel-org/keel").map((d) => ({ id: d.id, env: d.environment, states: d.statuses.map((s) => s.state) }));
    const failure = async (p: Promise<unknown>): Promise<GithubApiError> => {
        try {
            await p;
        } catch (err) {
            assert.ok(err instanceof GithubApiError, `not a GithubApiError: ${String(err)}`);
            return err;
        }
        assert.fail("expected a GithubApiError");
    };

    before(async () => {
        fake = await FakeGithub.start({ clock: new FakeClock({ startMs: START }) });
    });

    after(async () => {
        await fake?.stop();
    });

    beforeEach(() => {
        fake.reset();
        target = { owner: "keel-org", repo: "keel", token: fake.token, baseUrl: fake.url };
        sleeps = [];
        options = { sleep: async (ms) => void sleeps.push(ms), now: () => fake.clock.now(), random: () => 0 };
    });

    afterEach(function () {
        if (this.currentTest?.state !== "passed") return;
        assert.deepEqual(specProblems(fake.requests), [], "requests or answers that depart from GitHub's OpenAPI description");
    });

    it("creates one deployment per run, even when the step is retried, and adds its statuses in order", async () => {
        const first = await report({ logUrl: "https://github.com/keel-org/keel/actions/runs/101" });
        assert.equal(first.created, true);
        fake.clock.advance(60_000);
        // The step is retried: the same report again finds the deployment and does not repeat the status.
        const again = await report({ logUrl: "https://github.com/keel-org/keel/actions/runs/101" });
        assert.deepEqual(again, { ...first, created: false });
        fake.clock.advance(60_000);
        await report({ state: "success", description: "Deployed 1111111", environmentUrl: "https://staging.example.com" });
        assert.deepEqual(deploymentsSeen(), [{ id: first.deploymentId, env: "staging", states: ["in_progress", "success"] }]);

        const creates = fake.mutations(/\/deployments$/);
        assert.equal(creates.length, 1);
        assert.deepEqual(creates[0].body, {
            ref: SHA1,
            task: "deploy",
            environment: "staging",
            description: "Deploying",
            auto_merge: false,
            required_contexts: [],
            payload: { keelRun: "101" },
            transient_environment: false,
        });
        // Newest first through the API, with created_at from the fake's clock.
        const gh = new Octokit({ auth: fake.token, baseUrl: fake.url });
        const { data: statuses } = await gh.rest.repos.listDeploymentStatuses({
            owner: "keel-org",
            repo: "keel",
            deployment_id: first.deploymentId,
        });
        assert.deepEqual(
            statuses.map((s) => [s.state, s.created_at, s.environment_url]),
            [
                ["success", "2026-01-02T03:06:05Z", "https://staging.example.com"],
                ["in_progress", "2026-01-02T03:04:05Z", ""],
            ],
        );
        assert.equal(statuses[1].log_url, "https://github.com/keel-org/keel/actions/runs/101");

        // Another run of the same commit is another deployment.
        const rerun = await report({ runId: "102" });
        assert.equal(rerun.created, true);
        assert.notEqual(rerun.deploymentId, first.deploymentId);
    });

    it("finds a deployment whose create answer was lost instead of making a second", async () => {
        fake.dropResponses("POST", /^\/repos\/keel-org\/keel\/deployments$/);
        const r = await report();
        assert.equal(fake.deploymentsOf("keel-org/keel").length, 1);
        assert.equal(fake.mutations(/\/deployments$/).length, 1, "one create, its answer lost");
        assert.deepEqual(deploymentsSeen(), [{ id: r.deploymentId, env: "staging", states: ["in_progress"] }]);
        assert.equal(sleeps.length, 1);
    });

    it("a status whose answer was lost is not repeated when the POST is retried", async () => {
        // On a deployment this call just created, and on one found.
        fake.dropResponses("POST", /\/statuses$/);
        await report();
        assert.deepEqual(deploymentsSeen()[0].states, ["in_progress"]);
        fake.dropResponses("POST", /\/statuses$/);
        await report({ state: "success" });
        assert.deepEqual(deploymentsSeen()[0].states, ["in_progress", "success"]);
        assert.equal(fake.mutations(/\/statuses$/).length, 2, "each POSTed once, its answer lost");
    });

    it("uses GITHUB_API_URL and GITHUB_RUN_ID when the target and report leave them out", async () => {
        const restore = setGithubEnv({ GITHUB_API_URL: fake.url, GITHUB_RUN_ID: "777" });
        try {
            await reportDeployment(
                { owner: "keel-org", repo: "keel", token: fake.token },
                { environment: "staging", ref: SHA1, state: "success", description: "ok" },
                options,
            );
        } finally {
            restore();
        }
        assert.deepEqual(fake.deploymentsOf("keel-org/keel")[0].payload, { keelRun: "777" });
    });

    it("auto_inactive: a success marks the environment's earlier live deployments inactive, as GitHub documents", async () => {
        await report({ state: "success", runId: "1" });
        await report({ state: "success", runId: "1", environment: "preview" });
        await report({ state: "success", runId: "1", environment: "production" }, { productionEnvironment: true });
        fake.clock.advance(1000);
        await report({ state: "success", runId: "2", ref: SHA2 });
        await report({ state: "success", runId: "2", ref: SHA2, environment: "production" }, { productionEnvironment: true });
        const states = Object.fromEntries(
            fake
                .deploymentsOf("keel-org/keel")
                .map((d) => [`${d.environment} run ${(d.payload as { keelRun: string }).keelRun}`, fake.stateOf(d)]),
        );
        assert.deepEqual(states, {
            "staging run 1": "inactive",
            "preview run 1": "success", // another environment
            "production run 1": "success", // production deployments are left alone ("non-production", the docs say)
            "staging run 2": "success",
            "production run 2": "success",
        });
        // The inactive status came from GitHub's side: Keel posted five statuses.
        assert.equal(fake.mutations(/\/statuses$/).length, 5);
    });

    it("retries 500, 502, 429 and rate limits, waiting what GitHub asks", async () => {
        fake.inject({ method: "GET", path: /\/deployments$/, status: 500 });
        fake.inject({ method: "POST", path: /\/deployments$/, status: 502 });
        fake.inject({ method: "POST", path: /\/statuses$/, status: 429, retryAfter: "3" });
        fake.inject({ method: "POST", path: /\/statuses$/, status: 403, rateLimit: "secondary", retryAfter: "7" });
        fake.inject({ method: "POST", path: /\/statuses$/, status: 403, rateLimit: "secondary" });
        fake.inject({ method: "POST", path: /\/statuses$/, status: 403, rateLimit: "primary", resetInS: 20 });
        const progress: string[] = [];
        await report({}, { onRetry: (m) => progress.push(m), maxAttempts: 5 });
        // Backoff per attempt (random 0: half of 1 s, 2 s...) for 5xx; 3 s, 7 s, a minute, and until the reset for the limits.
        assert.deepEqual(sleeps, [500, 1000, 3000, 7000, 60_000, 20_000]);
        assert.match(progress.join("\n"), /retrying in 3s \(429 rate limited\)/);
        assert.deepEqual(
            deploymentsSeen().map((d) => d.states),
            [["in_progress"]],
        );
        assert.equal(fake.mutations(/\/deployments$/).length, 2, "the 502 and the create");
    });

    it("gives up after maxAttempts, or at once when GitHub asks for a longer wait than Keel gives, with a clear error", async () => {
        fake.inject({ method: "GET", path: /\/deployments$/, status: 500, times: 10 });
        const e = await failure(report());
        assert.equal(sleeps.length, 4);
        assert.equal(e.status, 500);
        assert.match(
            e.message,
            /^GitHub GET \/repos\/keel-org\/keel\/deployments failed while finding or creating the deployment of 111111111111 to staging in keel-org\/keel: 500 Server Error \(still failing after 5 attempts\)/,
        );
        assert.match(e.message, /githubstatus\.com.*re-run the job/);

        fake.clearFaults();
        sleeps.length = 0;
        fake.inject({ method: "GET", path: /\/deployments$/, status: 403, rateLimit: "primary", resetInS: 3600 });
        const limited = await failure(report());
        assert.deepEqual(sleeps, []);
        assert.match(limited.message, /GitHub asks to wait 3600s, more than the 90s Keel waits/);
        assert.match(limited.message, /rate limit for this token is reached/);
    });

    it("401, 403 and 404 are not retried, and say what to fix about the token, the permission or the repository", async () => {
        const wrong = await failure(
            reportDeployment(
                { ...target, token: "ghp_wrong" },
                { environment: "staging", ref: SHA1, state: "success", description: "x" },
                options,
            ),
        );
        assert.equal(wrong.status, 401);
        assert.match(wrong.message, /401 Bad credentials/);
        assert.match(wrong.message, /GITHUB_TOKEN/);
        const none = await failure(
            reportDeployment({ ...target, token: "" }, { environment: "staging", ref: SHA1, state: "success", description: "x" }, options),
        );
        assert.match(none.message, /401 Requires authentication.*GITHUB_TOKEN/);

        const readOnly = fake.addToken({ deployments: "read" });
        const denied = await failure(
            reportDeployment(
                { ...target, token: readOnly },
                { environment: "staging", ref: SHA1, state: "success", description: "x" },
                options,
            ),
        );
        assert.equal(denied.status, 403);
        assert.match(denied.message, /POST \/repos\/keel-org\/keel\/deployments .*403 Resource not accessible by integration/);
        assert.match(denied.message, /permissions: deployments: write/);

        const elsewhere = fake.addToken({ deployments: "write", repos: ["someone/else"] });
        const hidden = await failure(
            reportDeployment(
                { ...target, token: elsewhere },
                { environment: "staging", ref: SHA1, state: "success", description: "x" },
                options,
            ),
        );
        assert.equal(hidden.status, 404);
        assert.match(hidden.message, /keel-org\/keel does not exist or this token cannot see it. Check GITHUB_REPOSITORY/);

        const badRef = await failure(report({ ref: "not-a-commit" }));
        assert.match(badRef.message, /422 No ref found for: not-a-commit.*ref is a commit pushed/);
        assert.deepEqual(sleeps, []);
        assert.equal(fake.deployments.size, 0);
    });

    it("cuts the description to GitHub's 140 characters with …, counting characters, not UTF-16 units", async () => {
        const long = "🚀".repeat(150);
        await report({ description: long });
        const d = fake.deploymentsOf("keel-org/keel")[0];
        assert.equal([...d.statuses[0].description].length, 140);
        assert.ok(d.statuses[0].description.endsWith("🚀…"));
        assert.equal(truncateDescription("x".repeat(140)), "x".repeat(140));
        assert.equal(truncateDescription("x".repeat(141)), "x".repeat(139) + "…");
        // And the fake refuses what GitHub refuses.
        const gh = new Octokit({ auth: fake.token, baseUrl: fake.url });
        const status = await statusOf(
            gh.rest.repos.createDeploymentStatus({
                owner: "keel-org",
                repo: "keel",
                deployment_id: d.id,
                state: "success",
                description: "x".repeat(141),
            }),
        );
        assert.equal(status, 422);
    });

    it("never puts the token in an error, even where GitHub echoes it", async () => {
        const errors: GithubApiError[] = [];
        fake.inject({ method: "GET", path: /\/deployments$/, status: 500, times: 5, message: `internal error for token ${fake.token}` });
        errors.push(await failure(report()));
        errors.push(
            await failure(
                reportDeployment(
                    { ...target, token: `${fake.token}x` },
                    { environment: "s", ref: SHA1, state: "success", description: "x" },
                    options,
                ),
            ),
        );
        errors.push(await failure(report({ ref: fake.token })));
        errors.push(
            await failure(
                reportDeployment(
                    { ...target, baseUrl: "http://127.0.0.1:9" },
                    { environment: "s", ref: SHA1, state: "success", description: "x" },
                    { ...options, maxAttempts: 1 },
                ),
            ),
        );
        for (const e of errors) {
            for (const text of [e.message, e.stack ?? "", String(e), util.inspect(e), JSON.stringify(e)])
                assert.ok(!text.includes(fake.token), `the token is in: ${text}`);
        }
        assert.match(errors[0].message, /internal error for token \[redacted\]/);
        assert.match(errors[3].message, /could not be reached/);
    });

    it("parseGithubRepository reads owner/repo and says what is wrong with anything else", () => {
        assert.deepEqual(parseGithubRepository("keel-org/keel.js"), { owner: "keel-org", repo: "keel.js" });
        const restore = setGithubEnv({ GITHUB_REPOSITORY: "acme/shop" });
        try {
            assert.deepEqual(parseGithubRepository(), { owner: "acme", repo: "shop" });
        } finally {
            restore();
        }
        for (const bad of ["", "acme", "acme/shop/extra", "-acme/shop", "acme/", "acme/..", "https://github.com/acme/shop"]) {
            assert.throws(
                () => parseGithubRepository(bad),
                (e: Error) => e instanceof GithubRepositoryError && /GITHUB_REPOSITORY.*owner\/repo/.test(e.message),
                bad,
            );
        }
        const unset = setGithubEnv({ GITHUB_REPOSITORY: undefined });
        try {
            assert.throws(() => parseGithubRepository(), /GITHUB_REPOSITORY is not set/);
        } finally {
            unset();
        }
    });
});

describe("fake GitHub deployments API against GitHub's OpenAPI description (api.github.com.json)", function () {
    let fake: FakeGithub;
    let gh: Octokit;
    const repo = { owner: "keel-org", repo: "keel" };

    before(async () => {
        fake = await FakeGithub.start({ clock: new FakeClock({ startMs: START, tickPerRequestMs: 1000 }) });
        gh = new Octokit({ auth: fake.token, baseUrl: fake.url });
    });

    after(async () => {
        await fake?.stop();
    });

    beforeEach(() => fake.reset());

    it("maps paths to the spec's templates and its validators reject wrong shapes", () => {
        const index = githubSpec();
        assert.equal(index.template("/repos/o/r/deployments/7/statuses"), "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses");
        assert.equal(index.template("/repos/o/r/deployments/7"), "/repos/{owner}/{repo}/deployments/{deployment_id}");
        const deployment = index.responseSchema("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}", 200).at!;
        assert.ok(index.validate(deployment, { id: "7", sha: SHA1 }).some((e) => /must have required property 'node_id'/.test(e)));
        const status = index.requestSchema("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")!;
        assert.deepEqual(index.validate(status, { state: "success", auto_inactive: true }), []);
        assert.notDeepEqual(index.validate(status, { state: "done" }), []);
        const created = index.responseSchema("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", 201).at!;
        assert.ok(
            index.validate(created, { state: "success", description: "x".repeat(141) }).some((e) => /maxLength/.test(e) || /140/.test(e)),
        );
    });

    it("every operation, success and error, answers as the spec says (checked request by request)", async () => {
        fake.addRepo("keel-org/keel", { main: SHA1 });
        const seen = new Set<string>();
        type Deployment = {
            id: number;
            sha: string;
            created_at: string;
            payload: unknown;
            environment: string;
            production_environment?: boolean;
        };
        const create = async (params: Parameters<typeof gh.rest.repos.createDeployment>[0]) =>
            (await gh.rest.repos.createDeployment(params)).data as Deployment;
        // Creates: a branch, a sha with a JSON string payload, a transient preview; refused: unknown ref, bad body, failing contexts.
        const a = await create({
            ...repo,
            ref: "main",
            environment: "staging",
            auto_merge: false,
            required_contexts: [],
        });
        assert.equal(a.sha, SHA1);
        assert.equal(a.created_at, "2026-01-02T03:04:06Z", "the fake's clock, one tick per request");
        const b = await create({
            ...repo,
            ref: SHA2,
            payload: '{"keelRun":"5"}',
            task: "deploy:migrations",
            required_contexts: [],
        });
        assert.deepEqual([b.payload, b.environment, b.production_environment], [{ keelRun: "5" }, "production", true]);
        const c = await create({
            ...repo,
            ref: SHA2,
            environment: "pr-1",
            transient_environment: true,
            required_contexts: [],
        });
        assert.equal(await statusOf(gh.rest.repos.createDeployment({ ...repo, ref: "nope" })), 422);
        assert.equal(
            await statusOf(gh.request("POST /repos/{owner}/{repo}/deployments", { ...repo, ref: SHA1, auto_merge: "yes" } as any)),
            422,
        );
        fake.repos.get("keel-org/keel")!.failingContexts = ["ci/test"];
        assert.equal(await statusOf(gh.rest.repos.createDeployment({ ...repo, ref: SHA1 })), 409);
        assert.equal(await statusOf(gh.rest.repos.createDeployment({ ...repo, ref: SHA1, required_contexts: ["ci/lint"] })), 201);

        // Lists and filters, newest first, pages.
        const ids = async (q: Record<string, unknown>) => (await gh.rest.repos.listDeployments({ ...repo, ...q })).data.map((d) => d.id);
        assert.deepEqual(await ids({}), [4, 3, 2, 1]);
        assert.deepEqual(await ids({ environment: "staging" }), [1]);
        assert.deepEqual(await ids({ sha: SHA2 }), [3, 2]);
        assert.deepEqual(await ids({ ref: "main" }), [1]);
        assert.deepEqual(await ids({ task: "deploy:migrations" }), [2]);
        assert.deepEqual(await ids({ per_page: 3, page: 2 }), [1]);
        assert.deepEqual((await gh.rest.repos.getDeployment({ ...repo, deployment_id: 2 })).data.task, "deploy:migrations");
        assert.equal(await statusOf(gh.rest.repos.getDeployment({ ...repo, deployment_id: 99 })), 404);

        // Statuses: environment moves the deployment; too long a description; list newest first; get one; 404s.
        const s1 = await gh.rest.repos.createDeploymentStatus({
            ...repo,
            deployment_id: a.id,
            state: "in_progress",
            log_url: "https://ci.example/1",
        });
        assert.equal(s1.data.target_url, "https://ci.example/1");
        await gh.rest.repos.createDeploymentStatus({
            ...repo,
            deployment_id: a.id,
            state: "success",
            environment_url: "https://s.example",
            auto_inactive: false,
        });
        await gh.rest.repos.createDeploymentStatus({ ...repo, deployment_id: c.id, state: "success", environment: "pr-1-renamed" });
        assert.equal((await gh.rest.repos.getDeployment({ ...repo, deployment_id: c.id })).data.environment, "pr-1-renamed");
        assert.equal(
            await statusOf(
                gh.rest.repos.createDeploymentStatus({ ...repo, deployment_id: a.id, state: "success", description: "é".repeat(141) }),
            ),
            422,
        );
        assert.equal(
            await statusOf(
                gh.request("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", {
                    ...repo,
                    deployment_id: a.id,
                    state: "done",
                } as any),
            ),
            422,
        );
        const listed = await gh.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: a.id });
        assert.deepEqual(
            listed.data.map((s) => s.state),
            ["success", "in_progress"],
        );
        assert.equal(
            (await gh.rest.repos.getDeploymentStatus({ ...repo, deployment_id: a.id, status_id: s1.data.id })).data.state,
            "in_progress",
        );
        assert.equal(await statusOf(gh.rest.repos.getDeploymentStatus({ ...repo, deployment_id: a.id, status_id: 999 })), 404);
        assert.equal(await statusOf(gh.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: 99 })), 404);

        // Deletes: an active deployment is refused unless it is alone in its environment; an inactive one goes.
        const a2 = await create({ ...repo, ref: SHA2, environment: "staging", required_contexts: [] });
        assert.equal(await statusOf(gh.rest.repos.deleteDeployment({ ...repo, deployment_id: a.id })), 422);
        await gh.rest.repos.createDeploymentStatus({ ...repo, deployment_id: a.id, state: "inactive" });
        assert.equal(await statusOf(gh.rest.repos.deleteDeployment({ ...repo, deployment_id: a.id })), 204);
        assert.equal(await statusOf(gh.rest.repos.deleteDeployment({ ...repo, deployment_id: a2.id })), 204);

        // Auth: Bearer works; none, unknown, read-only, no access, another repository.
        const as = (auth: string | undefined) => new Octokit({ auth, baseUrl: fake.url });
        assert.equal(
            await statusOf(as(undefined).rest.repos.listDeployments({ ...repo, headers: { authorization: `Bearer ${fake.token}` } })),
            200,
        );
        assert.equal(await statusOf(as(undefined).rest.repos.listDeployments(repo)), 401);
        assert.equal(await statusOf(as("ghp_unknown").rest.repos.listDeployments(repo)), 401);
        const reader = fake.addToken({ deployments: "read" });
        assert.equal(await statusOf(as(reader).rest.repos.listDeployments(repo)), 200);
        assert.equal(await statusOf(as(reader).rest.repos.createDeployment({ ...repo, ref: SHA1 })), 403);
        const blind = fake.addToken({ deployments: "none" });
        assert.equal(await statusOf(as(blind).rest.repos.listDeployments(repo)), 404);
        assert.equal(await statusOf(as(blind).rest.repos.createDeploymentStatus({ ...repo, deployment_id: 2, state: "success" })), 403);
        assert.equal(await statusOf(gh.rest.repos.listDeployments({ owner: "keel-org", repo: "missing" })), 404);

        // Injected faults, with GitHub's headers.
        fake.inject({ method: "GET", path: /\/deployments$/, status: 500 });
        fake.inject({ method: "GET", path: /\/deployments$/, status: 502 });
        fake.inject({ method: "GET", path: /\/deployments$/, status: 429, retryAfter: "1" });
        fake.inject({ method: "GET", path: /\/deployments$/, status: 403, rateLimit: "secondary", retryAfter: "2" });
        fake.inject({ method: "GET", path: /\/deployments$/, status: 403, rateLimit: "primary", resetInS: 30 });
        const answers = [];
        for (let i = 0; i < 5; i++) {
            try {
                await gh.rest.repos.listDeployments(repo);
            } catch (err) {
                const e = err as { status: number; response: { headers: Record<string, string> } };
                answers.push([e.status, e.response.headers["retry-after"], e.response.headers["x-ratelimit-remaining"]]);
            }
        }
        assert.deepEqual(answers, [
            [500, undefined, undefined],
            [502, undefined, undefined],
            [429, "1", undefined],
            [403, "2", undefined],
            [403, undefined, "0"],
        ]);
        assert.equal(await statusOf(gh.rest.repos.listDeployments(repo)), 200, "the faults are used up");
        assert.equal(fake.requests.filter((r) => r.injected).length, 5);

        assert.deepEqual(specProblems(fake.requests, seen, { invalidBodiesRefused: true }), []);
        const expected = [
            "repos/create-deployment 201",
            "repos/create-deployment 409",
            "repos/create-deployment 422",
            "repos/create-deployment 403",
            "repos/list-deployments 200",
            "repos/list-deployments 401",
            "repos/list-deployments 404",
            "repos/list-deployments 429",
            "repos/list-deployments 500",
            "repos/list-deployments 502",
            "repos/get-deployment 200",
            "repos/get-deployment 404",
            "repos/delete-deployment 204",
            "repos/delete-deployment 422",
            "repos/create-deployment-status 201",
            "repos/create-deployment-status 403",
            "repos/create-deployment-status 422",
            "repos/list-deployment-statuses 200",
            "repos/list-deployment-statuses 404",
            "repos/get-deployment-status 200",
            "repos/get-deployment-status 404",
            "repos/create-deployment invalid body refused",
            "repos/create-deployment-status invalid body refused",
        ];
        assert.deepEqual(
            expected.filter((k) => !seen.has(k)),
            [],
            "answers the scenario did not produce",
        );
    });

    it("checks the fake's answers for real: a wrong shape is caught", () => {
        const entry: LoggedGithubRequest = {
            method: "GET",
            path: "/repos/keel-org/keel/deployments/1",
            query: {},
            status: 200,
            response: { id: 1, sha: SHA1 },
            atMs: 0,
        };
        assert.ok(specProblems([entry]).some((p) => /repos\/get-deployment.*required property/.test(p)));
        assert.ok(specProblems([{ ...entry, status: 401, response: { nope: true } }]).some((p) => /without a message/.test(p)));
        assert.ok(
            specProblems([{ ...entry, query: { colour: "red" }, response: undefined, status: 404 }]).some((p) =>
                /query colour is not declared/.test(p),
            ),
        );
    });
});
