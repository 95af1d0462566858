/** keel:backend and keel:frontend: stage defaults, and every mistake reported at once with its fix. */
import { strict as assert } from "assert";
import { parseKeelConfig, RawConfig } from "../../components/config";
import { ConfigError } from "../../components/errors";

const URL = "postgres://app:pw@db.internal:5432/app";
const TOKENS = { FLY_API_TOKEN: "fo1_x", RENDER_API_KEY: "rnd_x", VERCEL_API_TOKEN: "vc_x" };

function raw(stack: string, values: Record<string, unknown>, secret: string[] = [], env: Record<string, string> = TOKENS): RawConfig {
    const strings = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    return { stack, values: { "keel:databaseUrl": URL, ...strings }, secretKeys: new Set(["keel:databaseUrl", ...secret]), env };
}

function problems(fn: () => unknown): { key: string; message: string; fix: string }[] {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return err.problems;
    }
    assert.fail("expected a ConfigError");
}

const FLY = { kind: "fly", image: "registry.fly.io/shop:1.2.3", fly: { app: "shop-prod", regions: [{ region: "iad", count: 2 }] } };

describe("backend and frontend config", () => {
    it("fly: stage defaults — rolling and always on in prod, sleeping machines elsewhere, immediate on dev", () => {
        const prod = parseKeelConfig(raw("prod", { "keel:backend": FLY }));
        assert.equal(prod.backend?.kind, "fly");
        if (prod.backend?.kind !== "fly") return;
        assert.equal(prod.backend.fly.strategy, "rolling");
        assert.equal(prod.backend.fly.autostop, "off");
        assert.equal(prod.backend.databaseUrlEnv, "DATABASE_URL");
        assert.deepEqual(prod.backend.image, { kind: "prebuilt", image: "registry.fly.io/shop:1.2.3" });
        assert.deepEqual(prod.backend.healthCheck, { path: "/healthz", timeoutSeconds: 180, intervalSeconds: 5 });
        assert.deepEqual(prod.backend.fly.guest, { cpuKind: "shared", cpus: 1, memoryMb: 512 });

        const staging = parseKeelConfig(raw("staging", { "keel:backend": { ...FLY, fly: { region: "ams" } } }));
        assert.ok(staging.backend?.kind === "fly");
        assert.deepEqual(staging.backend.fly.regions, [{ region: "ams", count: 1 }]);
        assert.equal(staging.backend.fly.app, "keel-staging", "the app is named after the project and stack by default");
        assert.equal(staging.backend.fly.autostop, "stop");

        const dev = parseKeelConfig(raw("dev", { "keel:backend": FLY }));
        assert.ok(dev.backend?.kind === "fly");
        assert.equal(dev.backend.fly.strategy, "immediate");
    });

    it("a fly backend without region or image gets both problems, each with its fix", () => {
        const found = problems(() => parseKeelConfig(raw("staging", { "keel:backend": { kind: "fly" } })));
        const keys = found.map((p) => p.key);
        assert.deepEqual(keys.sort(), ["keel:backend.fly.regions", "keel:backend.image"]);
        const image = found.find((p) => p.key === "keel:backend.image")!;
        assert.match(
            image.fix,
            /npm run pulumi -- config set --path keel:backend\.image registry\.fly\.io\/my-app-staging:1\.0\.0 --stack staging/,
        );
        assert.match(image.fix, /keel:backend\.build\.dockerfile/);
        const region = found.find((p) => p.key === "keel:backend.fly.regions")!;
        assert.match(region.fix, /keel:backend\.fly\.regions\[0\]\.region iad --stack staging/);
    });

    it("refuses immediate outside dev, unpinned images, a missing token and settings of the other kind, all at once", () => {
        const found = problems(() =>
            parseKeelConfig(
                raw(
                    "prod",
                    {
                        "keel:backend": {
                            ...FLY,
                            image: "registry.fly.io/shop:latest",
                            fly: { ...FLY.fly, strategy: "immediate" },
                            render: { plan: "starter" },
                        },
                    },
                    [],
                    { VERCEL_API_TOKEN: "x" },
                ),
            ),
        );
        const byKey = Object.fromEntries(found.map((p) => [p.key, p]));
        assert.match(byKey["keel:backend.image"].message, /pinned to a version tag or digest/);
        assert.match(byKey["keel:backend.render"].message, /settings for 'render' but the backend kind is 'fly'/);
        assert.match(
            byKey["keel:flyApiToken"].fix,
            /npm run pulumi -- config set --secret keel:flyApiToken .* --stack prod \(or export FLY_API_TOKEN\)/,
        );
        assert.match(byKey["keel:backend.fly.strategy"].message, /'immediate' on prod: .* for dev and previews only/);
        assert.equal(found.length, 4);
    });

    it("render: the owner, instances per stage, a repository instead of an image, and a registry for a build", () => {
        const render = { kind: "render", image: "ghcr.io/shop/api:2.0.0", render: { ownerId: "tea-abc123" } };
        const prod = parseKeelConfig(raw("prod", { "keel:backend": render }));
        assert.ok(prod.backend?.kind === "render");
        assert.equal(prod.backend.render.instances, 2);
        assert.equal(prod.backend.render.name, "keel-prod");
        const repo = parseKeelConfig(
            raw("staging", {
                "keel:backend": {
                    kind: "render",
                    render: { ownerId: "tea-abc123", repo: { url: "https://github.com/shop/api", branch: "staging" } },
                },
            }),
        );
        assert.ok(repo.backend?.kind === "render");
        assert.equal(repo.backend.render.instances, 1);
        assert.equal(repo.backend.image, undefined);

        const found = problems(() => parseKeelConfig(raw("staging", { "keel:backend": { kind: "render", build: { context: "api" } } })));
        assert.deepEqual(found.map((p) => p.key).sort(), ["keel:backend.build.registry", "keel:backend.render.ownerId"]);
    });

    it("backend secrets must be a secret key, never overlap plain env, and never name the database URL's variable", () => {
        const plain = problems(() =>
            parseKeelConfig(raw("prod", { "keel:backend": FLY, "keel:backendSecrets": { STRIPE_KEY: "sk_live_1" } })),
        );
        assert.equal(plain[0].key, "keel:backendSecrets");
        assert.match(plain[0].message, /plain text/);
        assert.ok(!JSON.stringify(plain).includes("sk_live_1"), "the value is not repeated");

        const overlap = problems(() =>
            parseKeelConfig(
                raw(
                    "prod",
                    {
                        "keel:backend": { ...FLY, env: { STRIPE_KEY: "x" } },
                        "keel:backendSecrets": { STRIPE_KEY: "sk_live_1", DATABASE_URL: "postgres://x" },
                    },
                    ["keel:backendSecrets"],
                ),
            ),
        );
        assert.deepEqual(overlap.map((p) => p.key).sort(), ["keel:backend.env.STRIPE_KEY", "keel:backendSecrets.DATABASE_URL"]);

        const ok = parseKeelConfig(
            raw("prod", { "keel:backend": FLY, "keel:backendSecrets": { STRIPE_KEY: "sk_live_1" } }, ["keel:backendSecrets"]),
        );
        assert.deepEqual(ok.backend?.secrets, { STRIPE_KEY: "sk_live_1" });

        const badName = problems(() =>
            parseKeelConfig(raw("prod", { "keel:backend": FLY, "keel:backendSecrets": { "bad-name": "v1" } }, ["keel:backendSecrets"])),
        );
        assert.equal(badName[0].key, "keel:backendSecrets.bad-name");
        assert.ok(!badName[0].message.includes("v1"), "secret values are not echoed");
    });

    it("frontend: named after the stack, production branch per stage, and no secret under a browser-exposed prefix", () => {
        const c = parseKeelConfig(
            raw("staging", { "keel:backend": { ...FLY, fly: { region: "iad" } }, "keel:frontend": { git: { repo: "shop/web" } } }),
        );
        assert.equal(c.frontend?.name, "keel-staging-web");
        assert.equal(c.frontend?.git?.productionBranch, "staging");
        assert.equal(c.frontend?.backendUrlEnv, "NEXT_PUBLIC_API_URL");

        const found = problems(() =>
            parseKeelConfig(
                raw(
                    "prod",
                    { "keel:frontend": { git: { repo: "nope" } }, "keel:frontendSecrets": { NEXT_PUBLIC_STRIPE: "pk" } },
                    ["keel:frontendSecrets"],
                    {},
                ),
            ),
        );
        const keys = found.map((p) => p.key);
        assert.ok(keys.includes("keel:frontend.git.repo"), keys.join());
        assert.ok(keys.includes("keel:vercelApiToken"), keys.join());
        const noBackend = problems(() => parseKeelConfig(raw("prod", { "keel:frontend": {} })));
        assert.equal(noBackend[0].key, "keel:frontend.backendUrlEnv");
        const exposed = problems(() =>
            parseKeelConfig(
                raw("prod", { "keel:frontend": { backendUrlEnv: "" }, "keel:frontendSecrets": { NEXT_PUBLIC_STRIPE: "pk" } }, [
                    "keel:frontendSecrets",
                ]),
            ),
        );
        assert.equal(exposed[0].key, "keel:frontendSecrets.NEXT_PUBLIC_STRIPE");
        assert.match(exposed[0].message, /public bundle/);
    });
});
