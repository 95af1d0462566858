/**
 * The Render dynamic providers (web service, custom domain), each
 * round-tripped through closure serialization as the engine does, against the
 * local fake Render API: find or adopt before create, a lost create response,
 * deploys followed until live, rollback after a failed deploy, env vars as one
 * set, rate limits, drift on refresh, refusing to delete a protected service,
 * and secret values kept out of every line, error and drift entry.
 */
import { strict as assert } from "assert";
import type * as pulumi from "@pulumi/pulumi";
import { renderServiceProvider, RenderServiceInputs, RenderServiceOutputs } from "../../components/backend/render/service";
import {
    renderCustomDomainProvider,
    RenderCustomDomainInputs,
    RenderCustomDomainOutputs,
} from "../../components/backend/render/customDomain";
import { envDigest } from "../../components/backend/render/serviceSpec";
import { renderClient } from "../../components/vendors/render";
import { FakeRender, LoggedRequest, setRenderEnv } from "../support/fakeRender";
import { DATE_TIME, loadSpec, OpenApiSpec } from "../support/openapi";
import { captureConsole, serializedProvider, unconfigure } from "../support/serializedProvider";

type P<I, O> = pulumi.dynamic.ResourceProvider<I, O>;
type ServiceProvider = P<RenderServiceInputs, RenderServiceOutputs>;
type DomainProvider = P<RenderCustomDomainInputs, RenderCustomDomainOutputs>;

const SECRET = `pw-${Math.random().toString(36).slice(2)}-do-not-print`;
const IMAGE = "ghcr.io/acme/api:1.0.0";

describe("Render providers (serialized as the engine does, against the fake Render API)", () => {
    let fake: FakeRender;
    let svc: ServiceProvider;
    let dom: DomainProvider;
    let texts: string[];
    let restoreEnv: () => void;
    /** Everything the providers printed, across the whole file (searched for secrets at the end). */
    const printed: string[] = [];
    const errors: string[] = [];

    async function quiet<T>(fn: () => Promise<T>): Promise<T> {
        try {
            const { result, lines } = await captureConsole(fn);
            printed.push(...lines);
            return result;
        } catch (err) {
            errors.push(String((err as Error).message));
            throw err;
        }
    }

    async function logged<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
        const out = await captureConsole(fn);
        printed.push(...out.lines);
        return out;
    }

    /** Runs fn with console captured, expecting it to throw; returns the error and the lines. */
    async function failing(fn: () => Promise<unknown>): Promise<{ err: Error & Record<string, any>; lines: string[] }> {
        const lines: string[] = [];
        let caught: unknown;
        await captureConsole(async () => {
            try {
                await fn();
            } catch (err) {
                caught = err;
            }
        }).then((r) => lines.push(...r.lines));
        printed.push(...lines);
        assert.ok(caught, "expected an error");
        errors.push(String((caught as Error).message));
        return { err: caught as Error & Record<string, any>, lines };
    }

    function inputs(over: Partial<RenderServiceInputs> = {}): RenderServiceInputs {
        return {
            name: "keel-api",
            stack: "staging",
            protect: false,
            allowDelete: false,
            ownerId: fake.ownerId,
            source: { kind: "image", image: IMAGE },
            plan: "starter",
            region: "frankfurt",
            numInstances: 1,
            healthCheckPath: "/healthz",
            envVars: { NODE_ENV: "production", DATABASE_URL: `postgres://app:${SECRET}@db.example.com/app` },
            deployTimeoutSeconds: 10,
            ...over,
        };
    }

    async function create(i: RenderServiceInputs = inputs()): Promise<{ id: string; outs: RenderServiceOutputs }> {
        const checked = await svc.check!({} as RenderServiceInputs, i);
        assert.deepEqual(checked.failures ?? [], []);
        const r = await quiet(() => svc.create(checked.inputs!));
        return { id: r.id, outs: r.outs! };
    }

    const service = (id: string) => fake.services.find((s) => s.id === id)!;
    const env = (id: string) => Object.fromEntries((fake.envVars.get(id) ?? []).map((v) => [v.key, v.value]));
    const deploysOf = (id: string) => fake.deploys.filter((d) => d.serviceId === id);
    const posts = (re: RegExp) => fake.requests.filter((r) => r.method === "POST" && re.test(r.path));

    before(async () => {
        fake = await FakeRender.start();
        // The key and URL exist in this process before serialization, and no provider may capture them.
        restoreEnv = setRenderEnv({ RENDER_API_KEY: fake.apiKey, RENDER_API_URL: fake.url });
        const s = await serializedProvider(renderServiceProvider);
        const d = await serializedProvider(renderCustomDomainProvider);
        svc = s.provider;
        dom = d.provider;
        texts = [s.text, d.text];
    });

    after(async () => {
        restoreEnv();
        await fake.stop();
    });

    beforeEach(() => {
        fake.reset();
        fake.deployPollsPerStep = 1;
        fake.serviceCreatesPerHour = 20;
        fake.deploysPerMinute = 10;
    });

    it("serializes both providers without the API key or the API's address", () => {
        for (const text of texts) {
            assert.ok(!text.includes(fake.apiKey), "no API key in a serialized provider");
            assert.ok(!text.includes(fake.url), "no captured base URL");
        }
    });

    it("creates a web service from an image with its env vars as one set, and follows the first deploy until live", async () => {
        const { result, lines } = await logged(() => svc.create(inputs({ preDeployCommand: "npm run migrate" })));
        const outs = result.outs!;
        assert.equal(fake.services.length, 1);
        const s = service(result.id);
        assert.deepEqual(
            [
                s.type,
                s.name,
                s.autoDeploy,
                s.imagePath,
                s.serviceDetails.runtime,
                s.serviceDetails.plan,
                s.serviceDetails.region,
                s.serviceDetails.numInstances,
                s.serviceDetails.healthCheckPath,
            ],
            ["web_service", "keel-api", "no", IMAGE, "image", "starter", "frankfurt", 1, "/healthz"],
        );
        assert.equal(s.serviceDetails.envSpecificDetails.preDeployCommand, "npm run migrate");
        assert.deepEqual(env(result.id), inputs().envVars);
        // One create (with the whole env set in it), no second deploy: the first one is followed.
        assert.equal(posts(/^\/services$/).length, 1);
        assert.equal(posts(/\/deploys$/).length, 0);
        assert.equal(deploysOf(result.id).length, 1);
        assert.equal(fake.status(deploysOf(result.id)[0]), "live");
        assert.deepEqual(
            [outs.serviceId, outs.deployId, outs.deployStatus, outs.suspended, outs.envDigest],
            [result.id, deploysOf(result.id)[0].id, "live", false, envDigest(inputs().envVars)],
        );
        assert.match(outs.url, /^https:\/\/keel-api-[0-9a-f]{4}\.onrender\.com$/);
        assert.equal(outs.url, s.serviceDetails.url);
        // It polled while the deploy ran (one status per poll), and said so.
        const polls = fake.requests.filter((r) => r.method === "GET" && /\/deploys\/dep-/.test(r.path)).map((r) => r.response?.status);
        assert.deepEqual(polls, ["created", "build_in_progress", "update_in_progress", "live"], "polled until live, seeing it build");
        assert.ok(
            lines.some((l) => /created Render service 'keel-api'/.test(l)),
            lines.join("\n"),
        );
        assert.ok(
            lines.some((l) => /: live \(/.test(l)),
            lines.join("\n"),
        );
    });

    it("creates a web service from a repository's Dockerfile (runtime docker)", async () => {
        const { id, outs } = await create(
            inputs({
                source: {
                    kind: "repo",
                    repo: "https://github.com/acme/api",
                    branch: "release",
                    dockerfilePath: "./api/Dockerfile",
                    dockerContext: "api",
                },
            }),
        );
        const s = service(id);
        assert.deepEqual(
            [s.repo, s.branch, s.imagePath, s.serviceDetails.runtime],
            ["https://github.com/acme/api", "release", undefined, "docker"],
        );
        assert.deepEqual(
            [s.serviceDetails.envSpecificDetails.dockerfilePath, s.serviceDetails.envSpecificDetails.dockerContext],
            ["./api/Dockerfile", "api"],
        );
        assert.equal(outs.deployStatus, "live");
        // Nothing left to correct right after: an update with the same inputs mutates nothing.
        const before = fake.requests.length;
        await quiet(() => svc.update!(id, outs, outs));
        assert.deepEqual(
            fake.requests.slice(before).filter((r) => r.method !== "GET"),
            [],
        );
    });

    it("adopts an existing service by name: puts back its settings and env vars, then deploys", async () => {
        const api = renderClient({ apiKey: fake.apiKey, baseUrl: fake.url });
        const existing = await api.createService({
            type: "web_service",
            name: "keel-api",
            ownerId: fake.ownerId,
            autoDeploy: "yes",
            image: { ownerId: fake.ownerId, imagePath: "ghcr.io/acme/api:0.9.0" },
            envVars: [{ key: "LEFTOVER", value: "x" }],
            serviceDetails: { runtime: "image", plan: "standard", region: "frankfurt" },
        });
        fake.finishDeploys(); // its first deploy goes live
        const { result, lines } = await logged(() => svc.create(inputs()));
        assert.equal(result.id, existing.service.id);
        assert.equal(fake.services.length, 1, "adopted, not created");
        assert.equal(posts(/^\/services$/).length, 1, "only the setup's create");
        const s = service(result.id);
        assert.deepEqual(
            [s.autoDeploy, s.imagePath, s.serviceDetails.plan, s.serviceDetails.healthCheckPath],
            ["no", IMAGE, "starter", "/healthz"],
        );
        assert.deepEqual(env(result.id), inputs().envVars, "LEFTOVER removed: the set is replaced whole");
        const deploy = fake.deploys.find((d) => d.id === result.outs!.deployId)!;
        assert.deepEqual([deploy.trigger, deploy.image?.ref, fake.status(deploy)], ["api", IMAGE, "live"]);
        assert.ok(
            lines.some((l) => /exists; adopting it/.test(l)),
            lines.join("\n"),
        );

        // Adopting a service that matches: no mutation at all, its live deploy recorded.
        const before = fake.requests.length;
        const again = await quiet(() => svc.create(inputs()));
        assert.deepEqual(
            fake.requests.slice(before).filter((r) => r.method !== "GET"),
            [],
        );
        assert.equal(again.outs!.deployId, result.outs!.deployId);
    });

    it("a lost create response makes one service, found by name, and its first deploy is followed", async () => {
        fake.dropResponses("POST", /^\/services$/);
        const { result, lines } = await logged(() => svc.create(inputs()));
        assert.equal(fake.services.length, 1, "one service, not two");
        assert.equal(posts(/^\/services$/).length, 1);
        assert.ok(fake.requests.find((r) => r.method === "POST" && r.path === "/services")!.dropped);
        assert.equal(result.id, fake.services[0].id);
        assert.equal(posts(/\/deploys$/).length, 0, "the first deploy was followed, not doubled");
        assert.equal(result.outs!.deployStatus, "live");
        assert.ok(
            lines.some((l) => /was created although the response was lost; adopting it/.test(l)),
            lines.join("\n"),
        );
    });

    it("past Render's 20 service creations an hour: fails at once with Render's limit and wait, creating nothing", async () => {
        fake.useServiceCreations(20);
        const { err } = await failing(() => svc.create(inputs()));
        // At once: the one refused create, no retry (the fake's window is an hour of its own clock, which did not move).
        assert.deepEqual(
            posts(/^\/services$/).map((r) => r.status),
            [429],
        );
        assert.match(err.message, /Render allows 20 service creations an hour and asked to wait 60min \(Retry-After\)/);
        assert.equal(fake.services.length, 0);
    });

    it("an image change: PATCH the image, deploy the new imageUrl, follow it until live", async () => {
        const { id, outs } = await create();
        const next = inputs({ source: { kind: "image", image: "ghcr.io/acme/api:1.1.0" } });
        assert.deepEqual((await svc.diff!(id, outs, next)).replaces ?? [], []);
        assert.equal((await svc.diff!(id, outs, next)).changes, true);
        const before = fake.requests.length;
        const { outs: after } = await quiet(() => svc.update!(id, outs, next));
        const mutations = fake.requests.slice(before).filter((r) => r.method !== "GET");
        assert.deepEqual(
            mutations.map((r) => `${r.method} ${r.path.replace(id, "{id}")}`),
            ["PATCH /services/{id}", "POST /services/{id}/deploys"],
        );
        assert.deepEqual(mutations[0].body, { image: { ownerId: fake.ownerId, imagePath: "ghcr.io/acme/api:1.1.0" } });
        assert.deepEqual(mutations[1].body, { imageUrl: "ghcr.io/acme/api:1.1.0" });
        const deploy = fake.deploys.find((d) => d.id === after!.deployId)!;
        assert.notEqual(after!.deployId, outs.deployId);
        assert.deepEqual([deploy.image?.ref, fake.status(deploy), after!.deployStatus], ["ghcr.io/acme/api:1.1.0", "live", "live"]);
        assert.equal(service(id).imagePath, "ghcr.io/acme/api:1.1.0");
    });

    it("an env var change: one PUT with the whole set, then a deploy followed until live", async () => {
        const { id, outs } = await create();
        const next = inputs({
            envVars: { NODE_ENV: "production", DATABASE_URL: `postgres://app:${SECRET}2@db.example.com/app`, FEATURE_X: "on" },
        });
        const before = fake.requests.length;
        const { outs: after } = await quiet(() => svc.update!(id, outs, next));
        const mutations = fake.requests.slice(before).filter((r) => r.method !== "GET");
        assert.deepEqual(
            mutations.map((r) => `${r.method} ${r.path.replace(id, "{id}")}`),
            ["PUT /services/{id}/env-vars", "POST /services/{id}/deploys"],
        );
        assert.deepEqual(mutations[0].body, [
            { key: "DATABASE_URL", value: next.envVars.DATABASE_URL },
            { key: "FEATURE_X", value: "on" },
            { key: "NODE_ENV", value: "production" },
        ]);
        assert.deepEqual(env(id), next.envVars);
        assert.equal(fake.status(fake.deploys.find((d) => d.id === after!.deployId)!), "live");
        assert.equal(after!.envDigest, envDigest(next.envVars));
    });

    it("numInstances alone scales (POST /scale) without a deploy; bookkeeping alone sends nothing", async () => {
        const { id, outs } = await create();
        let before = fake.requests.length;
        const { outs: scaled } = await quiet(() => svc.update!(id, outs, inputs({ numInstances: 3 })));
        const mutations = fake.requests.slice(before).filter((r) => r.method !== "GET");
        assert.deepEqual(
            mutations.map((r) => [r.method, r.path.replace(id, "{id}"), r.body]),
            [["POST", "/services/{id}/scale", { numInstances: 3 }]],
        );
        assert.equal(service(id).serviceDetails.numInstances, 3);
        assert.equal(scaled!.deployId, outs.deployId);
        before = fake.requests.length;
        await quiet(() => svc.update!(id, scaled!, inputs({ numInstances: 3, protect: true, deployTimeoutSeconds: 20 })));
        assert.deepEqual(
            fake.requests.slice(before).filter((r) => r.method !== "GET"),
            [],
        );
    });

    it("a failed deploy (update_failed) is rolled back to the last live deploy, the previous image put back, and the error says where to look", async () => {
        const { id, outs } = await create();
        fake.failNextDeploy("update_failed");
        const { err, lines } = await failing(() =>
            svc.update!(id, outs, inputs({ source: { kind: "image", image: "ghcr.io/acme/api:broken" } })),
        );
        const failed = fake.deploys.find((d) => d.image?.ref === "ghcr.io/acme/api:broken")!;
        assert.equal(fake.status(failed), "update_failed");
        assert.equal(err.name, "RenderDeployFailedError");
        assert.deepEqual([err.deployId, err.status, err.serviceId], [failed.id, "update_failed", id]);
        assert.ok(err.message.includes(failed.id) && err.message.includes("update_failed"), err.message);
        assert.ok(err.message.includes(`https://dashboard.render.com/web/${id}/deploys/${failed.id}`), err.message);
        assert.match(err.message, new RegExp(`the previous deploy ${outs.deployId} was restored`));
        // The rollback endpoint got the last live deploy, and its deploy went live.
        const rollbacks = posts(/\/rollback$/);
        assert.deepEqual(
            rollbacks.map((r) => r.body),
            [{ deployId: outs.deployId }],
        );
        const rollback = fake.deploys.find((d) => d.trigger === "rollback")!;
        assert.equal(err.restoredDeployId, rollback.id);
        assert.deepEqual([rollback.image?.ref, fake.status(rollback)], [IMAGE, "live"]);
        assert.equal(service(id).imagePath, IMAGE, "the service's image is put back too");
        assert.ok(
            lines.some((l) => /rolling back to the last live deploy/.test(l)),
            lines.join("\n"),
        );
        // The next `pulumi up` (state unchanged after a failure) tries again.
        const { outs: retried } = await quiet(() =>
            svc.update!(id, outs, inputs({ source: { kind: "image", image: "ghcr.io/acme/api:fixed" } })),
        );
        assert.equal(retried!.deployStatus, "live");
        assert.equal(service(id).imagePath, "ghcr.io/acme/api:fixed");
    });

    it("a failed pre-deploy with new env vars: the previous env set is put back before the rollback (which runs with the current env)", async () => {
        const { id, outs } = await create();
        // Someone deployed from the dashboard since: the recorded deploy is no longer live; the live one is the target.
        const api = renderClient({ apiKey: fake.apiKey, baseUrl: fake.url });
        const manual = (await api.createDeploy(id, { imageUrl: IMAGE }))!;
        fake.finishDeploys(); // the dashboard deploy goes live
        fake.failNextDeploy("pre_deploy_failed");
        const next = inputs({ envVars: { NODE_ENV: "production", DATABASE_URL: `postgres://app:${SECRET}@wrong-host/app` } });
        const before = fake.requests.length;
        const { err } = await failing(() => svc.update!(id, outs, next));
        assert.equal(err.status, "pre_deploy_failed");
        const mutations = fake.requests
            .slice(before)
            .filter((r) => r.method !== "GET")
            .map((r) => `${r.method} ${r.path.replace(id, "{id}")}`);
        assert.deepEqual(mutations, [
            "PUT /services/{id}/env-vars",
            "POST /services/{id}/deploys",
            "PUT /services/{id}/env-vars",
            "POST /services/{id}/rollback",
        ]);
        assert.deepEqual(
            posts(/\/rollback$/).map((r) => r.body),
            [{ deployId: manual.id }],
        );
        assert.deepEqual(env(id), inputs().envVars, "the env set the live build ran with is back");
        assert.match(err.message, /Put back the previous env vars/);
    });

    it("a failed first deploy has nothing to roll back to: says so, and the next create adopts the service", async () => {
        fake.failNextDeploy("build_failed");
        const { err } = await failing(() => svc.create(inputs()));
        assert.equal(err.status, "build_failed");
        assert.match(err.message, /no earlier live deploy to roll back to/);
        assert.equal(posts(/\/rollback$/).length, 0);
        const { id, outs } = await create();
        assert.equal(fake.services.length, 1);
        assert.equal(id, fake.services[0].id);
        assert.equal(outs.deployStatus, "live");
    });

    it("a 429 on create-deploy is waited out as Retry-After asks", async () => {
        const { id, outs } = await create();
        fake.inject({ method: "POST", path: /\/deploys$/, status: 429, retryAfter: "1" });
        const { result, lines } = await logged(() =>
            svc.update!(id, outs, inputs({ source: { kind: "image", image: "ghcr.io/acme/api:1.2.0" } })),
        );
        const deployPosts = posts(/\/deploys$/);
        assert.deepEqual(
            deployPosts.map((r) => r.status),
            [429, 201],
        );
        assert.equal(result.outs!.deployStatus, "live");
        // The wait is read off the client's own scheduler, which reports the delay it then sleeps (never timed here).
        assert.ok(
            lines.some((l) => /POST \/services\/.*\/deploys: retrying in 1s \(429 Too Many Requests\)/.test(l)),
            lines.join("\n"),
        );
    });

    it("a deploy queued behind another (202, no id) is found in the list and followed", async () => {
        const { id, outs } = await create();
        fake.answerDeploysQueued();
        const { outs: after } = await quiet(() =>
            svc.update!(id, outs, inputs({ source: { kind: "image", image: "ghcr.io/acme/api:1.3.0" } })),
        );
        const deploy = fake.deploys.find((d) => d.id === after!.deployId)!;
        assert.deepEqual([deploy.image?.ref, fake.status(deploy)], ["ghcr.io/acme/api:1.3.0", "live"]);
    });

    it("refresh: settings changed in the dashboard and suspension are drift, and the next diff puts them back", async () => {
        const { id, outs } = await create();
        const s = service(id);
        s.serviceDetails.plan = "pro";
        s.serviceDetails.healthCheckPath = "/";
        s.imagePath = "ghcr.io/acme/api:hotfix";
        fake.suspend(id);
        const { result, lines } = await logged(() => svc.read!(id, outs));
        const props = result.props!;
        assert.equal(result.id, id);
        assert.equal(props.suspended, true);
        const drift = props.drift.join("\n");
        assert.match(drift, /suspended: by user/);
        assert.match(drift, /plan: 'starter' -> 'pro'/);
        assert.match(drift, /healthCheckPath: '\/healthz' -> '\/'/);
        assert.match(drift, /source.image: 'ghcr.io\/acme\/api:1.0.0' -> 'ghcr.io\/acme\/api:hotfix'/);
        assert.ok(
            lines.some((l) => /drift in Render service 'keel-api'/.test(l)),
            lines.join("\n"),
        );
        assert.equal(props.plan, "pro", "the state takes what Render has");
        const diff = await svc.diff!(id, props, inputs());
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        // A suspended service takes no deploy: a clear error before anything is changed.
        const before = fake.requests.length;
        const { err } = await failing(() => svc.update!(id, props, inputs()));
        assert.equal(err.name, "RenderServiceSuspendedError");
        assert.match(err.message, /is suspended \(by user\).*Resume it in the Render dashboard/);
        assert.deepEqual(
            fake.requests.slice(before).filter((r) => r.method !== "GET"),
            [],
        );
        // Resumed: the update puts plan, health check and image back.
        s.suspended = "not_suspended";
        await quiet(() => svc.update!(id, props, inputs()));
        assert.deepEqual([s.serviceDetails.plan, s.serviceDetails.healthCheckPath, s.imagePath], ["starter", "/healthz", IMAGE]);
    });

    it("refresh: env vars edited in the dashboard are drift by key only; the digest tells the next diff", async () => {
        const { id, outs } = await create();
        fake.envVars.set(id, [
            { key: "NODE_ENV", value: "dashboard-edited-value" },
            { key: "DEBUG", value: "dashboard-added-value" },
        ]);
        const { result, lines } = await logged(() => svc.read!(id, outs));
        const props = result.props!;
        const drift = props.drift.join("\n");
        assert.match(
            drift,
            /envVars: added in the dashboard: DEBUG; removed in the dashboard: DATABASE_URL; changed NODE_ENV \(values not shown\)/,
        );
        const all = [drift, ...lines, JSON.stringify({ ...props, envVars: undefined })].join("\n");
        for (const v of ["dashboard-edited-value", "dashboard-added-value", SECRET]) assert.ok(!all.includes(v), `a value leaked: ${v}`);
        assert.deepEqual(props.envVars, inputs().envVars, "the state keeps the inputs' values, not the live ones");
        assert.notEqual(props.envDigest, outs.envDigest);
        assert.equal((await svc.diff!(id, props, inputs())).changes, true, "the same inputs update, to put the set back");
        const { outs: fixed } = await quiet(() => svc.update!(id, props, inputs()));
        assert.deepEqual(env(id), inputs().envVars);
        assert.equal(fixed!.envDigest, outs.envDigest);
    });

    it("refresh: a service deleted outside Keel drops from the state with a warning", async () => {
        const { id, outs } = await create();
        fake.services.splice(0);
        const { result, lines } = await logged(() => svc.read!(id, outs));
        assert.equal(result.id, "");
        assert.ok(
            lines.some((l) => /no longer exists in Render \(deleted outside Keel\)/.test(l)),
            lines.join("\n"),
        );
    });

    it("diff: name, owner, source kind and region replace, deleting first", async () => {
        const { id, outs } = await create();
        for (const [over, key] of [
            [{ name: "keel-api-2" }, "name"],
            [{ region: "oregon" }, "region"],
            [{ source: { kind: "repo", repo: "https://github.com/acme/api", branch: "main" } }, "source.kind"],
        ] as [Partial<RenderServiceInputs>, string][]) {
            const d = await svc.diff!(id, outs, inputs(over));
            assert.deepEqual([d.changes, d.replaces, d.deleteBeforeReplace], [true, [key], true]);
        }
        assert.deepEqual(await svc.diff!(id, outs, inputs()), { changes: false, replaces: [], deleteBeforeReplace: true });
        const d = await svc.diff!(id, outs, inputs({ plan: "standard", envVars: { ...inputs().envVars, NODE_ENV: "staging" } }));
        assert.deepEqual([d.changes, d.replaces], [true, []]);
    });

    it("delete: refused when the stack protects the service, saying how to delete on purpose; otherwise deleted (twice is fine)", async () => {
        const { id, outs } = await create(inputs({ stack: "prod", protect: true }));
        const { err } = await failing(() => svc.delete!(id, outs));
        assert.equal(err.name, "RenderProtectedError");
        assert.ok(err.message.includes("npm run pulumi -- config set --path keel:backend.allowDelete true --stack prod"), err.message);
        assert.match(err.message, /npm run up -- prod.*npm run destroy -- prod/);
        assert.ok(service(id), "still there");
        assert.equal(fake.mutations(/^\/services\/[^/]+$/).filter((r) => r.method === "DELETE").length, 0);
        await quiet(() => svc.delete!(id, { ...outs, allowDelete: true }));
        assert.equal(fake.services.length, 0);
        await quiet(() => svc.delete!(id, { ...outs, protect: false }));
    });

    it("reads its key from provider config (configure) when the environment has none", async () => {
        const restore = setRenderEnv({ RENDER_API_KEY: undefined, RENDER_API_URL: undefined });
        try {
            const { provider } = await serializedProvider(renderServiceProvider);
            await assert.rejects(
                quiet(() => provider.create(inputs())),
                (e: Error) => /Render API key/.test(e.message) && !e.message.includes(fake.apiKey),
            );
            const config: Record<string, string> = { renderApiKey: fake.apiKey, renderApiUrl: fake.url };
            await provider.configure!({ config: { get: (k: string) => config[k] } } as any);
            const r = await quiet(() => provider.create(inputs()));
            assert.equal(r.outs!.deployStatus, "live");
            await unconfigure(provider);
        } finally {
            restore();
        }
    });

    it("custom domain: adds a domain, outputs its verification status, adopts it on a second create, and recovers a lost response", async () => {
        const { id: serviceId } = await create();
        const { result, lines } = await logged(() => dom.create({ serviceId, name: "API.Example.org" }));
        const d = fake.domains.find((x) => x.name === "api.example.org")!;
        assert.deepEqual(
            [result.id, result.outs!.domainId, result.outs!.verificationStatus, result.outs!.name],
            [d.id, d.id, "unverified", "api.example.org"],
        );
        assert.ok(
            lines.some((l) => /unverified: add a CNAME/.test(l)),
            lines.join("\n"),
        );
        const again = await quiet(() => dom.create({ serviceId, name: "api.example.org" }));
        assert.equal(again.id, d.id);
        assert.equal(posts(/custom-domains$/).length, 1, "adopted, not added twice");

        fake.dropResponses("POST", /custom-domains$/);
        const lost = await quiet(() => dom.create({ serviceId, name: "app.example.org" }));
        assert.equal(lost.id, fake.domains.find((x) => x.name === "app.example.org")!.id);
        assert.equal(fake.domains.filter((x) => x.name === "app.example.org").length, 1);
    });

    it("custom domain: refuses a domain that is on another service, saying where", async () => {
        const { id: a } = await create();
        const { id: b } = await create(inputs({ name: "keel-api-2" }));
        await quiet(() => dom.create({ serviceId: a, name: "api.example.org" }));
        const { err } = await failing(() => dom.create({ serviceId: b, name: "api.example.org" }));
        assert.equal(err.name, "RenderCustomDomainError");
        assert.match(err.message, /already a custom domain of another Render service/);
    });

    it("custom domain: refresh: verification follows Render, a removed domain drops from the state; delete removes it with its www redirect", async () => {
        const { id: serviceId } = await create();
        const { id, outs } = await quiet(() => dom.create({ serviceId, name: "example.com" }));
        assert.deepEqual(fake.domains.map((x) => x.name).sort(), ["example.com", "www.example.com"]);
        fake.domains.find((x) => x.id === id)!.verificationStatus = "verified";
        const read = await quiet(() => dom.read!(id, outs!));
        assert.deepEqual([read.id, read.props!.verificationStatus, read.props!.drift], [id, "verified", []]);
        fake.domains.find((x) => x.id === id)!.verificationStatus = "unverified";
        const unverified = await quiet(() => dom.read!(id, read.props!));
        assert.match(unverified.props!.drift.join("\n"), /verificationStatus: verified -> unverified/);

        await quiet(() => dom.delete!(id, outs!));
        assert.deepEqual(fake.domains, [], "the apex and its www redirect are gone");
        const { result, lines } = await logged(() => dom.read!(id, outs!));
        assert.equal(result.id, "");
        assert.ok(
            lines.some((l) => /is no longer on the service/.test(l)),
            lines.join("\n"),
        );
        await quiet(() => dom.delete!(id, outs!));
        const diff = await dom.diff!(id, outs!, { serviceId, name: "other.example.com" });
        assert.deepEqual([diff.changes, diff.replaces, diff.deleteBeforeReplace], [true, ["name"], true]);
    });

    it("every request body the providers sent (this file's last scenario) matches render.openapi.json", async function () {
        const raw = await loadSpec(this, "render.openapi.json");
        // serviceDetails unions read as anyOf, as test/vendors/renderSpec.test.ts explains.
        for (const name of ["service", "servicePOST", "servicePATCH"]) {
            const sd = raw.components.schemas[name].properties.serviceDetails;
            sd.anyOf = sd.oneOf;
            delete sd.oneOf;
        }
        const spec = new OpenApiSpec(raw, { formats: { "date-time": DATE_TIME, int64: true, float: true, password: true } });
        // A life: create from an image and from a repository, adopt, update everything, scale, fail and roll back, domains, delete.
        const { id, outs } = await create(
            inputs({ preDeployCommand: "npm run migrate", source: { kind: "image", image: IMAGE, registryCredentialId: "rgc-1" } }),
        );
        const repo = await create(
            inputs({
                name: "keel-repo",
                source: {
                    kind: "repo",
                    repo: "https://github.com/acme/api",
                    branch: "main",
                    dockerfilePath: "./Dockerfile",
                    dockerContext: ".",
                },
            }),
        );
        await quiet(() =>
            svc.update!(
                repo.id,
                repo.outs,
                inputs({
                    name: "keel-repo",
                    source: { kind: "repo", repo: "https://github.com/acme/api", branch: "release", dockerfilePath: "./api/Dockerfile" },
                }),
            ),
        );
        const next = inputs({
            plan: "standard",
            healthCheckPath: "/ready",
            numInstances: 2,
            preDeployCommand: "./migrate",
            envVars: { A: "1" },
            source: { kind: "image", image: "ghcr.io/acme/api:2" },
        });
        const { outs: updated } = await quiet(() => svc.update!(id, outs, next));
        fake.failNextDeploy("build_failed");
        await failing(() =>
            svc.update!(id, updated!, {
                ...next,
                envVars: { A: "2" },
                healthCheckPath: "/x",
                source: { kind: "image", image: "ghcr.io/acme/api:3" },
            }),
        );
        await quiet(() => dom.create({ serviceId: id, name: "example.com" }));
        await quiet(() => svc.read!(id, updated!));
        await quiet(() => svc.delete!(repo.id, repo.outs));

        const problems: string[] = [];
        for (const r of fake.requests as LoggedRequest[]) {
            const template = spec.template(r.path);
            const op = template && spec.operation(r.method, template);
            if (!template || !op) {
                problems.push(`${r.method} ${r.path}: no such operation in the spec`);
                continue;
            }
            const label = `${r.method} ${template} -> ${r.status}`;
            if (r.body !== undefined) {
                const at = spec.requestSchema(r.method, template);
                if (!at) problems.push(`${label}: a body the spec does not declare`);
                else problems.push(...spec.validate(at, r.body).map((e) => `${label} request: ${e}`));
            } else if (op.requestBody?.required) problems.push(`${label}: the spec requires a body`);
            if (r.dropped || r.status === undefined) continue;
            const response = spec.responseSchema(r.method, template, r.status);
            if (!response.declared) problems.push(`${label}: status not in the spec`);
            else if (response.at) problems.push(...spec.validate(response.at, r.response).map((e) => `${label} response: ${e}`));
        }
        assert.deepEqual(problems, []);
        const ops = new Set(fake.requests.map((r) => `${r.method} ${spec.template(r.path)}`));
        for (const op of [
            "POST /services",
            "PATCH /services/{serviceId}",
            "PUT /services/{serviceId}/env-vars",
            "POST /services/{serviceId}/deploys",
            "POST /services/{serviceId}/rollback",
            "POST /services/{serviceId}/scale",
            "POST /services/{serviceId}/custom-domains",
        ]) {
            assert.ok(ops.has(op), `the scenario did not send ${op}`);
        }
    });

    it("no secret value in anything printed or thrown across this file, nor in drift", () => {
        assert.ok(printed.length > 50, `expected the file's lines to be collected (${printed.length})`);
        assert.ok(errors.length >= 5, `expected the file's errors to be collected (${errors.length})`);
        for (const text of [...printed, ...errors]) {
            assert.ok(!text.includes(SECRET), `a secret value was printed: ${text}`);
            assert.ok(!text.includes(fake.apiKey), `the API key was printed: ${text}`);
        }
    });
});
