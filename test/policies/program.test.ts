/**
 * The pack against Keel's own program: prod (owner of the repository gates,
 * Fly backend, Vercel frontend) run under Pulumi's mocks, every registered
 * resource handed to the rules as the SDK would (inputs with secrets in the
 * wire form, protect and additionalSecretOutputs as options). What Keel
 * declares for prod must pass; the same program with a plain-text secret or an
 * unprotected app must not.
 */
import { strict as assert } from "assert";
import { PolicyResourceOptions } from "@pulumi/policy";
import { backupsBeforeMigrate } from "../../policies/rules/backupsBeforeMigrate";
import { destructiveMigrations } from "../../policies/rules/destructiveMigrations";
import { noDockerDatabaseInProd } from "../../policies/rules/noDockerDatabaseInProd";
import { noPlaintextSecrets } from "../../policies/rules/noPlaintextSecrets";
import { prodBackendSafeDeploys } from "../../policies/rules/prodBackendSafeDeploys";
import { prodBranchProtected } from "../../policies/rules/prodBranchProtected";
import { prodResourcesProtected } from "../../policies/rules/prodResourcesProtected";
import { setSecretsVisible } from "../../policies/support";
import { migrationsDir } from "../support/migrationsDir";
import { RegisteredResource, runProgram, withEnv, unwrap } from "../support/mockProgram";
import { opts, Res, validateAll, validateStack } from "./baseline";

const URL = "postgres://app:hunter2-password@db.internal:5432/app";
const DYN = (t: string) => `pulumi-nodejs:dynamic/keel:${t}`;
const ENV = { FLY_API_TOKEN: "fo1_token", VERCEL_API_TOKEN: "vc_token", PULUMI_CONFIG_PASSPHRASE: "state-passphrase" };
const GITHUB = { owner: "shop", repository: "shop-app", branches: { prod: "main", staging: "staging" }, state: { backendUrl: "s3://shop-state" } };
const FLY = { kind: "fly", image: "registry.fly.io/shop:1.0.0", env: { LOG_LEVEL: "info" }, fly: { app: "shop-prod", regions: [{ region: "iad", count: 2 }] } };
const FRONTEND = { name: "shop-web", framework: "nextjs", git: { repo: "shop/web" }, env: { NEXT_PUBLIC_STAGE: "prod" } };



function asPolicyResource(r: RegisteredResource): Res {
    const o: Partial<PolicyResourceOptions> = { protect: r.protect, additionalSecretOutputs: r.additionalSecretOutputs, parent: r.parent || undefined };
    return { type: r.type, name: r.name, urn: r.urn, props: r.inputs ?? {}, opts: opts(o) };
}

const RESOURCE_POLICIES = [destructiveMigrations, backupsBeforeMigrate, noDockerDatabaseInProd, prodResourcesProtected, prodBackendSafeDeploys, noPlaintextSecrets];

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
        withEnv({ ...ENV, ...env }, () => runProgram("prod", config(extra), ["keel:databaseUrl", "keel:backendSecrets", "keel:githubToken"])).then((run) =>
            run.resources.map(asPolicyResource),
        );

    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    it("what Keel declares for prod passes every rule", async () => {
        const resources = await prod();
        const types = new Set(resources.map((r) => r.type));
        for (const t of [DYN("SchemaMigrations"), DYN("FlyApp"), DYN("FlyMachines"), "github:index/repositoryRuleset:RepositoryRuleset", "github:index/repositoryEnvironment:RepositoryEnvironment"]) {
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
        assert.ok(protectedOnes.some((v) => /backend-fly-app/.test(v.message) || /FlyApp/.test(v.message)), JSON.stringify(protectedOnes));
    });
});

describe("policies against Keel's prod program (mocks): the GitHub provider's token", function () {
    this.timeout(60_000);
    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    it("taken from GITHUB_TOKEN, the token reaches the provider as a secret (no violation); in plain text it would be caught", async () => {
        const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);" });
        const cfg = { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir }), "keel:backend": JSON.stringify(FLY), "keel:github": JSON.stringify(GITHUB) };
        const run = await withEnv({ ...ENV, GITHUB_TOKEN: "ghp_from_env" }, () => runProgram("prod", cfg, ["keel:databaseUrl"]));
        assert.deepEqual(await validateAll(noPlaintextSecrets, run.resources.map(asPolicyResource)), []);
        // The same provider with its token unwrapped, as @pulumi/github itself would store an env token.
        const plain = run.resources.map((r) =>
            r.type === "pulumi:providers:github" ? { ...r, inputs: { ...r.inputs, token: unwrap(r.inputs.token) } } : r,
        );
        const v = await validateAll(noPlaintextSecrets, plain.map(asPolicyResource));
        assert.equal(v.length, 1, JSON.stringify(v));
        assert.match(v[0].message, /pulumi:providers:github\) has a plain-text value at token/);
        assert.match(v[0].message, /pulumi config set --secret/);
        assert.ok(!v[0].message.includes("ghp_from_env"));
    });
});
