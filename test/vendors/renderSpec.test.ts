/**
 * Spec conformance: a life of Render services (every service type created,
 * found by name, updated, env vars replaced and set, deploys made, waited for,
 * canceled and rolled back, custom domains added, verified and removed,
 * errors, rate limits, deletes) runs against the fake Render API, then every
 * response the fake sent is validated against the response schema of its
 * operation in shared/specs/render.openapi.json, and every request body the
 * client sent against the operation's request schema (Ajv 8; OpenAPI 3.0
 * `nullable` is understood by Ajv).
 *
 * One relaxation, checked below: the spec's `serviceDetails` unions are
 * `oneOf`s whose branches overlap: staticSiteDetailsPOST and every *PATCH
 * variant require nothing, so any create or update body with serviceDetails
 * matches two or more; a web service's details hold every field
 * privateServiceDetails requires, and a private service's every field
 * backgroundWorkerDetails requires, so those responses match two. Read
 * strictly, no web service (request or response) is valid. They are read
 * as `anyOf`.
 */
import { strict as assert } from "assert";
import { renderClient, waitForDeploy } from "../../components/vendors/render";
import { FakeRender, LoggedRequest } from "../support/fakeRender";
import { DATE_TIME, loadSpec, OpenApiOptions, OpenApiSpec } from "../support/openapi";

/** The serviceDetails unions, as anyOf (see above). */
function relaxServiceDetails(spec: any): any {
    const copy = JSON.parse(JSON.stringify(spec));
    for (const name of ["service", "servicePOST", "servicePATCH"]) {
        const sd = copy.components.schemas[name].properties.serviceDetails;
        sd.anyOf = sd.oneOf;
        delete sd.oneOf;
    }
    return copy;
}

const OPTIONS: OpenApiOptions = { formats: { "date-time": DATE_TIME, int64: true, float: true, password: true } };

describe("Render API spec conformance (fake and client against render.openapi.json)", function () {
    let fake: FakeRender;
    let raw: any;
    let index: OpenApiSpec;

    before(async function () {
        raw = await loadSpec(this, "render.openapi.json");
        index = new OpenApiSpec(relaxServiceDetails(raw), OPTIONS);
        fake = await FakeRender.start();
    });

    after(async () => {
        await fake?.stop();
    });

    it("maps paths to templates, rejects wrong shapes, and shows why serviceDetails is read as anyOf", () => {
        assert.equal(index.template("/services/srv-1/env-vars/KEY"), "/services/{serviceId}/env-vars/{envVarKey}");
        assert.equal(
            index.template("/services/srv-1/custom-domains/a.example.com/verify"),
            "/services/{serviceId}/custom-domains/{customDomainIdOrName}/verify",
        );
        const deploy = index.responseSchema("GET", "/services/{serviceId}/deploys/{deployId}", 200).at!;
        assert.notDeepEqual(index.validate(deploy, { id: "dep-1", status: "finished" }), []);
        const service = index.responseSchema("GET", "/services/{serviceId}", 200).at!;
        assert.ok(index.validate(service, { id: "srv-1", name: "api" }).some((e) => /must have required property 'slug'/.test(e)));
        // The strict spec rejects a perfectly ordinary web service create body.
        const strict = new OpenApiSpec(raw, OPTIONS);
        const post = strict.requestSchema("POST", "/services")!;
        const body = { type: "web_service", name: "api", ownerId: "tea-1", serviceDetails: { runtime: "node" } };
        assert.ok(strict.validate(post, body).some((e) => /must match exactly one schema in oneOf/.test(e)));
        assert.deepEqual(index.validate(index.requestSchema("POST", "/services")!, body), []);
    });

    it("every response of the fake and every request body of the client match the spec", async () => {
        const api = renderClient({ apiKey: fake.apiKey, baseUrl: fake.url, policy: { baseDelayMs: 10 } });
        const ownerId = fake.ownerId;
        const wait = { pollMs: 10, timeoutS: 10 };
        // Every service type.
        const webSvc = await api.createService({
            type: "web_service",
            name: "api",
            ownerId,
            repo: "https://github.com/acme/api",
            branch: "main",
            autoDeploy: "no",
            envVars: [
                { key: "NODE_ENV", value: "production" },
                { key: "SESSION_SECRET", generateValue: true },
            ],
            serviceDetails: {
                runtime: "node",
                plan: "starter",
                region: "frankfurt",
                numInstances: 1,
                healthCheckPath: "/healthz",
                envSpecificDetails: { buildCommand: "npm ci", startCommand: "node server.js" },
            },
        });
        const dockerSvc = await api.createService({
            type: "web_service",
            name: "api-image",
            ownerId,
            image: { ownerId, imagePath: "ghcr.io/acme/api:1.2.3" },
            serviceDetails: { runtime: "image", plan: "standard", region: "oregon" },
        });
        await api.createService({
            type: "private_service",
            name: "internal",
            ownerId,
            repo: "https://github.com/acme/internal",
            serviceDetails: { runtime: "docker" },
        });
        await api.createService({
            type: "background_worker",
            name: "worker",
            ownerId,
            repo: "https://github.com/acme/api",
            serviceDetails: { runtime: "python" },
        });
        await api.createService({
            type: "cron_job",
            name: "nightly",
            ownerId,
            repo: "https://github.com/acme/api",
            serviceDetails: { runtime: "go", schedule: "0 3 * * *" },
        });
        await api.createService({
            type: "static_site",
            name: "web",
            ownerId,
            repo: "https://github.com/acme/web",
            serviceDetails: { buildCommand: "npm run build", publishPath: "dist" },
        });
        const id = webSvc.service.id;
        fake.suspend(dockerSvc.service.id);
        // Lookups and updates.
        await api.findServicesByName("api", ownerId);
        await api.listServices({ type: ["web_service"], suspended: "suspended" });
        await api.getService(id);
        await api.updateService(id, {
            autoDeploy: "yes",
            branch: "release",
            serviceDetails: { plan: "standard", healthCheckPath: "/ready" },
        });
        await api.updateService(dockerSvc.service.id, { image: { ownerId, imagePath: "ghcr.io/acme/api:1.2.4" } });
        // Env vars.
        await api.getEnvVars(id);
        await api.replaceEnvVars(id, [
            { key: "A", value: "1" },
            { key: "TOKEN", generateValue: true },
        ]);
        await api.setEnvVar(id, "B", "2");
        await api.getEnvVar(id, "B");
        await api.deleteEnvVar(id, "B");
        await api.getEnvVar(id, "B");
        // Deploys: the first one, another with options, a failure, a cancel, a rollback.
        const first = await waitForDeploy(api, id, webSvc.deployId!, wait);
        const second = (await api.createDeploy(id, { clearCache: "clear", commitId: "0123456789abcdef0123456789abcdef01234567" }))!;
        await waitForDeploy(api, id, second.id, wait);
        fake.failNextDeploy("build_failed");
        const broken = (await api.createDeploy(id, { clearCache: "do_not_clear" }))!;
        await waitForDeploy(api, id, broken.id, wait).catch(() => undefined);
        fake.deployPollsPerStep = Infinity; // stays `created` until canceled
        const slow = (await api.createDeploy(id))!;
        await api.cancelDeploy(id, slow.id);
        await api.cancelDeploy(id, first.id).catch(() => undefined); // 400: it is no longer in progress
        fake.deployPollsPerStep = 1;
        const back = await api.rollback(id, first.id);
        await waitForDeploy(api, id, back.id, wait);
        fake.answerDeploysQueued();
        const queued = await api.createDeploy(id);
        assert.equal(queued, undefined);
        await api.cancelDeploy(id, (await api.listDeploys(id, { limit: 1 }))[0].id);
        await api.listDeploys(id);
        await api.listDeploys(id, { status: ["live", "deactivated"], limit: 2 });
        await api.createDeploy(dockerSvc.service.id, { imageUrl: "ghcr.io/acme/api:1.2.5" }).catch(() => undefined); // 400: suspended
        // Custom domains.
        await api.createCustomDomain(id, "example.com");
        await api.createCustomDomain(id, "api.example.org");
        await api.createCustomDomain(id, "api.example.org").catch(() => undefined); // 409
        await api.listCustomDomains(id);
        await api.verifyCustomDomain(id, "api.example.org");
        await api.getCustomDomain(id, "api.example.org");
        await api.deleteCustomDomain(id, "www.example.com");
        await api.getCustomDomain(id, "www.example.com");
        // Errors: 404, 429 (retried and past a limit), 500 (retried).
        await api.getService("srv-missing").catch(() => undefined);
        fake.inject({ method: "GET", path: /^\/services\/[^/]+\/deploys$/, status: 429, retryAfter: "0" });
        fake.inject({ method: "GET", path: /^\/services\/[^/]+\/deploys$/, status: 500 });
        await api.listDeploys(id);
        fake.useServiceCreations(20);
        await api
            .createService({ type: "web_service", name: "one-too-many", ownerId, serviceDetails: { runtime: "node" } })
            .catch(() => undefined);
        // Deletes, and deletes of what is already gone.
        await api.deleteCustomDomain(id, "example.com");
        await api.deleteService(id);
        await api.deleteService(id);

        const problems: string[] = [];
        const seen = new Set<string>();
        for (const r of fake.requests as LoggedRequest[]) {
            const template = index.template(r.path);
            if (!template || !index.operation(r.method, template)) {
                problems.push(`${r.method} ${r.path}: no such operation in the spec`);
                continue;
            }
            const op = index.operation(r.method, template)!;
            seen.add(op.operationId);
            const label = `${r.method} ${template} (${op.operationId}) -> ${r.status}`;
            if (r.body !== undefined) {
                const at = index.requestSchema(r.method, template);
                if (!at) problems.push(`${label}: the client sent a body the spec does not declare`);
                else problems.push(...index.validate(at, r.body).map((e) => `${label} request: ${e}`));
            } else if (op.requestBody?.required) {
                problems.push(`${label}: the spec requires a body and the client sent none`);
            }
            if (r.dropped) continue;
            const response = index.responseSchema(r.method, template, r.status!);
            if (!response.declared) problems.push(`${label}: status not in the spec`);
            else if (response.at) problems.push(...index.validate(response.at, r.response).map((e) => `${label} response: ${e}`));
            else if (r.response !== undefined) problems.push(`${label}: a body where the spec declares none`);
        }
        assert.deepEqual(problems, []);

        const needed = [
            "create-service",
            "retrieve-service",
            "update-service",
            "delete-service",
            "list-services",
            "get-env-vars-for-service",
            "update-env-vars-for-service",
            "retrieve-env-var",
            "update-env-var",
            "delete-env-var",
            "create-deploy",
            "list-deploys",
            "retrieve-deploy",
            "cancel-deploy",
            "rollback-deploy",
            "create-custom-domain",
            "list-custom-domains",
            "retrieve-custom-domain",
            "delete-custom-domain",
            "refresh-custom-domain",
        ];
        assert.deepEqual(
            needed.filter((op) => !seen.has(op)),
            [],
            "operations the scenario did not exercise",
        );
        const statuses = new Set(fake.requests.map((r) => r.status));
        for (const s of [200, 201, 202, 204, 400, 404, 409, 429, 500]) assert.ok(statuses.has(s), `no ${s} answer was checked`);
    });
});
