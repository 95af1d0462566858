/**
 * The Render client over HTTP, against the local fake: the operations Keel
 * needs, retries as the policy says, rate limits that fail with the wait,
 * waiting for deploys, errors that never hold the key, and closure
 * serialization.
 */
import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import {
    DEFAULT_RENDER_API_URL,
    DeployStatus,
    renderClient,
    RenderClient,
    RenderClientOptions,
    resolveRenderCredentials,
    waitForDeploy,
} from "../../components/vendors/render";
import { DeployFailure, FakeRender } from "../support/fakeRender";

describe("Render client (against the fake Render API)", () => {
    let fake: FakeRender;
    let progress: string[];

    const client = (extra: Partial<RenderClientOptions> = {}): RenderClient =>
        renderClient({
            apiKey: fake.apiKey,
            baseUrl: fake.url,
            policy: { baseDelayMs: 10 },
            onProgress: (m) => progress.push(m),
            ...extra,
        });

    const web = (name = "api") => ({
        type: "web_service" as const,
        name,
        ownerId: fake.ownerId,
        repo: "https://github.com/acme/api",
        branch: "main",
        autoDeploy: "no" as const,
        envVars: [{ key: "NODE_ENV", value: "production" }],
        serviceDetails: {
            runtime: "node",
            plan: "starter",
            region: "frankfurt",
            envSpecificDetails: { buildCommand: "npm ci", startCommand: "node server.js" },
            healthCheckPath: "/healthz",
        },
    });

    before(async () => {
        fake = await FakeRender.start();
    });
    after(() => fake.stop());
    beforeEach(() => {
        fake.reset();
        fake.deployPollsPerStep = 1;
        progress = [];
    });

    describe("credentials", () => {
        it("takes keel:renderApiKey over RENDER_API_KEY, and the URL from config, RENDER_API_URL or Render's", () => {
            assert.deepEqual(resolveRenderCredentials({ configApiKey: "cfg", env: { RENDER_API_KEY: "env" } }), {
                apiKey: "cfg",
                baseUrl: DEFAULT_RENDER_API_URL,
                source: "keel:renderApiKey",
            });
            assert.deepEqual(resolveRenderCredentials({ env: { RENDER_API_KEY: " env ", RENDER_API_URL: "http://127.0.0.1:9/v1/" } }), {
                apiKey: "env",
                baseUrl: "http://127.0.0.1:9/v1",
                source: "RENDER_API_KEY",
            });
            assert.equal(DEFAULT_RENDER_API_URL, "https://api.render.com/v1");
            assert.throws(
                () => resolveRenderCredentials({ configApiKey: " ", env: {} }),
                (e: Error) =>
                    e.name === "RenderCredentialsError" &&
                    e.message.includes("export RENDER_API_KEY=...") &&
                    e.message.includes("keel:renderApiKey"),
            );
        });
    });

    describe("operations", () => {
        it("creates, finds by name, updates, lists and deletes services", async () => {
            const api = client();
            const created = await api.createService(web());
            assert.match(created.service.id, /^srv-/);
            assert.ok(created.deployId);
            assert.equal(created.service.serviceDetails.region, "frankfurt");
            assert.equal(created.service.suspended, "not_suspended");
            await api.createService(web("api-worker"));
            assert.deepEqual(
                (await api.findServicesByName("api")).map((s) => s.id),
                [created.service.id],
            );
            assert.deepEqual(await api.findServicesByName("nothing"), []);
            const updated = await api.updateService(created.service.id, { autoDeploy: "yes", serviceDetails: { plan: "standard" } });
            assert.equal(updated.autoDeploy, "yes");
            assert.equal(updated.serviceDetails.plan, "standard");
            assert.equal((await api.getService(created.service.id)).serviceDetails.plan, "standard");
            assert.equal((await api.listServices()).length, 2);
            assert.equal(await api.deleteService(created.service.id), true);
            assert.equal(await api.deleteService(created.service.id), false);
            await assert.rejects(
                api.getService(created.service.id),
                (e: any) =>
                    e.name === "RenderApiError" && e.status === 404 && /GET \/services\/srv-\w+: 404 service not found$/.test(e.message),
            );
        });

        it("follows cursors through every page", async () => {
            const api = client();
            const { service } = await api.createService(web());
            await api.replaceEnvVars(
                service.id,
                Array.from({ length: 130 }, (_, i) => ({ key: `K${i}`, value: String(i) })),
            );
            const vars = await api.getEnvVars(service.id);
            assert.equal(vars.length, 130);
            assert.equal(new Set(vars.map((v) => v.key)).size, 130);
            assert.deepEqual(
                fake.requests.filter((r) => r.method === "GET").map((r) => r.query.limit),
                ["100", "100"],
            );
        });

        it("replaces the whole env var list with PUT, and sets, reads and deletes one key", async () => {
            const api = client();
            const { service } = await api.createService(web());
            assert.deepEqual(await api.getEnvVars(service.id), [{ key: "NODE_ENV", value: "production" }]);
            const replaced = await api.replaceEnvVars(service.id, [
                { key: "A", value: "1" },
                { key: "SECRET", generateValue: true },
            ]);
            assert.deepEqual(
                replaced.map((v) => v.key),
                ["A", "SECRET"],
            );
            assert.equal(await api.getEnvVar(service.id, "NODE_ENV"), undefined, "PUT replaced the whole list");
            await api.setEnvVar(service.id, "B", "2");
            assert.deepEqual(await api.getEnvVar(service.id, "B"), { key: "B", value: "2" });
            assert.equal(await api.deleteEnvVar(service.id, "B"), true);
            assert.equal(await api.deleteEnvVar(service.id, "B"), false);
        });

        it("deploys, lists, cancels and rolls back (a new deploy of the earlier build; autoDeploy unchanged)", async () => {
            const api = client();
            const { service, deployId } = await api.createService(web());
            const first = await waitForDeploy(api, service.id, deployId!, { pollMs: 10, timeoutS: 5 });
            const second = (await api.createDeploy(service.id, { clearCache: "clear" }))!;
            await waitForDeploy(api, service.id, second.id, { pollMs: 10, timeoutS: 5 });
            assert.equal((await api.getDeploy(service.id, first.id)).status, "deactivated");
            const back = await api.rollback(service.id, first.id);
            assert.equal(back.trigger, "rollback");
            assert.equal(back.commit?.id, first.commit?.id);
            await waitForDeploy(api, service.id, back.id, { pollMs: 10, timeoutS: 5 });
            assert.equal((await api.getService(service.id)).autoDeploy, "no");
            fake.deployPollsPerStep = Infinity; // a build that stays `created`
            const slow = (await api.createDeploy(service.id))!;
            assert.equal((await api.cancelDeploy(service.id, slow.id)).status, "canceled");
            fake.answerDeploysQueued();
            assert.equal(await api.createDeploy(service.id), undefined, "202 Queued gives no deploy; list-deploys finds it");
            const queued = (await api.listDeploys(service.id, { limit: 1 }))[0];
            await api.cancelDeploy(service.id, queued.id);
            const list = (await api.listDeploys(service.id)).filter((d) => d.id !== queued.id);
            assert.deepEqual(
                list.map((d) => d.id),
                [slow.id, back.id, second.id, first.id],
            );
            assert.deepEqual(
                (await api.listDeploys(service.id, { status: ["live"] })).map((d) => d.id),
                [back.id],
            );
        });

        it("adds, lists, reads, verifies and deletes custom domains (an apex brings its www redirect)", async () => {
            const api = client();
            const { service } = await api.createService(web());
            const made = await api.createCustomDomain(service.id, "example.com");
            assert.deepEqual(
                made.map((d) => [d.name, d.domainType, d.redirectForName]),
                [
                    ["example.com", "apex", ""],
                    ["www.example.com", "subdomain", "example.com"],
                ],
            );
            await api.createCustomDomain(service.id, "api.example.org");
            assert.equal((await api.listCustomDomains(service.id)).length, 3);
            await api.verifyCustomDomain(service.id, "api.example.org");
            assert.equal((await api.getCustomDomain(service.id, "api.example.org"))?.verificationStatus, "verified");
            assert.equal(await api.deleteCustomDomain(service.id, made[1].id), true);
            assert.equal(await api.getCustomDomain(service.id, "www.example.com"), undefined);
            await assert.rejects(
                api.createCustomDomain(service.id, "example.com"),
                (e: any) => e.status === 409 && /already exists/.test(e.message),
            );
        });
    });

    describe("retries", () => {
        it("waits out 429 honouring Retry-After, and retries 5xx on GET, reporting each retry", async () => {
            const api = client();
            fake.inject({ method: "GET", path: /^\/services$/, status: 429, retryAfter: "1" });
            fake.inject({ method: "GET", path: /^\/services$/, status: 500, times: 2 });
            await api.listServices();
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [429, 500, 500, 200],
            );
            assert.equal(progress.length, 3);
            // Honouring Retry-After is read off the client's own scheduler (it reports the delay it then sleeps), not timed.
            assert.match(progress[0], /^Render API GET \/services: retrying in 1(\.0)?s \(429 Too Many Requests\)$/);
            for (const line of progress.slice(1))
                assert.match(line, /^Render API GET \/services: retrying in \d+ms \(500 Internal Server Error\)$/);
        });

        it("gives up on 5xx after the bounded number of retries", async () => {
            fake.inject({ method: "GET", path: /^\/services$/, status: 502, times: 10 });
            await assert.rejects(client({ policy: { baseDelayMs: 1, maxServerRetries: 2 } }).listServices(), (e: any) => {
                assert.equal(e.name, "RenderApiError");
                assert.match(e.message, /^Render API GET \/services: 502 internal server error; gave up: 502 Bad Gateway after 2 retries$/);
                return true;
            });
            assert.equal(fake.requests.length, 3);
        });

        it("never repeats a POST that may have been processed: 500 and a dropped response fail at once", async () => {
            const api = client();
            fake.inject({ method: "POST", path: /^\/services$/, status: 500 });
            await assert.rejects(
                api.createService(web()),
                (e: any) => e.status === 500 && e.mayHaveBeenProcessed === true && /may have been carried out/.test(e.message),
            );
            fake.dropResponses("POST", /^\/services$/);
            await assert.rejects(
                api.createService(web()),
                (e: any) => e.status === undefined && e.mayHaveBeenProcessed === true && /^Render API POST \/services: /.test(e.message),
            );
            assert.equal(fake.mutations(/^\/services$/).length, 2, "each POST was sent once");
            assert.equal(fake.services.length, 1, "the dropped create happened; find it by name before trying again");
            assert.equal((await api.findServicesByName("api")).length, 1);
            // 503 was not processed: a POST is retried.
            fake.inject({ method: "POST", path: /^\/services$/, status: 503 });
            await api.createService(web("other"));
            // A dropped GET or PUT is repeated.
            fake.dropResponses("PUT", /env-vars$/);
            await api.replaceEnvVars(fake.services[0].id, [{ key: "A", value: "1" }]);
            assert.equal(fake.mutations(/env-vars$/).length, 2);
        });

        it("fails at once with the wait when the service creation limit (20 an hour) asks for more than the budget", async () => {
            const api = client();
            // 20 creations 10 minutes ago on the fake's clock: the window opens again in 50 minutes.
            fake.useServiceCreations(20, fake.clock.now() - 10 * 60_000);
            await assert.rejects(api.createService(web()), (e: any) => {
                assert.equal(e.name, "RenderApiError");
                assert.equal(e.status, 429);
                assert.equal(e.retryAfterMs, 50 * 60_000);
                assert.match(
                    e.message,
                    /^Render API POST \/services: 429 rate limit exceeded: too many services created; Render allows 20 service creations an hour and asked to wait 50min \(Retry-After\), longer than the retry budget of 5min: run it again after that$/,
                );
                return true;
            });
            assert.equal(fake.requests.length, 1, "no retry was attempted");
            // Once the fake's clock has moved past the hour, creations are allowed again.
            fake.clock.advance(50 * 60_000);
            assert.ok((await api.createService(web())).service.id);
        });

        it("fails with the wait when deploys pass 10 a minute per service; another service may still deploy", async () => {
            const api = client({ policy: { baseDelayMs: 10, budgetMs: 2000 } });
            const { service, deployId } = await api.createService(web());
            await waitForDeploy(api, service.id, deployId!, { pollMs: 10, timeoutS: 5 });
            for (let i = 0; i < 10; i++) await api.createDeploy(service.id);
            await assert.rejects(
                api.createDeploy(service.id),
                (e: any) =>
                    e.status === 429 &&
                    /Render allows 10 deploys a minute per service and asked to wait \d+s \(Retry-After\)/.test(e.message),
            );
            await assert.rejects(api.rollback(service.id, fake.deploys[0].id), (e: any) => e.status === 429);
            const other = await api.createService(web("other"));
            assert.ok(await api.createDeploy(other.service.id));
            // A minute later on the fake's clock the service may deploy again.
            fake.clock.advance(60_000);
            assert.ok(await api.createDeploy(service.id));
        });
    });

    describe("waitForDeploy", () => {
        it("reports each status until live and returns the final deploy", async () => {
            const api = client();
            const { service, deployId } = await api.createService(web());
            const seen: string[] = [];
            const deploy = await waitForDeploy(api, service.id, deployId!, {
                pollMs: 5,
                maxPollMs: 10,
                timeoutS: 5,
                onProgress: (_m, d) => seen.push(d.status!),
            });
            assert.equal(deploy.status, "live");
            assert.ok(deploy.finishedAt);
            assert.deepEqual(seen, ["created", "build_in_progress", "update_in_progress", "live"]);
        });

        for (const status of ["build_failed", "update_failed", "pre_deploy_failed", "canceled", "deactivated"] as DeployFailure[]) {
            it(`fails on ${status}, naming the deploy and the status`, async () => {
                const api = client();
                const { service } = await api.createService(web());
                fake.failNextDeploy(status);
                const deploy = (await api.createDeploy(service.id))!;
                await assert.rejects(waitForDeploy(api, service.id, deploy.id, { pollMs: 5, maxPollMs: 10, timeoutS: 5 }), (e: any) => {
                    assert.equal(e.name, "RenderDeployError");
                    assert.equal(e.deploy.status, status as DeployStatus);
                    assert.ok(e.message.startsWith(`Render deploy ${deploy.id} of service ${service.id} ended ${status}: `), e.message);
                    return true;
                });
            });
        }

        it("gives up after timeoutS, saying the deploy may still finish", async () => {
            const api = client();
            fake.deployPollsPerStep = Infinity; // it never leaves `created`
            const { service, deployId } = await api.createService(web());
            await assert.rejects(
                waitForDeploy(api, service.id, deployId!, { pollMs: 20, timeoutS: 0.1 }),
                (e: any) => e.name === "RenderDeployError" && /is still created after 100ms; it may still finish/.test(e.message),
            );
        });
    });

    describe("the API key", () => {
        it("never appears in an error, even when Render echoes it", async () => {
            const api = client();
            const wrong = renderClient({ apiKey: "rnd_wrongkey123", baseUrl: fake.url });
            await assert.rejects(wrong.listServices(), (e: any) => e.status === 401 && !e.message.includes("rnd_wrongkey123"));
            // A server that echoes the key back in its message.
            const { service } = await api.createService(web());
            await assert.rejects(
                api.getEnvVar(service.id, "x").then(() => api.request("GET", `/services/${fake.apiKey}`)),
                (e: any) => {
                    assert.ok(!e.message.includes(fake.apiKey), e.message);
                    assert.ok(e.message.includes("[redacted]"));
                    return true;
                },
            );
            const closed = http.createServer();
            await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
            const port = (closed.address() as AddressInfo).port;
            await new Promise((resolve) => closed.close(resolve));
            const unreachable = renderClient({
                apiKey: fake.apiKey,
                baseUrl: `http://127.0.0.1:${port}/v1`,
                policy: { baseDelayMs: 1, maxServerRetries: 1 },
            });
            await assert.rejects(
                unreachable.getService("srv-x"),
                (e: any) => /ECONNREFUSED/.test(e.message) && !e.message.includes(fake.apiKey),
            );
        });
    });
});
