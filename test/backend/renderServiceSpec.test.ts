/**
 * The Render web service provider's pure parts: the bodies it sends, the
 * patch from a live service to the inputs (and back), the diff, drift and the
 * env digest. No network, no Pulumi.
 */
import { strict as assert } from "assert";
import type { Service } from "../../components/vendors/render";
import { UNKNOWN } from "../../components/providerContext";
import {
    checkInputs,
    createBody,
    deployLogsUrl,
    diffInputs,
    envDiff,
    envDigest,
    envVarList,
    inputsFromLive,
    RenderServiceInputs,
    RenderServiceOutputs,
    revertPatch,
    serviceDrift,
    settingsPatch,
} from "../../components/backend/render/serviceSpec";

const SECRET = "pa55-w0rd-never-shown";

function inputs(over: Partial<RenderServiceInputs> = {}): RenderServiceInputs {
    return {
        name: "keel-api",
        stack: "staging",
        protect: false,
        allowDelete: false,
        ownerId: "tea-1",
        source: { kind: "image", image: "ghcr.io/acme/api:1.0.0" },
        plan: "starter",
        region: "frankfurt",
        numInstances: 1,
        healthCheckPath: "/healthz",
        envVars: { NODE_ENV: "production", DATABASE_URL: `postgres://app:${SECRET}@db/app` },
        deployTimeoutSeconds: 600,
        ...over,
    };
}

function outputsOf(i: RenderServiceInputs): RenderServiceOutputs {
    return {
        ...i,
        serviceId: "srv-1",
        url: "https://keel-api.onrender.com",
        deployId: "dep-1",
        deployStatus: "live",
        envDigest: envDigest(i.envVars),
        suspended: false,
        drift: [],
    };
}

/** A live web service as Render shows it, matching `i` unless overridden. */
function live(i: RenderServiceInputs, over: Partial<Service> = {}, details: Record<string, unknown> = {}): Service {
    const src = i.source;
    return {
        id: "srv-1",
        name: i.name,
        ownerId: i.ownerId,
        type: "web_service",
        autoDeploy: "no",
        suspended: "not_suspended",
        suspenders: [],
        slug: "keel-api",
        dashboardUrl: "https://dashboard.render.com/web/srv-1",
        rootDir: "",
        ...(src.kind === "image" ? { imagePath: src.image } : { repo: src.repo, branch: src.branch }),
        createdAt: "2024-01-01T00:00:00Z",
        updatedAt: "2024-01-01T00:00:00Z",
        serviceDetails: {
            runtime: src.kind === "image" ? "image" : "docker",
            env: src.kind === "image" ? "image" : "docker",
            plan: i.plan,
            region: i.region,
            numInstances: i.numInstances,
            healthCheckPath: i.healthCheckPath,
            url: "https://keel-api.onrender.com",
            envSpecificDetails: {
                dockerCommand: "",
                dockerContext: ".",
                dockerfilePath: "./Dockerfile",
                ...(i.preDeployCommand ? { preDeployCommand: i.preDeployCommand } : {}),
            },
            ...details,
        },
        ...over,
    };
}

describe("Render service spec (pure)", () => {
    it("create body: an image service (runtime image, imagePath, registry credential) never auto-deployed, env vars as one sorted list", () => {
        const body = createBody(
            inputs({
                source: { kind: "image", image: "ghcr.io/acme/api:2", registryCredentialId: "rgc-1" },
                preDeployCommand: "npm run migrate",
            }),
        );
        assert.deepEqual(body, {
            type: "web_service",
            name: "keel-api",
            ownerId: "tea-1",
            autoDeploy: "no",
            image: { ownerId: "tea-1", imagePath: "ghcr.io/acme/api:2", registryCredentialId: "rgc-1" },
            envVars: [
                { key: "DATABASE_URL", value: `postgres://app:${SECRET}@db/app` },
                { key: "NODE_ENV", value: "production" },
            ],
            serviceDetails: {
                runtime: "image",
                plan: "starter",
                region: "frankfurt",
                numInstances: 1,
                healthCheckPath: "/healthz",
                preDeployCommand: "npm run migrate",
            },
        });
    });

    it("create body: a repository's Dockerfile (runtime docker, repo, branch, dockerfile path and context)", () => {
        const body = createBody(
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
        assert.equal(body.repo, "https://github.com/acme/api");
        assert.equal(body.branch, "release");
        assert.equal(body.image, undefined);
        assert.deepEqual(body.serviceDetails, {
            runtime: "docker",
            plan: "starter",
            region: "frankfurt",
            numInstances: 1,
            healthCheckPath: "/healthz",
            envSpecificDetails: { dockerfilePath: "./api/Dockerfile", dockerContext: "api" },
        });
    });

    it("settings patch: nothing for a matching service; only what differs otherwise; never numInstances (that is /scale)", () => {
        const i = inputs();
        assert.equal(settingsPatch(live(i), i), undefined);
        assert.equal(settingsPatch(live(i, {}, { numInstances: 3 }), i), undefined);
        const patch = settingsPatch(
            live(i, { autoDeploy: "yes", imagePath: "ghcr.io/acme/api:0.9" }, { plan: "standard", healthCheckPath: "/" }),
            i,
        );
        assert.deepEqual(patch, {
            autoDeploy: "no",
            image: { ownerId: "tea-1", imagePath: "ghcr.io/acme/api:1.0.0" },
            serviceDetails: { plan: "starter", healthCheckPath: "/healthz" },
        });
        // A registry credential does not show in the live service: the old inputs tell.
        const withCred = inputs({ source: { kind: "image", image: "ghcr.io/acme/api:1.0.0", registryCredentialId: "rgc-2" } });
        assert.deepEqual(settingsPatch(live(i), withCred, i)?.image, {
            ownerId: "tea-1",
            imagePath: "ghcr.io/acme/api:1.0.0",
            registryCredentialId: "rgc-2",
        });
        // Repository settings, with Render's defaults for what was left out.
        const repo = inputs({ source: { kind: "repo", repo: "https://github.com/acme/api", branch: "main" } });
        assert.equal(settingsPatch(live(repo, { repo: "https://github.com/acme/api.git" }), repo), undefined);
        assert.deepEqual(
            settingsPatch(live(repo, { branch: "dev" }), {
                ...repo,
                source: { ...repo.source, dockerfilePath: "docker/Dockerfile" } as any,
            }),
            {
                branch: "main",
                serviceDetails: { envSpecificDetails: { dockerfilePath: "docker/Dockerfile" } },
            },
        );
        assert.deepEqual(settingsPatch(live(i), inputs({ preDeployCommand: "./migrate" })), {
            serviceDetails: { preDeployCommand: "./migrate" },
        });
        assert.deepEqual(settingsPatch(live(inputs({ preDeployCommand: "./migrate" })), i), { serviceDetails: { preDeployCommand: "" } });
        assert.deepEqual(settingsPatch(live(i, { name: "renamed" }), i), { name: "keel-api" });
    });

    it("revert patch puts back, from the service before, exactly the fields a patch changed (autoDeploy stays no)", () => {
        const i = inputs();
        const before = live(i, { autoDeploy: "yes" }, { plan: "standard" });
        const next = inputs({ source: { kind: "image", image: "ghcr.io/acme/api:2.0.0" }, healthCheckPath: "/ready" });
        const patch = settingsPatch(before, next)!;
        assert.deepEqual(revertPatch(before, patch), {
            image: { ownerId: "tea-1", imagePath: "ghcr.io/acme/api:1.0.0" },
            serviceDetails: { plan: "standard", healthCheckPath: "/healthz" },
        });
        assert.equal(revertPatch(before, { autoDeploy: "no" }), undefined);
    });

    it("diff: name, owner, source kind and region replace; the rest updates; env vars compared as values and against the refreshed digest", () => {
        const o = outputsOf(inputs());
        assert.deepEqual(diffInputs(o, inputs()), { changes: false, replaces: [], updates: [] });
        assert.deepEqual(diffInputs(o, inputs({ name: "other" })).replaces, ["name"]);
        assert.deepEqual(diffInputs(o, inputs({ ownerId: "tea-2" })).replaces, ["ownerId"]);
        assert.deepEqual(diffInputs(o, inputs({ region: "oregon" })).replaces, ["region"]);
        assert.deepEqual(diffInputs(o, inputs({ source: { kind: "repo", repo: "https://github.com/a/b", branch: "main" } })).replaces, [
            "source.kind",
        ]);
        const up = diffInputs(o, inputs({ source: { kind: "image", image: "ghcr.io/acme/api:2" }, plan: "pro", numInstances: 2 }));
        assert.deepEqual([up.changes, up.replaces, up.updates], [true, [], ["source.image", "plan", "numInstances"]]);
        assert.deepEqual(diffInputs(o, inputs({ envVars: { ...o.envVars, NODE_ENV: "staging" } })).updates, ["envVars"]);
        assert.deepEqual(diffInputs(o, inputs({ envVars: { NODE_ENV: "production" } })).updates, ["envVars"]);
        // Edited in the dashboard: the refresh recorded another digest; the same inputs update to put it back.
        assert.deepEqual(diffInputs({ ...o, envDigest: envDigest({ NODE_ENV: "production" }) }, inputs()).updates, ["envVars"]);
        // Unknown during preview.
        assert.deepEqual(diffInputs(o, inputs({ envVars: { ...o.envVars, DATABASE_URL: UNKNOWN } })).updates, ["envVars"]);
        assert.deepEqual(diffInputs(o, inputs({ name: UNKNOWN })).replaces, []);
        assert.deepEqual(diffInputs(o, inputs({ protect: true })).updates, ["protect"]);
    });

    it("env digest: order-independent, value-sensitive, and no separator trick collides", () => {
        assert.equal(envDigest({ A: "1", B: "2" }), envDigest({ B: "2", A: "1" }));
        assert.notEqual(envDigest({ A: "1" }), envDigest({ A: "2" }));
        assert.notEqual(envDigest({ A: "1\nB=2" }), envDigest({ A: "1", B: "2" }));
        assert.match(envDigest({}), /^sha256:[0-9a-f]{64}$/);
        assert.ok(!envDigest({ S: SECRET }).includes(SECRET));
        assert.deepEqual(
            envVarList({ B: "2", A: "1" }).map((v) => v.key),
            ["A", "B"],
        );
        assert.deepEqual(envDiff({ A: "1", B: "2", C: "3" }, { A: "1", B: "x", D: "4" }), { added: ["D"], removed: ["C"], changed: ["B"] });
    });

    it("drift: settings, suspension and env var keys changed in the dashboard, never env values", () => {
        const i = inputs();
        assert.deepEqual(serviceDrift(i, live(i), i.envVars), []);
        const svc = live(
            i,
            { suspended: "suspended", suspenders: ["billing"], imagePath: "ghcr.io/acme/api:hotfix" },
            { plan: "pro", numInstances: 2, healthCheckPath: "/" },
        );
        const dashboardEnv = { NODE_ENV: "development", DATABASE_URL: i.envVars.DATABASE_URL, DEBUG: "leaky-debug-value" };
        const drift = serviceDrift(i, svc, dashboardEnv);
        const text = drift.join("\n");
        assert.match(text, /suspended: by billing/);
        assert.match(text, /plan: 'starter' -> 'pro'/);
        assert.match(text, /numInstances: 1 -> 2/);
        assert.match(text, /healthCheckPath: '\/healthz' -> '\/'/);
        assert.match(text, /source.image: 'ghcr.io\/acme\/api:1.0.0' -> 'ghcr.io\/acme\/api:hotfix'/);
        assert.match(text, /envVars: added in the dashboard: DEBUG; changed NODE_ENV \(values not shown\)/);
        for (const value of ["development", "leaky-debug-value", SECRET]) assert.ok(!text.includes(value), `drift shows a value: ${value}`);
        const removed = serviceDrift(i, live(i), { NODE_ENV: "production" }).join("\n");
        assert.match(removed, /removed in the dashboard: DATABASE_URL/);
        assert.ok(!removed.includes(SECRET));
    });

    it("inputs from live: settings as Render has them, but never env values, name or region", () => {
        const i = inputs();
        const svc = live(i, { imagePath: "ghcr.io/acme/api:hotfix", name: "renamed" }, { plan: "pro", numInstances: 2, region: "oregon" });
        const got = inputsFromLive(i, svc);
        assert.deepEqual(
            [got.plan, got.numInstances, (got.source as any).image, got.name, got.region, got.envVars],
            ["pro", 2, "ghcr.io/acme/api:hotfix", "keel-api", "frankfurt", i.envVars],
        );
    });

    it("check: plans, regions, instances, paths, sources and env var names; values are never named", () => {
        assert.deepEqual(checkInputs(inputs()), []);
        const bad = checkInputs(
            inputs({
                plan: "huge",
                region: "mars",
                numInstances: 0,
                healthCheckPath: "healthz",
                source: { kind: "repo", repo: "git@github.com:a/b", branch: "" },
                envVars: { "BAD KEY": SECRET, OK: 5 as any },
            }),
        );
        assert.deepEqual(
            bad.map((p) => p.property),
            ["plan", "region", "numInstances", "healthCheckPath", "source.repo", "source.branch", "envVars", "envVars"],
        );
        assert.ok(!JSON.stringify(bad).includes(SECRET));
        assert.deepEqual(checkInputs(inputs({ plan: UNKNOWN, envVars: { A: UNKNOWN } })), []);
    });

    it("deploy logs URL", () => {
        assert.equal(deployLogsUrl("srv-1", "dep-2"), "https://dashboard.render.com/web/srv-1/deploys/dep-2");
    });
});
