/**
 * A preview's stack file from its base's (components/previews/stackConfig.ts):
 * everything the base sets is kept, secrets as their ciphertexts with the base's
 * salt; what names a thing of the base's own is replaced by the preview's; the
 * kinds a preview cannot have are refused by name.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseKeelConfig } from "../../components/config";
import { NOT_INHERITED, PreviewConfigError, previewsOf, previewStackDoc, StackFileDoc } from "../../components/previews/stackConfig";
import { previewsSchema } from "../../components/config/previews";

const NOW = new Date("2026-12-07T10:00:00.000Z");

/** A base's file and its validated config, as scripts/lib/previewStackFile.ts reads them. */
function base(given: Record<string, unknown>, stack = "staging") {
    const config = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    const doc: StackFileDoc = { encryptionsalt: "v1:salt", config };
    const values = Object.fromEntries(
        Object.entries(config).map(([k, v]) => [
            k,
            typeof v === "string" ? v : v && typeof v === "object" && "secure" in v ? "(encrypted)" : JSON.stringify(v),
        ]),
    );
    const secretKeys = new Set(
        Object.entries(config)
            .filter(([, v]) => v && typeof v === "object" && "secure" in (v as object))
            .map(([k]) => k),
    );
    const parsed = parseKeelConfig({
        project: "keel",
        stack,
        values,
        secretKeys,
        encryptedKeys: secretKeys,
        env: {},
        deployCredentials: false,
    } as never);
    return { stack, doc, config: parsed };
}

const neonFly = {
    "keel:neonApiKey": { secure: "v1:neonkey" },
    "keel:flyApiToken": { secure: "v1:flytoken" },
    "keel:database": {
        kind: "neon",
        neon: {
            project: { name: "keel-app", ownedBy: "prod" },
            branch: { name: "staging", parent: "main" },
            roleName: "app",
            databaseName: "app",
        },
    },
    "keel:backend": {
        kind: "fly",
        image: "registry.fly.io/keel-app-staging:1.0.0",
        healthCheck: { path: "/healthz", url: "https://api.staging.example.com/healthz" },
        fly: { app: "keel-app-staging", region: "iad", count: 2, domains: ["api.staging.example.com"] },
    },
    "keel:frontend": { name: "keel-app-web-staging", backendUrlEnv: "NEXT_PUBLIC_API_URL" },
    "keel:github": {
        owner: "keel-dev",
        repository: "keel-app",
        ownedBy: "prod",
        branches: { prod: "main", staging: "staging" },
        state: { kind: "cloud" },
    },
    "keel:pulumiAccessToken": { secure: "v1:pul" },
    "keel:previews": { enabled: true, max: 3, ttlDays: 7 },
    "keel:allowDataLoss": ["database-neon-branch"],
};

const input = (b: ReturnType<typeof base>, pr = 12) => ({
    pr,
    branch: "feature/x",
    base: b,
    now: NOW,
    usedPorts: [],
    previews: previewsOf(b.config),
});

describe("a preview's stack file from its base's", () => {
    it("a Neon + Fly base: a child branch of the base's with an expiry, the app named for the PR at one machine, the base's gates and permissions left out", () => {
        const b = base(neonFly);
        const doc = previewStackDoc(input(b));
        const c = doc.config as Record<string, any>;
        assert.equal(doc.encryptionsalt, "v1:salt");
        assert.equal(c["keel:stage"], "preview");
        assert.deepEqual(c["keel:neonApiKey"], { secure: "v1:neonkey" });
        assert.deepEqual(c["keel:database"].neon.branch, {
            name: "preview/pr-12",
            parent: "staging",
            schemaOnly: false,
            protected: false,
            expiresAt: "2026-12-14T10:00:00Z",
        });
        assert.equal(c["keel:database"].neon.project.ownedBy, "prod");
        assert.equal(c["keel:backend"].fly.app, "keel-app-staging-pr-12");
        assert.equal(c["keel:backend"].fly.count, 1);
        assert.deepEqual(c["keel:backend"].fly.size, { cpuKind: "shared", cpus: 1, memoryMb: 256 });
        assert.equal(c["keel:backend"].fly.domains, undefined);
        assert.equal(c["keel:backend"].healthCheck.url, undefined, "the base's own health URL is the base's");
        for (const key of ["keel:github", "keel:frontend", "keel:previews", "keel:allowDataLoss"]) assert.equal(c[key], undefined, key);
        assert.deepEqual(c["keel:preview"], {
            pr: 12,
            base: "staging",
            branch: "feature/x",
            expiresAt: "2026-12-14T10:00:00Z",
            createdAt: "2026-12-07T10:00:00Z",
            data: "masked",
            frontend: { project: "keel-app-web-staging", variable: "NEXT_PUBLIC_API_URL" },
            github: { owner: "keel-dev", repository: "keel-app" },
        });
        // The file it makes is a valid preview stack: every key known, every problem none.
        base(c, "pr-12");
    });

    it("keel:previews.healthCheckUrl gives the preview's health gate its URL, {pr} standing for the number", () => {
        const b = base({ ...neonFly, "keel:previews": { enabled: true, healthCheckUrl: "https://pr-{pr}.preview.example.com/healthz" } });
        const c = previewStackDoc(input(b, 31)).config as Record<string, any>;
        assert.equal(c["keel:backend"].healthCheck.url, "https://pr-31.preview.example.com/healthz");
    });

    it("every key the base sets either reaches the preview or is one NOT_INHERITED names (nothing silently dropped)", () => {
        fc.assert(
            fc.property(
                fc.dictionary(
                    fc.constantFrom("keel:githubToken", "keel:maskingKey", "keel:slackWebhookUrl"),
                    fc.constant({ secure: "v1:a-ciphertext-of-32-bytes" }),
                ),
                (extra) => {
                    const b = base({ ...neonFly, ...extra });
                    const c = previewStackDoc(input(b)).config as Record<string, unknown>;
                    for (const key of Object.keys(b.doc.config!)) assert.ok(key in c || key in NOT_INHERITED, `${key} was dropped`);
                    for (const key of Object.keys(extra)) assert.deepEqual(c[key], { secure: "v1:a-ciphertext-of-32-bytes" });
                },
            ),
            { numRuns: 30 },
        );
    });

    it("refuses, by name: a prod base, a base that makes no previews, a local base with a backend, a docker base", () => {
        const prodDatabase = {
            kind: "neon",
            neon: { project: { name: "keel-app", ownedBy: "prod" }, roleName: "app", databaseName: "app" },
        };
        const prod = base({ ...neonFly, "keel:database": prodDatabase, "keel:previews": undefined }, "prod");
        assert.throws(
            () => previewsOf(prod.config),
            (e: Error) => e instanceof PreviewConfigError && /never from prod's settings and tokens/.test(e.message),
        );
        const off = base({ ...neonFly, "keel:previews": { enabled: false } });
        assert.throws(
            () => previewsOf(off.config),
            /\(keel:previews\.enabled is not true\): npm run pulumi -- config set --path keel:previews\.enabled true --stack staging/,
        );
        const local = base({ ...neonFly, "keel:database": { kind: "local" }, "keel:neonApiKey": undefined });
        assert.throws(() => previewStackDoc(input(local)), /database is local, which a deployed backend cannot reach/);
        const maskedLocal = base({ "keel:database": { kind: "local" }, "keel:previews": { enabled: true, data: "masked" } }, "dev");
        assert.throws(() => previewStackDoc(input(maskedLocal)), /keel:previews\.data is masked, and the dev stack's database is local/);
        const docker = base({ "keel:database": { kind: "docker" }, "keel:previews": { enabled: true } }, "dev");
        assert.throws(() => previewStackDoc(input(docker)), /database is docker: previews are made for neon, external and local/);
    });

    it("a local base without a backend: a server of the preview's own on the next free port", () => {
        const b = base({ "keel:database": { kind: "local", local: { port: 54329 } }, "keel:previews": { enabled: true } }, "dev");
        const c = previewStackDoc({ ...input(b), usedPorts: [54329, 54340] }).config as Record<string, any>;
        assert.deepEqual(c["keel:database"], { kind: "local", local: { port: 54341 } });
    });

    it("keel:previews' defaults: 3 at once, 7 days, schema-only, Neon's 10 branches", () => {
        assert.deepEqual(previewsSchema.parse({}), { enabled: false, max: 3, ttlDays: 7, neonBranchLimit: 10 });
        // data: schema-only, but masked on Neon, whose schema-only branches carry no migration history (and nothing else there).
        assert.equal(
            base({ "keel:database": { kind: "local" }, "keel:previews": { enabled: true } }, "dev").config.previews?.data,
            "schema-only",
        );
        assert.equal(base(neonFly).config.previews?.data, "masked");
        assert.throws(
            () => base({ ...neonFly, "keel:previews": { enabled: true, data: "schema-only" } }),
            /keel:previews\.data: is 'schema-only', but the database is on Neon/,
        );
    });
});
