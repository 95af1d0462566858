/**
 * The Vercel client over HTTP against the local fake (listing with
 * pagination, rollback candidates, a confirmed rollback, retries as the policy
 * says, errors that name the token but never hold it, a Hobby refusal planned
 * before any write); the fake held to Vercel's published contract (its
 * answers read exactly by @vercel/sdk's models, and the SDK itself driven
 * against it); and the pure planners as properties (fast-check).
 *
 * Time: the client's clock is the fake's (`now`), and its sleeps move that
 * clock instead of waiting, so waits are read off what the client scheduled.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as util from "util";
import {
    applyFrontendRollback,
    checkFrontendRollback,
    DEFAULT_VERCEL_API_URL,
    resolveVercelCredentials,
    vercelClient,
    VercelClient,
    VercelClientOptions,
} from "../../components/vendors/vercel";
import { DeploymentTimes, frontendRollbackPlan, liveProductionAt, liveSince } from "../../components/vendors/vercelDeployments";
import { FakeVercel, FakeVercelDeployment, FakeVercelProject, setVercelEnv } from "../support/fakeVercel";
import { contractProblems, loadVercelSdk } from "../support/vercelSdk";

const T0 = Date.parse("2025-03-01T00:00:00Z");
const HOUR = 3_600_000;
const BUILD = 5 * 60_000;

describe("Vercel client (against the fake Vercel API)", () => {
    let fake: FakeVercel;
    let progress: string[];
    let warnings: string[];
    let slept: number[];

    const client = (extra: Partial<VercelClientOptions> = {}): VercelClient =>
        vercelClient({
            token: fake.token,
            baseUrl: fake.url,
            policy: { baseDelayMs: 10 },
            onProgress: (m) => progress.push(m),
            onWarn: (m) => warnings.push(m),
            now: () => fake.clock.now(),
            sleep: async (ms) => {
                slept.push(ms);
                fake.clock.advance(ms);
            },
            random: () => 0.5,
            ...extra,
        });

    /** A project with `n` production deployments an hour apart, each ready after 5 minutes; the newest serves production. */
    function seed(n: number, name = "web"): { project: FakeVercelProject; deployments: FakeVercelDeployment[] } {
        const project = fake.addProject({ name });
        const deployments = Array.from({ length: n }, (_, i) =>
            fake.addDeployment(project.id, { created: T0 + i * HOUR, ready: T0 + i * HOUR + BUILD, meta: { githubCommitSha: `sha${i}` } }),
        );
        return { project, deployments };
    }

    before(async () => {
        fake = await FakeVercel.start();
    });
    after(() => fake.stop());
    beforeEach(() => {
        fake.reset();
        fake.plan = "pro";
        fake.teamId = undefined;
        progress = [];
        warnings = [];
        slept = [];
    });

    describe("credentials", () => {
        it("takes keel:vercelApiToken over VERCEL_API_TOKEN, and the URL from config, VERCEL_API_URL or Vercel's", () => {
            assert.deepEqual(resolveVercelCredentials({ configApiToken: "cfg", env: { VERCEL_API_TOKEN: "env" } }), {
                token: "cfg",
                baseUrl: DEFAULT_VERCEL_API_URL,
                source: "keel:vercelApiToken",
            });
            assert.deepEqual(resolveVercelCredentials({ env: { VERCEL_API_TOKEN: " env ", VERCEL_API_URL: "http://127.0.0.1:9/" } }), {
                token: "env",
                baseUrl: "http://127.0.0.1:9",
                source: "VERCEL_API_TOKEN",
            });
            assert.equal(DEFAULT_VERCEL_API_URL, "https://api.vercel.com");
            assert.throws(
                () => vercelClient({ env: {} }),
                (e: Error) =>
                    e.name === "VercelCredentialsError" &&
                    e.message.includes("export VERCEL_API_TOKEN=...") &&
                    e.message.includes("keel:vercelApiToken"),
            );
        });

        it("reads the token and base URL from VERCEL_API_TOKEN and VERCEL_API_URL when none is passed", async () => {
            const { project } = seed(1);
            const api = vercelClient({ env: { VERCEL_API_TOKEN: fake.token, VERCEL_API_URL: fake.url } });
            assert.equal(api.baseUrl, fake.url);
            assert.equal((await api.getProject(project.id)).id, project.id);
            assert.equal(fake.requests[0].authorization, `Bearer ${fake.token}`);
        });
    });

    describe("reading", () => {
        it("lists every READY production deployment newest first, following pagination.next as until", async () => {
            const { project, deployments } = seed(250);
            // Neither a preview nor a failed build is a production deployment that could be put back.
            fake.addDeployment(project.id, { created: T0 - HOUR, target: null });
            fake.addDeployment(project.id, { created: T0 - 2 * HOUR, state: "ERROR" });
            const other = seed(3, "docs");
            const listed = await client().listProductionDeployments(project.id);
            assert.deepEqual(
                listed.map((d) => d.uid),
                [...deployments].reverse().map((d) => d.uid),
            );
            const pages = fake.requests.filter((r) => r.path === "/v6/deployments");
            assert.equal(pages.length, 3);
            for (const r of pages) {
                assert.equal(r.query.projectId, project.id);
                assert.equal(r.query.target, "production");
                assert.equal(r.query.state, "READY");
                assert.equal(r.query.limit, "100");
                assert.equal(r.query.rollbackCandidate, undefined);
            }
            assert.equal(pages[0].query.until, undefined);
            assert.equal(pages[1].query.until, String(pages[0].response.pagination.next));
            assert.equal(pages[2].query.until, String(pages[1].response.pagination.next));
            assert.equal(pages[2].response.pagination.next, null);
            assert.equal((await client().listProductionDeployments(other.project.id)).length, 3);
        });

        it("lists rollback candidates: on Pro every deployment that served production but the current one, on Hobby only the previous one", async () => {
            const { project, deployments } = seed(5);
            const staged = fake.addDeployment(project.id, { created: T0 + 10 * HOUR, promote: false });
            const api = client();
            const pro = await api.listProductionDeployments(project.id, { rollbackCandidate: true, pageSize: 2 });
            assert.deepEqual(
                pro.map((d) => d.uid),
                deployments
                    .slice(0, 4)
                    .reverse()
                    .map((d) => d.uid),
            );
            assert.ok(pro.every((d) => d.isRollbackCandidate === true && d.readySubstate === "PROMOTED"));
            assert.ok(fake.requests.every((r) => r.query.rollbackCandidate === "true" && r.query.limit === "2"));
            const all = await api.listProductionDeployments(project.id);
            assert.equal(all.find((d) => d.uid === staged.uid)?.readySubstate, "STAGED", "it never served production");
            fake.plan = "hobby";
            assert.deepEqual(
                (await api.listProductionDeployments(project.id, { rollbackCandidate: true })).map((d) => d.uid),
                [deployments[3].uid],
            );
        });

        it("reads the project and the deployment serving production, with teamId on every request", async () => {
            fake.teamId = "team_keel";
            const { project, deployments } = seed(2);
            const api = client({ teamId: "team_keel" });
            const read = await api.getProject(project.name);
            assert.equal(read.id, project.id);
            const production = await api.productionDeployment(project.id);
            assert.equal(production?.id, deployments[1].uid);
            assert.equal(production?.plan, "pro");
            assert.equal(production?.readyAt, deployments[1].ready);
            assert.equal((await api.listProductionDeployments(project.id)).length, 2);
            assert.ok(fake.requests.every((r) => r.query.teamId === "team_keel"));
        });
    });

    describe("rollback", () => {
        it("rolls back and confirms by reading the project until production is the deployment, then warns about production domains", async () => {
            const { project, deployments } = seed(4);
            fake.rollbackReadsToComplete = 2;
            const back = await client().rollback(project.id, deployments[1].uid, { intervalMs: 1500 });
            assert.equal(back.targets?.production?.id, deployments[1].uid);
            assert.equal(fake.production(project.id)?.uid, deployments[1].uid);
            assert.deepEqual(
                fake.requests.map((r) => `${r.method} ${r.path}`),
                [
                    `GET /v9/projects/${project.id}`,
                    `POST /v9/projects/${project.id}/rollback/${deployments[1].uid}`,
                    `GET /v9/projects/${project.id}`,
                    `GET /v9/projects/${project.id}`,
                    `GET /v9/projects/${project.id}`,
                ],
            );
            assert.deepEqual(fake.requests[1].body, {});
            // Two reads still in progress, a wait before each next one, then confirmed.
            assert.deepEqual(slept, [1500, 1500]);
            const what = `rollback of Vercel project ${project.id} to ${deployments[1].uid}`;
            assert.deepEqual(progress, [
                `${what}: requested (production was ${deployments[3].uid})`,
                `${what}: production is still ${deployments[3].uid} (in-progress); check 1 of 30`,
                `${what}: production is still ${deployments[3].uid} (in-progress); check 2 of 30`,
                `${what}: confirmed, production is ${deployments[1].uid} (check 3 of 30)`,
            ]);
            assert.equal(back.lastAliasRequest?.jobStatus, "succeeded");
            assert.equal(warnings.length, 1);
            assert.match(warnings[0], /turned off automatic assignment of production domains for project web/);
            assert.match(warnings[0], /vercel promote/);
            // A new production deployment now waits to be promoted, as on Vercel.
            fake.addDeployment(project.id, { created: T0 + 10 * HOUR });
            assert.equal(fake.production(project.id)?.uid, deployments[1].uid);
        });

        it("sends nothing when the deployment already serves production", async () => {
            const { project, deployments } = seed(2);
            const same = await client().rollback(project.id, deployments[1].uid);
            assert.equal(same.targets?.production?.id, deployments[1].uid);
            assert.deepEqual(fake.mutations(), []);
            assert.match(progress[0], /already serves production; nothing to do$/);
        });

        it("fails when Vercel reports the rollback failed, and when it is not confirmed within the attempts", async () => {
            const { project, deployments } = seed(3);
            fake.failNextRollback();
            await assert.rejects(client().rollback(project.id, deployments[0].uid, { intervalMs: 10 }), (e: any) => {
                assert.equal(e.name, "VercelRollbackError");
                assert.match(e.message, new RegExp(`to ${deployments[0].uid} failed: production is still ${deployments[2].uid}\\.`));
                return true;
            });
            assert.equal(fake.production(project.id)?.uid, deployments[2].uid);
            fake.rollbackReadsToComplete = Infinity;
            slept = [];
            await assert.rejects(client().rollback(project.id, deployments[1].uid, { attempts: 3, intervalMs: 10 }), (e: any) => {
                assert.equal(e.name, "VercelRollbackError");
                assert.match(
                    e.message,
                    /is not confirmed after 3 reads of the project 10ms apart: production is still dpl_\w+\. It may still finish/,
                );
                return true;
            });
            assert.deepEqual(slept, [10, 10], "no wait after the last read");
        });

        it("after a lost answer to the request, reads the project instead of sending it again", async () => {
            const { project, deployments } = seed(3);
            fake.dropResponses("POST", /\/rollback\//);
            const back = await client().rollback(project.id, deployments[1].uid, { intervalMs: 10 });
            assert.equal(back.targets?.production?.id, deployments[1].uid);
            assert.equal(fake.mutations().length, 1, "the rollback was sent once");
            assert.ok(progress.some((m) => /the answer to the request was lost/.test(m)));
            // A 500 is not repeated either; the project shows the rollback never happened.
            fake.inject({ method: "POST", path: /\/rollback\//, status: 500 });
            await assert.rejects(client().rollback(project.id, deployments[0].uid, { intervalMs: 10 }), (e: any) => {
                assert.equal(e.name, "VercelApiError");
                assert.equal(e.status, 500);
                assert.equal(e.mayHaveBeenProcessed, false);
                assert.match(e.message, /Vercel shows no rollback to dpl_\w+, so it was not carried out: run it again$/);
                return true;
            });
            assert.equal(fake.mutations().length, 2);
        });
    });

    describe("retries", () => {
        it("waits out a 429 honouring Retry-After, then succeeds, reporting the retry", async () => {
            const { project } = seed(2);
            fake.inject({ method: "GET", path: /^\/v6\/deployments$/, status: 429, retryAfter: "3" });
            assert.equal((await client().listProductionDeployments(project.id)).length, 2);
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [429, 200],
            );
            assert.deepEqual(slept, [3000]);
            assert.deepEqual(progress, ["Vercel API GET /v6/deployments: retrying in 3s (429 Too Many Requests)"]);
        });

        it("without Retry-After, waits until X-RateLimit-Reset (on the fake's clock)", async () => {
            const { project } = seed(1);
            fake.rateLimitNext(1, 2);
            await client().getProject(project.id);
            const limited = fake.requests[0];
            assert.equal(limited.status, 429);
            assert.equal(limited.response.error.code, "rate_limited");
            assert.deepEqual(slept, [limited.response.error.limit.reset * 1000 - limited.atMs]);
            assert.ok(slept[0] >= 2000 && slept[0] <= 3000);
            assert.equal(fake.requests[1].status, 200);
        });

        it("fails at once, with the wait, when Vercel asks for longer than the retry budget", async () => {
            const { project } = seed(1);
            fake.rateLimitNext(1, 3600);
            await assert.rejects(client().getProject(project.id), (e: any) => {
                assert.equal(e.name, "VercelApiError");
                assert.equal(e.operation, "get project");
                assert.equal(e.status, 429);
                assert.equal(e.code, "rate_limited");
                assert.ok(e.retryAfterMs > 59 * 60_000);
                assert.match(
                    e.message,
                    /^Vercel API get project \(GET \/v9\/projects\/prj_\w+\): 429 rate_limited: Rate limit exceeded; Vercel rate-limits API requests per token and asked to wait (60|61)min, longer than the retry budget of 5min: run it again after that$/,
                );
                return true;
            });
            assert.equal(fake.requests.length, 1);
            assert.deepEqual(slept, []);
        });

        it("retries 5xx on reads, a bounded number of times", async () => {
            const { project } = seed(1);
            fake.inject({ method: "GET", path: /^\/v9\/projects\//, status: 503, times: 2 });
            await client().getProject(project.id);
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [503, 503, 200],
            );
            assert.equal(progress.length, 2);
            fake.inject({ method: "GET", path: /^\/v9\/projects\//, status: 502, times: 10 });
            await assert.rejects(
                client({ policy: { baseDelayMs: 1, maxServerRetries: 2 } }).getProject(project.id),
                (e: any) =>
                    e.status === 502 &&
                    /: 502 bad_gateway: An unexpected internal error occurred; gave up: 502 Bad Gateway after 2 retries$/.test(e.message),
            );
        });
    });

    describe("errors", () => {
        it("401 names the token's source and how to replace it, never the token, and is not retried", async () => {
            const { project } = seed(1);
            const wrong = "vcp_wrongtoken0123456789";
            await assert.rejects(client({ token: wrong }).getProject(project.id), (e: any) => {
                assert.equal(e.name, "VercelApiError");
                assert.equal(e.status, 401);
                assert.equal(e.code, "forbidden");
                assert.ok(!e.message.includes(wrong), e.message);
                assert.match(e.message, /^Vercel API get project \(GET \/v9\/projects\/prj_\w+\): 401 forbidden: Not authorized\. Fix: /);
                assert.match(e.message, /Fix: the Vercel API token was refused: it may be revoked or expired/);
                assert.match(e.message, /export VERCEL_API_TOKEN=\.\.\./);
                assert.match(e.message, /keel:vercelApiToken/);
                return true;
            });
            assert.equal(fake.requests.length, 1);
            await assert.rejects(
                vercelClient({ env: { VERCEL_API_TOKEN: wrong, VERCEL_API_URL: fake.url } }).listProductionDeployments(project.id),
                (e: any) => e.status === 401 && /token \(from VERCEL_API_TOKEN\) was refused/.test(e.message) && !e.message.includes(wrong),
            );
        });

        it("404 says to check the project id (and the team); a token echoed back is redacted", async () => {
            await assert.rejects(client().getProject("prj_missing"), (e: any) => {
                assert.equal(e.status, 404);
                assert.equal(e.code, "not_found");
                assert.match(
                    e.message,
                    /404 not_found: Project not found\. Fix: check the project id or name in \/v9\/projects\/prj_missing/,
                );
                assert.match(e.message, /teamId/);
                return true;
            });
            fake.teamId = "team_keel";
            const { project } = seed(1);
            await assert.rejects(client().getProject(project.id), (e: any) => e.status === 404 && /keel:frontend\.teamId/.test(e.message));
            await assert.rejects(client({ teamId: "team_other" }).getProject(project.id), (e: any) => {
                assert.equal(e.status, 403);
                assert.match(e.message, /or have no access to team team_other/);
                return true;
            });
            await assert.rejects(client({ teamId: "team_keel" }).getProject(fake.token), (e: any) => {
                assert.ok(!e.message.includes(fake.token));
                assert.ok(e.message.includes("[redacted]"));
                return true;
            });
        });

        it("a client made from the environment works, does not show the token (inspect, JSON), and its errors keep their fields", async () => {
            const { project } = seed(2);
            const restore = setVercelEnv({ VERCEL_API_TOKEN: fake.token });
            try {
                const api = vercelClient({ env: { ...process.env, VERCEL_API_URL: fake.url } });
                assert.ok(!util.inspect(api, { depth: 5, showHidden: true }).includes(fake.token));
                assert.ok(!JSON.stringify(api).includes(fake.token));
                assert.equal((await api.productionDeployment(project.id))?.id, fake.production(project.id)?.uid);
                const e: any = await api.getProject("prj_missing").then(
                    () => assert.fail("expected a 404"),
                    (err: unknown) => err,
                );
                assert.deepEqual(
                    { name: e.name, status: e.status, operation: e.operation },
                    { name: "VercelApiError", status: 404, operation: "get project" },
                );
            } finally {
                restore();
            }
        });
    });

    describe("the frontend's part of a rollback", () => {
        it("on Hobby, refuses a deployment older than the previous production one before anything is written", async () => {
            fake.plan = "hobby";
            const { project, deployments } = seed(4);
            const api = client();
            // An hour into deployment 1's life: deployments 2 and 3 came after it.
            const check = await checkFrontendRollback(api, project.name, T0 + HOUR + BUILD + 30 * 60_000);
            assert.equal(check.plan.kind, "refused");
            assert.equal(check.plan.kind === "refused" && check.plan.deployment?.uid, deployments[1].uid);
            const reason = check.plan.kind === "refused" ? check.plan.reason : "";
            assert.match(reason, new RegExp(`Vercel deployment ${deployments[1].uid} \\(${deployments[1].url.replace(/\./g, "\\.")}\\)`));
            assert.match(reason, new RegExp(`is older than the previous production deployment ${deployments[2].uid}`));
            assert.match(reason, /on Vercel's Hobby plan only the previous production deployment can be rolled back to/);
            assert.match(reason, /Pro plan/);
            assert.match(reason, /--keep-frontend to go on and leave the frontend as it is/);
            assert.match(reason, new RegExp(`production stays at ${deployments[3].uid}`));
            await assert.rejects(
                applyFrontendRollback(api, project.id, check.plan),
                (e: any) => e.name === "VercelRollbackError" && e.message === reason,
            );
            assert.deepEqual(fake.mutations(), [], "nothing was written");
            assert.equal(fake.production(project.id)?.uid, deployments[3].uid);
            // Vercel would have refused it too; the client's error says why.
            await assert.rejects(api.rollback(project.id, deployments[1].uid), (e: any) => {
                assert.equal(e.status, 400);
                assert.equal(e.code, "rollback_not_allowed");
                assert.match(e.message, /Fix: on Vercel's Hobby plan only the previous production deployment can be rolled back to/);
                return true;
            });
        });

        it("puts back the previous production deployment on Hobby, and any earlier one on Pro", async () => {
            fake.plan = "hobby";
            const { project, deployments } = seed(4);
            const api = client();
            const atPrevious = await checkFrontendRollback(api, project.id, T0 + 2 * HOUR + BUILD);
            assert.equal(atPrevious.plan.kind, "promote");
            assert.equal(atPrevious.plan.kind === "promote" && atPrevious.plan.deployment.uid, deployments[2].uid);
            await applyFrontendRollback(api, project.id, atPrevious.plan, { intervalMs: 10 });
            assert.equal(fake.production(project.id)?.uid, deployments[2].uid);
            // Already there: nothing to do, nothing sent.
            const again = await checkFrontendRollback(api, project.id, T0 + 2 * HOUR + BUILD);
            assert.equal(again.plan.kind, "none");
            const writes = fake.mutations().length;
            assert.equal(await applyFrontendRollback(api, project.id, again.plan), undefined);
            assert.equal(fake.mutations().length, writes);
            fake.plan = "pro";
            const oldest = await checkFrontendRollback(api, project.id, T0 + BUILD);
            assert.equal(oldest.plan.kind === "promote" && oldest.plan.deployment.uid, deployments[0].uid);
            await applyFrontendRollback(api, project.id, oldest.plan, { intervalMs: 10 });
            assert.equal(fake.production(project.id)?.uid, deployments[0].uid);
            // Before the first deployment was ready, nothing was live.
            const before = await checkFrontendRollback(api, project.id, T0 + BUILD - 1);
            assert.equal(before.plan.kind, "refused");
            assert.match(
                before.plan.kind === "refused" ? before.plan.reason : "",
                /^No Vercel production deployment was live at 2025-03-01T00:04:59\.999Z/,
            );
        });
    });
});

describe("Vercel contract (the fake against @vercel/sdk 1.28.35's models, and the SDK against the fake)", () => {
    let fake: FakeVercel;
    const sdk = loadVercelSdk();

    before(async () => {
        fake = await FakeVercel.start({ teamId: "team_keel" });
    });
    after(() => fake.stop());
    beforeEach(() => fake.reset());

    it("reads strictly: a missing required field, an unknown field or a wrong enum is a problem", () => {
        const d = {
            uid: "dpl_1",
            name: "web",
            url: "web-1.vercel.app",
            projectId: "prj_1",
            created: T0,
            createdAt: T0,
            readyState: "READY",
            type: "LAMBDAS",
            creator: { uid: "user_1" },
            inspectorUrl: null,
        };
        const body = (x: object) => ({ deployments: [x], pagination: { count: 1, next: null, prev: null } });
        assert.deepEqual(contractProblems(sdk.getDeploymentsResponse, body(d)), []);
        const { uid: _uid, ...noUid } = d;
        assert.deepEqual(contractProblems(sdk.getDeploymentsResponse, body(noUid)), [
            '.deployments[0].uid: required by the model but not sent (the SDK reads "")',
        ]);
        assert.deepEqual(contractProblems(sdk.getDeploymentsResponse, body({ ...d, liveAt: T0 })), [
            ".deployments[0].liveAt: not in the model (the SDK drops it)",
        ]);
        assert.notDeepEqual(contractProblems(sdk.getDeploymentsResponse, body({ ...d, readyState: "LIVE" })), []);
        assert.notDeepEqual(contractProblems(sdk.getProjectResponse, { id: "prj_1", name: "web" }), []);
    });

    it("every answer the fake gives (list deployments, get project through a rollback) is read exactly by the SDK's models", async () => {
        const project = fake.addProject({ name: "web" });
        const ds = Array.from({ length: 7 }, (_, i) =>
            fake.addDeployment(project.id, { created: T0 + i * HOUR, ready: T0 + i * HOUR + BUILD }),
        );
        fake.addDeployment(project.id, { created: T0 - HOUR, target: null });
        fake.addDeployment(project.id, { created: T0 - 2 * HOUR, state: "ERROR" });
        fake.addDeployment(project.id, { created: T0 + 20 * HOUR, promote: false, meta: { githubCommitRef: "main" } });
        const empty = fake.addProject({ name: "empty" });
        const api = vercelClient({ token: fake.token, baseUrl: fake.url, teamId: "team_keel", sleep: async () => {} });
        for (const version of ["v6", "v7"]) {
            const list = (query: Record<string, string>) => api.request("GET", `/${version}/deployments`, { query });
            await list({ projectId: project.id, limit: "3" });
            await list({ projectId: project.id });
            await list({ projectId: project.id, rollbackCandidate: "true", target: "production" });
            await list({ projectId: empty.id });
        }
        await api.listProductionDeployments(project.id, { pageSize: 2 });
        await api.getProject(empty.id);
        fake.rollbackReadsToComplete = 2;
        await api.rollback(project.id, ds[2].uid, { intervalMs: 1 });
        fake.failNextRollback();
        await assert.rejects(api.rollback(project.id, ds[4].uid, { intervalMs: 1 }), (e: any) => e.name === "VercelRollbackError");
        let checked = 0;
        for (const r of fake.requests) {
            if (r.status !== 200) continue;
            const schema = /^\/v[67]\/deployments$/.test(r.path) ? sdk.getDeploymentsResponse : sdk.getProjectResponse;
            assert.deepEqual(contractProblems(schema, r.response), [], `${r.method} ${r.path}`);
            checked++;
        }
        assert.ok(checked >= 20, `${checked} answers checked`);
        const seen = new Set(
            fake.requests
                .filter((r) => r.method === "GET" && /^\/v9\/projects\//.test(r.path))
                .map((r) => r.response.lastAliasRequest?.jobStatus ?? "none"),
        );
        assert.deepEqual([...seen].sort(), ["failed", "in-progress", "none", "succeeded"]);
        // The rollback the client sends is the SDK's requestRollback, under the path Vercel's CLI uses.
        for (const r of fake.mutations()) {
            const [, , , projectId, , deploymentId] = r.path.split("/");
            assert.match(r.path, /^\/v9\/projects\/prj_\w+\/rollback\/dpl_\w+$/);
            sdk.requestRollbackRequest.parse({ projectId, deploymentId, teamId: r.query.teamId });
        }
    });

    it("the SDK itself, pointed at the fake, lists deployments, reads the project and rolls back", async () => {
        fake.plan = "hobby";
        const project = fake.addProject({ name: "web" });
        const ds = Array.from({ length: 3 }, (_, i) =>
            fake.addDeployment(project.id, { created: T0 + i * HOUR, ready: T0 + i * HOUR + BUILD }),
        );
        const vercel = new sdk.Vercel({ bearerToken: fake.token, serverURL: fake.url });
        const listed = await vercel.deployments.getDeployments({
            projectId: project.id,
            target: "production",
            state: "READY",
            teamId: "team_keel",
        });
        assert.deepEqual(
            listed.deployments.map((d) => d.uid),
            [ds[2].uid, ds[1].uid, ds[0].uid],
        );
        assert.equal(listed.pagination.next, null);
        const candidates = await vercel.deployments.getDeployments({ projectId: project.id, rollbackCandidate: true, teamId: "team_keel" });
        assert.deepEqual(
            candidates.deployments.map((d) => [d.uid, d.isRollbackCandidate]),
            [[ds[1].uid, true]],
        );
        const before = await vercel.projects.getProject({ idOrName: project.id, teamId: "team_keel" });
        assert.equal(before.targets?.production?.id, ds[2].uid);
        assert.equal(before.targets?.production?.plan, "hobby");
        // Older than the previous production deployment: refused on Hobby (the SDK reads 4XX as errors).
        await assert.rejects(
            vercel.projects.requestRollback({ projectId: project.id, deploymentId: ds[0].uid, teamId: "team_keel" }),
            (e: any) => e.statusCode === 400 && /Hobby plan/.test(e.body),
        );
        await vercel.projects.requestRollback({ projectId: project.id, deploymentId: ds[1].uid, teamId: "team_keel" });
        const during = await vercel.projects.getProject({ idOrName: project.id, teamId: "team_keel" });
        assert.equal(during.lastAliasRequest?.jobStatus, "in-progress");
        const after = await vercel.projects.getProject({ idOrName: project.id, teamId: "team_keel" });
        assert.equal(after.targets?.production?.id, ds[1].uid);
        assert.equal(after.lastAliasRequest?.jobStatus, "succeeded");
        assert.equal(after.autoAssignCustomDomains, false);
        assert.deepEqual(
            fake.requests.map(
                (r) => `${r.method} ${r.path.replace(/prj_\w+/, "{projectId}").replace(/dpl_\w+/, "{deploymentId}")} ${r.status}`,
            ),
            [
                "GET /v7/deployments 200",
                "GET /v7/deployments 200",
                "GET /v9/projects/{projectId} 200",
                "POST /v1/projects/{projectId}/rollback/{deploymentId} 400",
                "POST /v1/projects/{projectId}/rollback/{deploymentId} 201",
                "GET /v9/projects/{projectId} 200",
                "GET /v9/projects/{projectId} 200",
            ],
        );
        // A bad token answers 401.
        const wrong = new sdk.Vercel({ bearerToken: "vcp_wrong", serverURL: fake.url });
        await assert.rejects(wrong.projects.getProject({ idOrName: project.id, teamId: "team_keel" }), (e: any) => e.statusCode === 401);
    });
});

// ---- the pure planners, as properties ----------------------------------------------

interface GenDeployment extends DeploymentTimes {
    readyState: string;
}

/** Deployments with distinct created times; some previews, some failed, some without a ready time. */
const deploymentsArb: fc.Arbitrary<GenDeployment[]> = fc
    .uniqueArray(
        fc.record({
            created: fc.integer({ min: 0, max: 10_000 }),
            build: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined }),
            state: fc.constantFrom("READY", "READY", "READY", "ERROR", "CANCELED"),
            target: fc.constantFrom<"production" | null | undefined>("production", "production", "production", null, undefined),
        }),
        { maxLength: 25, selector: (r) => r.created },
    )
    .map((rs) =>
        rs.map((r, i) => ({
            uid: `dpl_${i}`,
            url: `web-${i}.vercel.app`,
            created: r.created,
            ...(r.build !== undefined ? { ready: r.created + r.build } : {}),
            readyState: r.state,
            ...(r.target !== undefined ? { target: r.target } : {}),
        })),
    );

const timeArb = fc.integer({ min: -100, max: 14_000 });

/** The oracle: among READY production deployments live by `time`, the latest to go live (ties: the later created, then the larger uid). */
function oracle(ds: readonly GenDeployment[], time: number): GenDeployment | undefined {
    const live = ds.filter(
        (d) => d.readyState === "READY" && (d.target === undefined || d.target === "production") && (d.ready ?? d.created) <= time,
    );
    live.sort((a, b) => (a.ready ?? a.created) - (b.ready ?? b.created) || a.created - b.created || (a.uid < b.uid ? -1 : 1));
    return live[live.length - 1];
}

/** A production history as Vercel would hold it: READY production deployments with distinct live times, the newest serving. */
const historyArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 15 })
    .map((times) =>
        [...times]
            .sort((a, b) => a - b)
            .map((t, i) => ({ uid: `dpl_${i}`, url: `web-${i}.vercel.app`, created: t, ready: t + 1, readyState: "READY" })),
    );

describe("liveProductionAt and frontendRollbackPlan (properties)", () => {
    it("liveProductionAt is the newest READY production deployment live by then, whatever the input order", () => {
        fc.assert(
            fc.property(deploymentsArb, timeArb, fc.integer(), (ds, time, seed) => {
                const expected = oracle(ds, time);
                assert.equal(liveProductionAt(ds, time)?.uid, expected?.uid);
                assert.equal(liveProductionAt(ds, new Date(time))?.uid, expected?.uid);
                const shuffled = [...ds].sort((a, b) => ((a.created * 7919 + seed) % 101) - ((b.created * 7919 + seed) % 101));
                assert.equal(liveProductionAt(shuffled, time)?.uid, expected?.uid);
            }),
        );
    });

    it("liveProductionAt moves only forward in time", () => {
        fc.assert(
            fc.property(deploymentsArb, timeArb, fc.nat(5_000), (ds, t, dt) => {
                const earlier = liveProductionAt(ds, t);
                const later = liveProductionAt(ds, t + dt);
                if (earlier) {
                    assert.ok(later);
                    assert.ok(liveSince(later) >= liveSince(earlier));
                }
            }),
        );
    });

    it("frontendRollbackPlan: none when it serves, promote only a candidate, refused (Hobby: older than the previous) otherwise", () => {
        fc.assert(
            fc.property(historyArb, fc.constantFrom("hobby", "pro", undefined), timeArb, (ds, plan, time) => {
                Object.freeze(ds);
                ds.forEach((d) => Object.freeze(d));
                const current = ds[ds.length - 1];
                const previous = ds[ds.length - 2];
                const candidates = plan === "pro" ? ds.slice(0, -1) : previous ? [previous] : [];
                const result = frontendRollbackPlan({ deployments: ds, candidates, current: current.uid, time, plan });
                const target = oracle(ds as GenDeployment[], time);
                if (!target) {
                    assert.equal(result.kind, "refused");
                    assert.match(
                        result.kind === "refused" ? result.reason : "",
                        /^No Vercel production deployment was live at .*--keep-frontend/,
                    );
                    return;
                }
                if (target.uid === current.uid) {
                    assert.deepEqual(result, { kind: "none", deployment: target });
                } else if (candidates.some((c) => c.uid === target.uid)) {
                    assert.deepEqual(result, { kind: "promote", deployment: target, from: current.uid });
                } else {
                    // Only Hobby leaves a deployment out, and only one older than the previous production deployment.
                    assert.notEqual(plan, "pro");
                    assert.equal(result.kind, "refused");
                    const reason = result.kind === "refused" ? result.reason : "";
                    assert.ok(reason.includes(`Vercel deployment ${target.uid} (${target.url})`), reason);
                    assert.ok(reason.includes(`is older than the previous production deployment ${previous.uid}`), reason);
                    assert.ok(
                        reason.includes("on Vercel's Hobby plan only the previous production deployment can be rolled back to"),
                        reason,
                    );
                    assert.ok(reason.includes("Pro plan"), reason);
                    assert.ok(reason.includes("--keep-frontend to go on and leave the frontend as it is"), reason);
                    assert.ok(reason.includes(`production stays at ${current.uid}`), reason);
                }
            }),
        );
    });

    it("frontendRollbackPlan never promotes a deployment that is not a candidate, nor one that was not live then", () => {
        fc.assert(
            fc.property(
                deploymentsArb,
                fc.array(fc.nat(30)),
                fc.option(fc.nat(30), { nil: undefined }),
                timeArb,
                (ds, picks, cur, time) => {
                    const candidates = picks.map((i) => `dpl_${i}`);
                    const current = cur === undefined ? undefined : `dpl_${cur}`;
                    const result = frontendRollbackPlan({ deployments: ds, candidates, current, time });
                    const live = oracle(ds, time);
                    if (result.kind === "promote") {
                        assert.ok(candidates.includes(result.deployment.uid));
                        assert.equal(result.deployment.uid, live?.uid);
                        assert.notEqual(result.deployment.uid, current);
                    }
                    if (result.kind === "none") assert.equal(result.deployment.uid, current);
                    if (result.kind === "refused") assert.match(result.reason, /--keep-frontend/);
                },
            ),
        );
    });
});
