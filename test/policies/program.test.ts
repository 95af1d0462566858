/**
 * The pack against Keel's own program: prod (owner of the repository gates,
 * Fly backend, Vercel frontend) run under Pulumi's mocks, every registered
 * resource handed to the rules as the SDK would (inputs with secrets in the
 * wire form, protect and additionalSecretOutputs as options). What Keel
 * declares for prod must pass; the same program with a plain-text secret or an
 * unprotected app must not.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as backupsRule from "../../policies/rules/backupsBeforeMigrate";
import * as destructiveRule from "../../policies/rules/destructiveMigrations";
import * as dockerRule from "../../policies/rules/noDockerDatabaseInProd";
import * as safeDeploysRule from "../../policies/rules/prodBackendSafeDeploys";
import * as branchRule from "../../policies/rules/prodBranchProtected";
import * as protectedRule from "../../policies/rules/prodResourcesProtected";
import * as previewRule from "../../policies/rules/previewIsolatedFromProd";
import { PolicyResourceOptions } from "@pulumi/policy";
import { backupsBeforeMigrate } from "../../policies/rules/backupsBeforeMigrate";
import { destructiveMigrations } from "../../policies/rules/destructiveMigrations";
import { noDockerDatabaseInProd } from "../../policies/rules/noDockerDatabaseInProd";
import { noPlaintextSecrets } from "../../policies/rules/noPlaintextSecrets";
import { prodBackendSafeDeploys } from "../../policies/rules/prodBackendSafeDeploys";
import { prodBranchProtected } from "../../policies/rules/prodBranchProtected";
import { prodResourcesProtected } from "../../policies/rules/prodResourcesProtected";
import { previewIsolatedFromProd } from "../../policies/rules/previewIsolatedFromProd";
import { setSecretsVisible } from "../../policies/support";
import { migrationsDir } from "../support/migrationsDir";
import { RegisteredResource, runProgram, withEnv, unwrap } from "../support/mockProgram";
import { previewValues } from "../support/previewStack";
import { opts, Res, validateAll, validateStack } from "./baseline";

const URL = "postgres://app:hunter2-password@db.internal:5432/app";
const DYN = (t: string) => `pulumi-nodejs:dynamic/keel:${t}`;
const ENV = {
    FLY_API_TOKEN: "fo1_token",
    VERCEL_API_TOKEN: "vc_token",
    PULUMI_CONFIG_PASSPHRASE: "state-passphrase",
    AWS_ACCESS_KEY_ID: "AKIAKEELTEST",
    AWS_SECRET_ACCESS_KEY: "aws-secret-test",
};
const GITHUB = {
    owner: "shop",
    repository: "shop-app",
    branches: { prod: "main", staging: "staging" },
    state: { backendUrl: "s3://shop-state?region=us-east-1" },
};
const FLY = {
    kind: "fly",
    image: "registry.fly.io/shop:1.0.0",
    env: { LOG_LEVEL: "info" },
    fly: { app: "shop-prod", regions: [{ region: "iad", count: 2 }] },
};
const FRONTEND = { name: "shop-web", framework: "nextjs", git: { repo: "shop/web" }, env: { NEXT_PUBLIC_STAGE: "prod" } };

function asPolicyResource(r: RegisteredResource): Res {
    const o: Partial<PolicyResourceOptions> = {
        protect: r.protect,
        additionalSecretOutputs: r.additionalSecretOutputs,
        parent: r.parent || undefined,
    };
    return { type: r.type, name: r.name, urn: r.urn, props: r.inputs ?? {}, opts: opts(o) };
}

const RESOURCE_POLICIES = [
    destructiveMigrations,
    backupsBeforeMigrate,
    noDockerDatabaseInProd,
    prodResourcesProtected,
    prodBackendSafeDeploys,
    noPlaintextSecrets,
];

describe("policies against Keel's prod program (mocks)", function () {
    this.timeout(60_000);
    const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);" });
    const config = (extra: Record<string, unknown> = {}) => ({
        "keel:databaseUrl": URL,
        "keel:migrations": JSON.stringify({ dir }),
        "keel:backend": JSON.stringify({ ...FLY, ...extra }),
        "keel:frontend": JSON.stringify(FRONTEND),
        "keel:github": JSON.stringify(GITHUB),
        "keel:backendSecrets": JSON.stringify({ STRIPE_SECRET_KEY: "sk_live_1" }),
        "keel:githubToken": "ghp_admin_token",
    });
    const prod = (extra?: Record<string, unknown>, env: Record<string, string> = {}) =>
        withEnv({ ...ENV, ...env }, () =>
            runProgram("prod", config(extra), ["keel:databaseUrl", "keel:backendSecrets", "keel:githubToken"]),
        ).then((run) => run.resources.map(asPolicyResource));

    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    it("what Keel declares for prod passes every rule", async () => {
        const resources = await prod();
        const types = new Set(resources.map((r) => r.type));
        for (const t of [
            DYN("SchemaMigrations"),
            DYN("FlyApp"),
            DYN("FlyMachines"),
            "github:index/repositoryRuleset:RepositoryRuleset",
            "github:index/repositoryEnvironment:RepositoryEnvironment",
        ]) {
            assert.ok(types.has(t), `the program declares ${t}`);
        }
        for (const p of RESOURCE_POLICIES) assert.deepEqual(await validateAll(p, resources), [], p.name);
        assert.deepEqual(await validateStack(prodBranchProtected, resources), []);
    });

    it("a secret-looking plain env var and allowDelete (unprotected app) are caught", async () => {
        const resources = await prod({ env: { LOG_LEVEL: "info", SENTRY_API_KEY: "abc123" }, allowDelete: true });
        const secrets = await validateAll(noPlaintextSecrets, resources);
        assert.equal(secrets.length, 1);
        assert.match(secrets[0].message, /env\.SENTRY_API_KEY/);
        const protectedOnes = await validateAll(prodResourcesProtected, resources);
        assert.ok(
            protectedOnes.some((v) => /backend-fly-app/.test(v.message) || /FlyApp/.test(v.message)),
            JSON.stringify(protectedOnes),
        );
    });
});

describe("policies against Keel's program as a pull request's preview (mocks)", function () {
    this.timeout(60_000);
    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    const preview = (app: string) =>
        withEnv(ENV, () =>
            runProgram(
                "pr-3",
                {
                    "keel:databaseUrl": URL,
                    "keel:migrations": JSON.stringify({ dir: migrationsDir({ "0001_a.sql": "CREATE TABLE a (id int);" }) }),
                    "keel:backend": JSON.stringify({ ...FLY, fly: { app, regions: [{ region: "iad", count: 1 }] } }),
                    ...previewValues(3),
                },
                ["keel:databaseUrl"],
            ),
        ).then((run) => run.resources.map(asPolicyResource));

    it("its resources carry stage preview: prod's rules let one unprotected machine through; this repository's prod Fly app is refused", async () => {
        const own = await preview("keel-app-staging-pr-3");
        for (const p of [...RESOURCE_POLICIES, previewIsolatedFromProd]) {
            const v = await validateAll(p, own);
            assert.ok(
                v.every((x) => x.enforcementLevel === "advisory"),
                `${p.name}: ${JSON.stringify(v)}`,
            );
        }
        assert.deepEqual(await validateAll(previewIsolatedFromProd, own), []);
        // keel-app-prod is Pulumi.prod.yaml's app: the app, its machines, secrets and IPs would all act on it.
        const v = await validateAll(previewIsolatedFromProd, await preview("keel-app-prod"));
        const types = v.map((x) => /\((keel:\w+)\)/.exec(x.message)?.[1]).sort();
        assert.deepEqual(types, ["keel:FlyApp", "keel:FlyIpAddresses", "keel:FlyMachines", "keel:FlySecrets"], JSON.stringify(v));
        assert.ok(v.every((x) => x.enforcementLevel === "mandatory" && /keel pr up --pr 3 --from staging/.test(x.message)));
    });
});

describe("policies against Keel's prod program (mocks): the GitHub provider's token", function () {
    this.timeout(60_000);
    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    it("taken from GITHUB_TOKEN, the token reaches the provider as a secret (no violation); in plain text it would be caught", async () => {
        const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);" });
        const cfg = {
            "keel:databaseUrl": URL,
            "keel:migrations": JSON.stringify({ dir }),
            "keel:backend": JSON.stringify(FLY),
            "keel:github": JSON.stringify(GITHUB),
        };
        const run = await withEnv({ ...ENV, GITHUB_TOKEN: "ghp_from_env" }, () => runProgram("prod", cfg, ["keel:databaseUrl"]));
        assert.deepEqual(await validateAll(noPlaintextSecrets, run.resources.map(asPolicyResource)), []);
        // The same provider with its token unwrapped, as @pulumi/github itself would store an env token.
        const plain = run.resources.map((r) =>
            r.type === "pulumi:providers:github" ? { ...r, inputs: { ...r.inputs, token: unwrap(r.inputs.token) } } : r,
        );
        const v = await validateAll(noPlaintextSecrets, plain.map(asPolicyResource));
        assert.equal(v.length, 1, JSON.stringify(v));
        assert.match(v[0].message, /pulumi:providers:github\) has a plain-text value at token/);
        assert.match(v[0].message, /npm run pulumi -- config set --secret/);
        assert.ok(!v[0].message.includes("ghp_from_env"));
    });
});

describe("the pack's rules and the program agree", function () {
    this.timeout(120_000);
    const RULE_MODULES: Record<string, { RESOURCE_TYPES: string[] }> = {
        destructiveMigrations: destructiveRule,
        backupsBeforeMigrate: backupsRule,
        noDockerDatabaseInProd: dockerRule,
        prodResourcesProtected: protectedRule,
        prodBackendSafeDeploys: safeDeploysRule,
        prodBranchProtected: branchRule,
        previewIsolatedFromProd: previewRule,
    };
    const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);" });
    const NEON = { kind: "neon", neon: { project: { name: "shop" } } };
    const RENDER = { kind: "render", image: "ghcr.io/shop/api:1.0.0", render: { ownerId: "tea-abc123", instances: 2 } };

    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    it("every resource type a rule selects by is one the program registers (a renamed resource cannot escape a policy)", async () => {
        const env = { ...ENV, NEON_API_KEY: "napi", RENDER_API_KEY: "rnd" };
        const runs = await withEnv(env, async () => [
            await runProgram(
                "prod",
                {
                    "keel:database": JSON.stringify(NEON),
                    "keel:migrations": JSON.stringify({ dir }),
                    // A custom domain: the app's certificate is a type a rule reads too.
                    "keel:backend": JSON.stringify({ ...FLY, fly: { ...FLY.fly, domains: ["api.shop.dev"] } }),
                    "keel:github": JSON.stringify(GITHUB),
                    "keel:githubToken": "ghp",
                },
                ["keel:githubToken"],
                // What the Neon providers report after a create, so the database's URLs resolve.
                (type, _name, inputs) =>
                    type.endsWith("NeonProject")
                        ? { projectId: "proj-1", name: inputs.name }
                        : type.endsWith("NeonBranch")
                          ? { branchId: "br-1" }
                          : type.endsWith("NeonEndpoint")
                            ? { endpointId: "ep-1", host: "ep-1.aws.neon.tech" }
                            : type.endsWith("NeonRole")
                              ? { password: "pw" }
                              : {},
            ),
            await runProgram(
                "prod",
                { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir }), "keel:backend": JSON.stringify(RENDER) },
                ["keel:databaseUrl"],
            ),
            await runProgram(
                "prod",
                {
                    "keel:databaseUrl": URL,
                    "keel:migrations": JSON.stringify({ dir }),
                    "keel:github": JSON.stringify({ ...GITHUB, protection: { kind: "classic" } }),
                    "keel:githubToken": "ghp",
                },
                ["keel:databaseUrl", "keel:githubToken"],
            ),
            await runProgram(
                "dev",
                { "keel:database": JSON.stringify({ kind: "docker" }), "keel:migrations": JSON.stringify({ dir }) },
                [],
            ),
        ]);
        const registered = new Set(runs.flatMap((r) => r.resources.map((x) => x.type)));
        for (const [rule, mod] of Object.entries(RULE_MODULES)) {
            assert.ok(mod.RESOURCE_TYPES.length > 0, rule);
            for (const type of mod.RESOURCE_TYPES)
                assert.ok(registered.has(type), `${rule} selects ${type}, which the program never registers`);
        }
    });

    it("a stack named unlike its stage is judged by its keel:stage: benchdev (dev) needs no backup, qa (prod) does", async () => {
        const external = { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir, backup: false }) };
        const benchdev = await runProgram("benchdev", { ...external, "keel:stage": "dev" }, ["keel:databaseUrl"]);
        const schema = benchdev.one(DYN("SchemaMigrations"));
        assert.equal(unwrap(schema.inputs.stage), "dev", "the resource carries the stack's stage");
        assert.deepEqual(await validateAll(backupsBeforeMigrate, benchdev.resources.map(asPolicyResource)), []);
        const qa = await runProgram("qa", { ...external, "keel:stage": "prod" }, ["keel:databaseUrl"]);
        const v = await validateAll(backupsBeforeMigrate, qa.resources.map(asPolicyResource));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /migrations on prod must be preceded by a backup/);
    });
});

describe("the pack's rules describe themselves", () => {
    /** GitHub's anchors for a document's headings. */
    const anchorsOf = (file: string) =>
        new Set(
            [...fs.readFileSync(path.join(__dirname, "../..", file), "utf8").matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
                m[1]
                    .toLowerCase()
                    .replace(/[^a-z0-9 -]/g, "")
                    .replace(/ /g, "-"),
            ),
        );
    const policies = [
        destructiveMigrations,
        backupsBeforeMigrate,
        noDockerDatabaseInProd,
        prodResourcesProtected,
        prodBackendSafeDeploys,
        prodBranchProtected,
        noPlaintextSecrets,
        previewRule.previewIsolatedFromProd,
    ];

    it("each carries a severity, a rationale, the document section it enforces and what to do", () => {
        for (const p of policies) {
            assert.ok(["low", "medium", "high", "critical"].includes(p.severity!), p.name);
            assert.ok(p.description.length > 20 && !p.description.includes("\n"), p.name);
            assert.ok(p.remediationSteps && p.remediationSteps.length > 20, p.name);
            const [, file, anchor] = /^(docs\/[a-z-]+\.md)(?:#(.+))?$/.exec(p.url ?? "") ?? [];
            assert.ok(file && fs.existsSync(path.join(__dirname, "../..", file)), `${p.name}: ${p.url} is not a document in docs/`);
            assert.ok(anchor === undefined || anchorsOf(file).has(anchor), `${p.name}: ${p.url} is not a section of ${file}`);
        }
    });

    it("every rule that reads settings declares them", () => {
        for (const p of policies) {
            const file = `${p.name.replace(/-([a-z])/g, (_m: string, c: string) => c.toUpperCase())}.ts`;
            const source = fs.readFileSync(path.join(__dirname, "../../policies/rules", file), "utf8");
            if (source.includes("getConfig")) assert.ok(p.configSchema?.properties, `${p.name} reads config without a schema`);
        }
    });

    it("prod-backend-safe-deploys takes its minimum from the pack's config", async () => {
        const machines = {
            type: DYN("FlyMachines"),
            urn: `urn:pulumi:prod::keel::${DYN("FlyMachines")}::m`,
            name: "m",
            props: { stage: "prod", healthCheck: { path: "/healthz" }, strategy: "rolling", regions: [{ region: "iad", count: 2 }] },
        };
        assert.deepEqual(safeDeploysRule.checkProdBackendSafeDeploys(machines), []);
        const v = safeDeploysRule.checkProdBackendSafeDeploys(machines, { minInstances: 3, strategies: ["rolling"] });
        assert.equal(v.length, 1);
        assert.match(v[0].message, /2 machine\(s\) in total, at least 3 needed .*count 3/);
    });
});
