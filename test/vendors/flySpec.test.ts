/**
 * Spec conformance: a scenario drives every operation Keel's Fly backend uses
 * (apps, machines, leases, secrets, IP assignments, waits, errors, injected
 * faults) through the client against the fake Fly API; then every response the
 * fake sent is validated against its operation's response schema in
 * shared/specs/fly-machines.openapi.yml, every request body the client sent
 * against the request schema, and every query parameter against the declared
 * parameters. OpenAPI 3.0 `nullable` is understood by Ajv 8.
 *
 * The spec declares almost no error statuses: an answer with a status the
 * operation does not declare must be an error (>= 400) whose body is an
 * ErrorResponse. One schema is corrected where the spec contradicts itself:
 * Secrets_update's `values` may hold null ("nil to unset", says the request
 * body's description), so its additionalProperties are made nullable here.
 */
import { strict as assert } from "assert";
import { flyClient, FlyClient } from "../../components/vendors/fly";
import { FakeFly, LoggedFlyRequest } from "../support/fakeFly";
import { loadSpec, OpenApiSpec, Operation } from "../support/openapi";

/** Query parameters against the declared ones (type, enum, required). */
function checkQuery(op: Operation, query: Record<string, string>): string[] {
    const declared = (op.parameters ?? []).filter((p) => p.in === "query");
    const problems: string[] = [];
    for (const [name, value] of Object.entries(query)) {
        const param = declared.find((p) => p.name === name);
        if (!param) {
            problems.push(`query ${name} is not declared`);
            continue;
        }
        const schema = param.schema ?? {};
        if (schema.type === "integer" && !/^-?\d+$/.test(value)) problems.push(`query ${name}=${value} is not an integer`);
        if (schema.type === "boolean" && !["true", "false"].includes(value)) problems.push(`query ${name}=${value} is not a boolean`);
        if (schema.enum && !value.split(",").every((v) => schema.enum.includes(v)))
            problems.push(`query ${name}=${value} is not one of ${schema.enum.join(", ")}`);
    }
    for (const p of declared) if (p.required && !(p.name in query)) problems.push(`query ${p.name} is required`);
    return problems;
}

describe("Fly Machines API spec conformance (fake and client against fly-machines.openapi.yml)", function () {
    let fake: FakeFly;
    let index: OpenApiSpec;

    before(async function () {
        const spec = await loadSpec(this, "fly-machines.openapi.yml");
        // "Update app secret request, with values to set, or nil to unset": the schema forgot nullable.
        spec.components.schemas.AppSecretsUpdateRequest.properties.values.additionalProperties.nullable = true;
        // The spec declares no `default` responses; an undeclared status is checked below, not read as one.
        index = new OpenApiSpec(spec, { defaultResponse: false });
        fake = await FakeFly.start();
    });

    after(async () => {
        await fake?.stop();
    });

    it("maps concrete paths to the spec's templates, literals first, and its validators reject wrong shapes", () => {
        assert.equal(index.template("/apps/web/machines/abc/wait"), "/apps/{app_name}/machines/{machine_id}/wait");
        assert.equal(index.template("/apps/web/machines/abc"), "/apps/{app_name}/machines/{machine_id}");
        assert.equal(index.template("/apps/web/secrets"), "/apps/{app_name}/secrets");
        const machine = index.responseSchema("GET", "/apps/{app_name}/machines/{machine_id}", 200).at!;
        assert.notDeepEqual(index.validate(machine, { id: 7, state: ["started"] }), []);
        const lease = index.responseSchema("GET", "/apps/{app_name}/machines/{machine_id}/lease", 200).at!;
        assert.notDeepEqual(index.validate(lease, { expires_at: "2026-01-01T00:00:00Z" }), [], "expires_at is unix seconds");
        const update = index.requestSchema("POST", "/apps/{app_name}/secrets")!;
        assert.deepEqual(index.validate(update, { values: { A: "1", B: null } }), [], "null unsets");
        assert.notDeepEqual(index.validate(update, { values: { A: 1 } }), []);
    });

    it("every response of the fake and every request of the client match the spec", async () => {
        const fly: FlyClient = flyClient({ token: fake.token, baseUrl: fake.url, policy: { baseDelayMs: 10 }, leaseConflictBudgetMs: 0 });
        const swallow = (p: Promise<unknown>) => p.catch(() => undefined);

        // Apps.
        await fly.createApp({ name: "keel-web", org_slug: "personal", network: "default" });
        await fly.getApp("keel-web");
        await fly.listApps("personal");
        await swallow(fly.createApp({ name: "keel-web", org_slug: "personal" }));
        await swallow(fly.getApp("nope"));

        // Secrets first, so machines pick them up.
        const { version } = await fly.updateSecrets("keel-web", { DATABASE_URL: "postgres://x", OLD: "1" });
        await fly.updateSecrets("keel-web", { OLD: null });
        await fly.setSecret("keel-web", "API_KEY", "k");
        await fly.getSecret("keel-web", "API_KEY", { showSecrets: true });
        await fly.listSecrets("keel-web", { showSecrets: false, minVersion: version });
        await fly.deleteSecret("keel-web", "API_KEY");
        await swallow(fly.deleteSecret("keel-web", "API_KEY"));

        // Machines: create with flyctl's metadata, checks and services; wait, update, stop, start, delete.
        const config = {
            image: "registry.fly.io/keel-web:v1",
            env: { PORT: "8080" },
            metadata: { fly_platform_version: "v2", fly_process_group: "app" },
            guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
            services: [
                {
                    protocol: "tcp",
                    internal_port: 8080,
                    autostart: true,
                    autostop: "stop",
                    ports: [
                        { port: 443, handlers: ["tls", "http"] },
                        { port: 80, handlers: ["http"], force_https: true },
                    ],
                },
            ],
            checks: {
                http: { type: "http", port: 8080, path: "/healthz", method: "GET", interval: "10s", timeout: "2s", grace_period: "5s" },
            },
            restart: { policy: "on-failure", max_retries: 3 },
        };
        const m = await fly.createMachine("keel-web", { name: "app-1", region: "ams", config, min_secrets_version: 2, lease_ttl: 30 });
        await fly.waitForState("keel-web", m.id, "started", { instanceId: m.instance_id, timeoutS: 10 });
        await fly.waitForChecks("keel-web", m.id, { timeoutS: 5, pollMs: 20 });
        const lease = await fly.getLease("keel-web", m.id);
        await fly.createLease("keel-web", m.id, { ttl: 60, description: "keel up" }, { nonce: m.nonce });
        await swallow(fly.updateMachine("keel-web", m.id, { config })); // no nonce: 409
        const updated = await fly.updateMachine(
            "keel-web",
            m.id,
            { config: { ...config, image: "registry.fly.io/keel-web:v2" }, current_version: m.instance_id, min_secrets_version: 2 },
            { nonce: m.nonce },
        );
        await fly.waitForState("keel-web", m.id, "started", { version: updated.instance_id, timeoutS: 10 });
        await fly.stopMachine("keel-web", m.id, { signal: "SIGINT", timeout: "10s" }, { nonce: m.nonce });
        await fly.waitMachine("keel-web", m.id, { state: "stopped", timeoutS: 5 });
        await fly.startMachine("keel-web", m.id, { nonce: m.nonce });
        await fly.releaseLease("keel-web", m.id, lease.nonce ?? m.nonce!);
        await swallow(fly.getLease("keel-web", m.id));
        await fly.listMachines("keel-web", { include_deleted: false, region: "ams", summary: false });
        await fly.getMachine("keel-web", m.id);
        await swallow(fly.deleteMachine("keel-web", m.id)); // running: 412
        fake.inject({ method: "GET", path: /\/wait$/, status: 408, error: "deadline_exceeded: machine did not reach state" });
        await fly.waitForState("keel-web", m.id, "started", { timeoutS: 5 });
        const other = await fly.createMachine("keel-web", { config: { image: "nginx:1.27" }, skip_launch: true });
        await fly.waitForState("keel-web", other.id, "stopped", { timeoutS: 5 });
        await fly.deleteMachine("keel-web", m.id, { force: true });
        await fly.waitForState("keel-web", m.id, "destroyed", { timeoutS: 5 });
        await fly.listMachines("keel-web", { include_deleted: true });
        await swallow(fly.getMachine("keel-web", "0000000000"));

        // IP assignments.
        const v6 = await fly.assignIp("keel-web", { type: "v6", region: "global" });
        await fly.assignIp("keel-web", { type: "shared_v4", service_name: "app" });
        await fly.listIpAssignments("keel-web");

        // TLS certificates (ACME), with the app's addresses in their DNS requirements.
        await fly.requestAcmeCertificate("keel-web", "api.example.com");
        await swallow(fly.requestAcmeCertificate("keel-web", "api.example.com")); // exists: 422
        await fly.getCertificate("keel-web", "api.example.com");
        await fly.listCertificates("keel-web", { filter: "example", limit: 10 });
        await fly.checkCertificate("keel-web", "api.example.com");
        fake.apps.get("keel-web")!.certificates.get("api.example.com")!.dnsConfigured = true;
        await fly.checkCertificate("keel-web", "api.example.com");
        await fly.getCertificate("keel-web", "api.example.com");
        await fly.deleteCertificate("keel-web", "api.example.com");
        await swallow(fly.getCertificate("keel-web", "api.example.com"));
        await fly.releaseIp("keel-web", v6.ip!);
        await swallow(fly.releaseIp("keel-web", v6.ip!));

        // Faults: 429 (Retry-After 0), 500 and 503 on reads, a lost create.
        fake.inject({ method: "GET", path: /^\/apps\/keel-web$/, status: 429, retryAfter: "0" });
        fake.inject({ method: "GET", path: /^\/apps\/keel-web$/, status: 500 });
        fake.inject({ method: "GET", path: /^\/apps\/keel-web$/, status: 503 });
        await fly.getApp("keel-web");
        fake.dropResponses("POST", /\/ip_assignments$/);
        await swallow(fly.assignIp("keel-web", { type: "v4" }));
        await swallow(flyClient({ token: "fo1_wrong", baseUrl: fake.url }).listApps("personal"));

        // And away.
        await fly.deleteApp("keel-web");

        const problems: string[] = [];
        const seen = new Set<string>();
        const undeclared = new Set<string>();
        const check = (r: LoggedFlyRequest) => {
            const template = index.template(r.path);
            const op = template ? index.operation(r.method, template) : undefined;
            if (!template || !op) {
                problems.push(`${r.method} ${r.path}: no such operation in the spec`);
                return;
            }
            seen.add(op.operationId);
            const label = `${r.method} ${template} (${op.operationId}) -> ${r.status}`;
            problems.push(...checkQuery(op, r.query).map((e) => `${label}: ${e}`));
            const nonceParam = (op.parameters ?? []).find((p) => p.in === "header" && p.name === "fly-machine-lease-nonce");
            if (nonceParam?.required && !r.nonce) problems.push(`${label}: the required fly-machine-lease-nonce header is missing`);
            if (r.body !== undefined) {
                const at = index.requestSchema(r.method, template);
                if (!at) problems.push(`${label}: the client sent a body the spec does not declare`);
                else problems.push(...index.validate(at, r.body).map((e) => `${label} request: ${e}`));
            }
            if (r.dropped || r.status === 401) {
                if (r.status === 401)
                    problems.push(
                        ...index.validate(["components", "schemas", "ErrorResponse"], r.response).map((e) => `${label} response: ${e}`),
                    );
                return;
            }
            const response = index.responseSchema(r.method, template, r.status!);
            if (!response.declared) {
                if (r.status! < 400) problems.push(`${label}: a success status the spec does not declare`);
                else {
                    undeclared.add(`${op.operationId} ${r.status}`);
                    problems.push(
                        ...index.validate(["components", "schemas", "ErrorResponse"], r.response).map((e) => `${label} error body: ${e}`),
                    );
                }
            } else if (response.at) problems.push(...index.validate(response.at, r.response).map((e) => `${label} response: ${e}`));
            else if (r.response !== undefined) problems.push(`${label}: a body where the spec declares none`);
        };
        fake.requests.forEach(check);
        assert.deepEqual(problems, []);

        const needed = [
            "Apps_list",
            "Apps_create",
            "Apps_show",
            "Apps_delete",
            "Machines_create",
            "Machines_update",
            "Machines_show",
            "Machines_list",
            "Machines_delete",
            "Machines_wait",
            "Machines_start",
            "Machines_stop",
            "Machines_show_lease",
            "Machines_create_lease",
            "Machines_release_lease",
            "Secrets_list",
            "Secrets_update",
            "Secret_get",
            "Secret_create",
            "Secret_delete",
            "App_IPAssignments_list",
            "App_IPAssignments_create",
            "App_IPAssignments_delete",
            "App_Certificates_list",
            "App_Certificates_acme_create",
            "App_Certificates_show",
            "App_Certificates_delete",
            "App_Certificates_check",
        ];
        assert.deepEqual(
            needed.filter((id) => !seen.has(id)),
            [],
            "operations the scenario did not exercise",
        );
        const statuses = new Set(fake.requests.map((r) => r.status));
        for (const s of [200, 201, 202, 204, 404, 408, 409, 412, 422, 429, 500, 503])
            assert.ok(statuses.has(s), `no ${s} answer was checked`);
        // What the spec leaves out: errors other than 400 are nowhere declared (see the report in the commit).
        assert.ok(
            undeclared.has("Apps_show 404") && undeclared.has("Machines_wait 408") && undeclared.has("Machines_update 409"),
            [...undeclared].join(", "),
        );
    });
});
