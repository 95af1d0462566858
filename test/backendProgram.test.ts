/**
 * The backend and frontend in the program, under Pulumi's mocks: the graph per
 * kind and stack, secrets only as secrets, prod protections, the database's
 * pooled URL wired in, the backend's URL in the frontend's variables, and
 * config errors before any resource.
 */
import { strict as assert } from "assert";
import { ConfigError } from "../components/errors";
import { migrationsDir } from "./support/migrationsDir";
import { isSecretValue, MockState, RegisteredResource, runProgram, withEnv, unwrap } from "./support/mockProgram";

const URL = "postgres://app:hunter2-password@db.internal:5432/app";
const DYN = (t: string) => `pulumi-nodejs:dynamic/keel:${t}`;
const TOKENS = { FLY_API_TOKEN: "fo1_token", RENDER_API_KEY: "rnd_key", VERCEL_API_TOKEN: "vc_token" };

const childOf = (run: { resources: RegisteredResource[] }, parent: RegisteredResource) =>
    run.resources.filter((r) => r.parent === parent.urn);

describe("program (mocks): backend and frontend", () => {
    const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);" });
    const base = { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir }) };
    const fly = {
        kind: "fly",
        image: "registry.fly.io/shop-prod:1.4.2",
        env: { LOG_LEVEL: "info" },
        fly: { app: "shop-prod", regions: [{ region: "iad", count: 2 }], domains: ["api.shop.example"] },
    };
    const frontend = {
        name: "shop-web",
        framework: "nextjs",
        git: { repo: "shop/web" },
        env: { NEXT_PUBLIC_STAGE: "prod" },
        domains: ["shop.example"],
    };

    it("prod on Fly: protected app, secrets with the pooled database URL, two machines rolled out, the gate, and Vercel pointed at the API", async () => {
        const run = await withEnv(TOKENS, () =>
            runProgram(
                "prod",
                {
                    ...base,
                    "keel:backend": JSON.stringify(fly),
                    "keel:backendSecrets": JSON.stringify({ STRIPE_SECRET_KEY: "sk_live_secret" }),
                    "keel:frontend": JSON.stringify(frontend),
                    "keel:frontendSecrets": JSON.stringify({ SENTRY_AUTH_TOKEN: "sntrys_secret" }),
                },
                ["keel:databaseUrl", "keel:backendSecrets", "keel:frontendSecrets"],
            ),
        );
        const backend = run.one("keel:backend:Backend");
        const schema = run.one("keel:schema:Schema");
        const migrations = run.one(DYN("SchemaMigrations").replace("keel:", "keel:"));
        assert.ok(backend.dependsOn.includes(migrations.urn), "the backend component waits for the schema");
        assert.ok(schema.urn);

        const app = run.one(DYN("FlyApp"));
        assert.equal(app.inputs.name, "shop-prod");
        assert.ok(app.protect && app.retainOnDelete, "prod's Fly app is protected and retained");
        assert.equal(app.inputs.protect, true);

        const secrets = run.one(DYN("FlySecrets"));
        assert.ok(isSecretValue(secrets.inputs.values), "secret values travel as a secret");
        assert.deepEqual(unwrap(secrets.inputs.values), { STRIPE_SECRET_KEY: "sk_live_secret", DATABASE_URL: URL });
        assert.ok(secrets.additionalSecretOutputs.includes("values"));

        const machines = run.one(DYN("FlyMachines"));
        assert.deepEqual(machines.inputs.regions, [{ region: "iad", count: 2 }]);
        assert.ok(machines.protect && machines.retainOnDelete, "prod machines outlive a destroy like the app");
        assert.equal(machines.inputs.strategy, "rolling");
        assert.equal(machines.inputs.image, "registry.fly.io/shop-prod:1.4.2");
        assert.deepEqual(machines.inputs.env, { LOG_LEVEL: "info" }, "plain env only: secrets reach machines through app secrets");
        assert.equal(machines.inputs.secretsVersion, 3, "machines wait for the secrets version just set");
        assert.equal(machines.inputs.service.autostop, "off");
        assert.equal(machines.inputs.healthCheck.path, "/healthz");
        assert.ok(machines.dependsOn.includes(secrets.urn));
        assert.ok(machines.dependsOn.includes(migrations.urn), "the new version rolls out only after the schema is migrated");

        assert.equal(run.one(DYN("FlyCertificate")).inputs.hostname, "api.shop.example");
        assert.deepEqual([run.one(DYN("FlyIpAddresses")).inputs.sharedIpv4, run.one(DYN("FlyIpAddresses")).inputs.ipv6], [true, true]);

        const gate = run.one(DYN("HealthGate"));
        assert.equal(
            gate.inputs.url,
            "https://shop-prod.fly.dev/healthz",
            "the gate checks the platform host (a custom domain may wait for DNS)",
        );
        assert.equal(gate.inputs.release, "registry.fly.io/shop-prod:1.4.2#1");
        assert.match(gate.inputs.logsHint, /fly logs -a shop-prod/);
        assert.ok(gate.dependsOn.includes(machines.urn));

        // No dynamic resource carries a secret in plain text (serialized providers included).
        for (const r of run.resources) {
            const plain = JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? "[secret]" : v));
            for (const s of ["sk_live_secret", "hunter2-password", "sntrys_secret", "fo1_token", "vc_token"])
                assert.ok(!plain.includes(s), `${r.type} ${r.name} carries ${s}`);
        }

        // Frontend: protected project, variables for production and preview, the API's URL among them.
        const project = run.one("vercel:index/project:Project");
        assert.ok(project.protect && project.retainOnDelete);
        assert.deepEqual(project.inputs.gitRepository, { type: "github", repo: "shop/web", productionBranch: "main" });
        const vars: Record<string, RegisteredResource> = Object.fromEntries(
            run.ofType("vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable").map((v) => [v.inputs.key, v]),
        );
        assert.deepEqual(Object.keys(vars).sort(), ["NEXT_PUBLIC_API_URL", "NEXT_PUBLIC_STAGE", "SENTRY_AUTH_TOKEN"]);
        // The Vercel SDK keeps every variable's value secret in the state; the URL is no secret but that costs nothing.
        assert.equal(unwrap(vars.NEXT_PUBLIC_API_URL.inputs.value), "https://api.shop.example");
        for (const v of Object.values(vars)) {
            assert.deepEqual(v.inputs.targets, ["production", "preview"]);
            assert.ok(v.deleteBeforeReplace, `${v.inputs.key}: a changed variable is deleted first (ENV_ALREADY_EXISTS)`);
        }
        assert.equal(vars.SENTRY_AUTH_TOKEN.inputs.sensitive, true);
        assert.ok(isSecretValue(vars.SENTRY_AUTH_TOKEN.inputs.value));
        assert.equal(vars.NEXT_PUBLIC_STAGE.inputs.sensitive, false);
        assert.equal(run.one("vercel:index/projectDomain:ProjectDomain").inputs.domain, "shop.example");

        assert.deepEqual(run.outputs.backendUrl, { value: "https://api.shop.example", secret: false });
        assert.deepEqual(run.outputs.backendHealthUrl.value, "https://shop-prod.fly.dev/healthz");
        assert.deepEqual(run.outputs.backendImage.value, "registry.fly.io/shop-prod:1.4.2");
        assert.deepEqual(run.outputs.flyMachineIds.value, ["m-1", "m-2"]);
        assert.deepEqual(run.outputs.frontendUrl.value, "https://shop.example");
        assert.equal(run.outputs.renderDeployId, undefined);
    });

    it("staging on Render: an unprotected service with the whole env set as one secret, its domain, the gate on the deploy", async () => {
        const render = {
            kind: "render",
            image: "ghcr.io/shop/api:2.0.0",
            env: { LOG_LEVEL: "debug" },
            render: { ownerId: "tea-abc123", domains: ["api.staging.shop.example"], preDeployCommand: "node dist/scripts/schema.js apply" },
        };
        const run = await withEnv(TOKENS, () =>
            runProgram(
                "staging",
                { ...base, "keel:backend": JSON.stringify(render), "keel:backendSecrets": JSON.stringify({ API_SECRET: "s3cr3t" }) },
                ["keel:databaseUrl", "keel:backendSecrets"],
            ),
        );
        const service = run.one(DYN("RenderService"));
        assert.equal(service.protect, false);
        assert.equal(service.inputs.name, "keel-staging");
        assert.equal(service.inputs.numInstances, 1);
        assert.deepEqual(service.inputs.source, { kind: "image", image: "ghcr.io/shop/api:2.0.0" });
        assert.ok(isSecretValue(service.inputs.envVars));
        assert.deepEqual(unwrap(service.inputs.envVars), { LOG_LEVEL: "debug", API_SECRET: "s3cr3t", DATABASE_URL: URL });
        assert.ok(service.additionalSecretOutputs.includes("envVars"));
        assert.equal(run.one(DYN("RenderCustomDomain")).inputs.name, "api.staging.shop.example");
        const gate = run.one(DYN("HealthGate"));
        assert.equal(gate.inputs.url, "https://keel-staging.onrender.com/healthz");
        assert.equal(gate.inputs.release, "dep-1");
        assert.match(gate.inputs.logsHint, /dashboard\.render\.com\/web\/srv-1\/deploys\/dep-1/);
        assert.equal(run.ofType(DYN("FlyApp")).length, 0);
        assert.deepEqual(run.outputs.renderDeployId.value, "dep-1");
        assert.deepEqual(run.outputs.backendUrl.value, "https://api.staging.shop.example");
        assert.equal(run.outputs.frontendUrl, undefined);
    });

    it("a Dockerfile build is pushed to registry.fly.io with the token as a secret and deployed by digest", async () => {
        const build = { ...fly, image: undefined, build: { context: "api" } };
        const run = await withEnv(TOKENS, () =>
            runProgram("staging", { ...base, "keel:backend": JSON.stringify(build) }, ["keel:databaseUrl"]),
        );
        const image = run.one("docker:index/image:Image");
        assert.equal(image.inputs.imageName, "registry.fly.io/shop-prod:keel-staging");
        assert.equal(image.inputs.build.context, "api");
        assert.ok(isSecretValue(image.inputs.registry), "the registry credentials travel as a secret");
        assert.deepEqual(unwrap(image.inputs.registry), { server: "registry.fly.io", username: "x", password: "fo1_token" });
        assert.equal(image.inputs.buildOnPreview, false, "a preview never builds or pushes");
        assert.equal(run.one(DYN("FlyMachines")).inputs.image, `registry.fly.io/shop-prod@sha256:${"a".repeat(64)}`);
    });

    it("dev without keel:backend declares no backend or frontend", async () => {
        const run = await runProgram("dev", base, ["keel:databaseUrl"]);
        assert.equal(run.ofType("keel:backend:Backend").length, 0);
        assert.equal(run.ofType("keel:frontend:Frontend").length, 0);
        assert.equal(run.outputs.backendUrl, undefined);
    });

    it("a fly backend without region or image fails before any resource, with both fixes", async () => {
        let created = 0;
        const counting: MockState = () => (created++, {});
        await assert.rejects(
            withEnv(TOKENS, () =>
                runProgram("prod", { ...base, "keel:backend": JSON.stringify({ kind: "fly" }) }, ["keel:databaseUrl"], counting),
            ),
            (e: Error) => {
                assert.ok((e as any).cause instanceof ConfigError, String(e));
                assert.match(e.message, /keel:backend\.image: is not set/);
                assert.match(e.message, /keel:backend\.fly\.regions: is not set/);
                assert.match(
                    e.message,
                    /fix: npm run pulumi -- config set --path keel:backend\.fly\.regions\[0\]\.region iad --stack prod/,
                );
                return true;
            },
        );
        assert.equal(created, 0, "no resource was declared");
    });

    it("the backend's children hang under it (one tree per kind)", async () => {
        const run = await withEnv(TOKENS, () => runProgram("prod", { ...base, "keel:backend": JSON.stringify(fly) }, ["keel:databaseUrl"]));
        const flyBackend = run.one("keel:backend:FlyBackend");
        assert.equal(flyBackend.parent, run.one("keel:backend:Backend").urn);
        const children = childOf(run, flyBackend)
            .map((r) => r.type.replace(DYN(""), ""))
            .sort();
        assert.deepEqual(children, [
            "FlyApp",
            "FlyCertificate",
            "FlyIpAddresses",
            "FlyMachines",
            "FlySecrets",
            "HealthGate",
            "keel:backend:Image",
        ]);
    });
});
