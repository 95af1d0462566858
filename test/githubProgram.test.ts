/**
 * The Repository component in the program, under mocks: the owner stack
 * protects every deploying branch with the CI jobs as required checks and
 * commits the generated workflows; each deploying stack gets its environment,
 * deploys only from its branch, with secrets marked secret and its variables.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ConfigError } from "../components/errors";
import { migrationsDir } from "./support/migrationsDir";
import { isSecretValue, MockState, RegisteredResource, runProgram, withEnv, unwrap } from "./support/mockProgram";
import { ROOT } from "./support/repoRoot";

const URL = "postgres://app:hunter2-password@db.internal:5432/app";
const ENV = {
    FLY_API_TOKEN: "fo1_token",
    VERCEL_API_TOKEN: "vc_token",
    GITHUB_TOKEN: "ghp_admin_token",
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
const FLY = { kind: "fly", image: "registry.fly.io/shop:1.0.0", fly: { app: "shop-prod", regions: [{ region: "iad", count: 2 }] } };

describe("program (mocks): repository gates and workflows", () => {
    const dir = migrationsDir({ "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);" });
    const base = { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir }) };
    const secret = ["keel:databaseUrl", "keel:slackWebhookUrl"];

    it("prod (the owner): rulesets on main and staging requiring exactly the CI jobs, the workflows committed, its production environment", async () => {
        const run = await withEnv(ENV, () =>
            runProgram(
                "prod",
                {
                    ...base,
                    "keel:backend": JSON.stringify(FLY),
                    "keel:github": JSON.stringify(GITHUB),
                    "keel:slackWebhookUrl": "https://hooks.slack.com/services/T/B/secret-hook",
                },
                secret,
            ),
        );
        const rulesets = run.ofType("github:index/repositoryRuleset:RepositoryRuleset");
        assert.deepEqual(rulesets.map((r) => r.inputs.conditions.refName.includes[0]).sort(), ["refs/heads/main", "refs/heads/staging"]);
        const files = run.ofType("github:index/repositoryFile:RepositoryFile");
        const ci = files.find((f) => f.inputs.file === ".github/workflows/ci.yml")!;
        assert.ok(ci, files.map((f) => f.inputs.file).join());
        const ciJobs = Object.values(parse(ci.inputs.content).jobs).map((j: any) => j.name);
        for (const r of rulesets) {
            assert.deepEqual(
                r.inputs.rules.requiredStatusChecks.requiredChecks.map((c: any) => c.context).sort(),
                [...ciJobs].sort(),
                "required checks are exactly the CI jobs",
            );
            assert.equal(r.inputs.rules.nonFastForward, true);
        }
        assert.deepEqual(
            files.map((f) => f.inputs.file).sort(),
            [
                "ci.yml",
                "deploy.yml",
                "drift.yml",
                "drill.yml",
                "metrics.yml",
                "monitor.yml",
                "preview.yml",
                "release.yml",
                "rollback.yml",
            ].map((f) => `.github/workflows/${f}`),
        );
        for (const f of files) {
            assert.equal(f.inputs.branch, "main");
            assert.ok(
                !/hunter2|ghp_admin|fo1_token|secret-hook|state-passphrase/.test(f.inputs.content),
                `${f.inputs.file} carries no secret`,
            );
        }
        // Every Pulumi CLI the committed workflows install is the one tools/pulumi/go.mod pins (read here on its own).
        const pin = /^\s*github\.com\/pulumi\/pulumi\/pkg\/v3 v(\S+)/m.exec(
            fs.readFileSync(path.join(ROOT, "tools/pulumi/go.mod"), "utf8"),
        )?.[1];
        const installs = files.flatMap((f) =>
            Object.values(parse(f.inputs.content).jobs)
                .flatMap((j: any) => j.steps)
                .filter((s: any) => s.uses?.startsWith("pulumi/actions@")),
        );
        assert.ok(pin && installs.length >= 5, `${installs.length} installs`);
        for (const s of installs) assert.equal(s.with["pulumi-version"], pin);
        assert.deepEqual(
            run.outputs.githubRequiredChecks.value,
            rulesets[0].inputs.rules.requiredStatusChecks.requiredChecks.map((c: any) => c.context),
        );

        const provider = run.one("pulumi:providers:github");
        assert.ok(isSecretValue(provider.inputs.token), "GITHUB_TOKEN from the environment reaches the provider only as a secret");
        assert.equal(provider.inputs.owner, "shop");
        const env = run.one("github:index/repositoryEnvironment:RepositoryEnvironment");
        assert.equal(env.inputs.environment, "production");
        assert.deepEqual(env.inputs.deploymentBranchPolicy, { protectedBranches: false, customBranchPolicies: true });
        const policy = run.one("github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
        assert.deepEqual([policy.inputs.environment, policy.inputs.branchPattern], ["production", "main"]);

        const secrets: Record<string, RegisteredResource> = Object.fromEntries(
            run.ofType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").map((s) => [s.inputs.secretName, s]),
        );
        assert.deepEqual(Object.keys(secrets).sort(), [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "FLY_API_TOKEN",
            "KEEL_GITHUB_TOKEN",
            "PULUMI_CONFIG_PASSPHRASE",
        ]);
        for (const s of Object.values(secrets)) {
            assert.ok(isSecretValue(s.inputs.value), `${s.inputs.secretName} is secret in the state`);
            assert.equal(s.inputs.environment, "production");
        }
        assert.equal(unwrap(secrets.FLY_API_TOKEN.inputs.value), "fo1_token");
        // The monitor runs outside environments: Slack is a repository secret, the URLs repository variables per stack.
        const slack = run.one("github:index/actionsSecret:ActionsSecret");
        assert.equal(slack.inputs.secretName, "SLACK_WEBHOOK_URL");
        assert.ok(isSecretValue(slack.inputs.value));
        assert.equal(unwrap(slack.inputs.value), "https://hooks.slack.com/services/T/B/secret-hook");
        const monitorVar = run.one("github:index/actionsVariable:ActionsVariable");
        assert.deepEqual(
            [monitorVar.inputs.variableName, monitorVar.inputs.value],
            ["KEEL_PROD_BACKEND_HEALTH_URL", "https://shop-prod.fly.dev/healthz"],
        );
        const monitorYml = files.find((f) => f.inputs.file === ".github/workflows/monitor.yml")!.inputs.content;
        assert.match(monitorYml, /vars\.KEEL_PROD_BACKEND_HEALTH_URL/);
        const vars = Object.fromEntries(
            run
                .ofType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
                .map((v) => [v.inputs.variableName, v.inputs.value]),
        );
        assert.deepEqual(vars, {
            PULUMI_STACK: "prod",
            PULUMI_BACKEND_URL: "s3://shop-state?region=us-east-1",
            BACKEND_HEALTH_URL: "https://shop-prod.fly.dev/healthz",
            // deploy.yml's watch reads the stack's own settings (prod's defaults) and where its logs are.
            KEEL_WATCH_MINUTES: "5",
            KEEL_WATCH_INTERVAL_SECONDS: "20",
            KEEL_WATCH_FAILURES: "3",
            KEEL_BACKEND_LOGS: "fly logs -a shop-prod",
        });
        assert.equal(run.outputs.githubEnvironment.value, "production");
    });

    it("staging (not the owner): only its environment, deploying from staging; classic protection when asked", async () => {
        const staging = await withEnv(ENV, () => runProgram("staging", { ...base, "keel:github": JSON.stringify(GITHUB) }, secret));
        assert.equal(staging.ofType("github:index/repositoryRuleset:RepositoryRuleset").length, 0);
        assert.equal(staging.ofType("github:index/repositoryFile:RepositoryFile").length, 0);
        assert.equal(staging.one("github:index/repositoryEnvironment:RepositoryEnvironment").inputs.environment, "staging");
        const stagingVars = staging
            .ofType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
            .map((v) => v.inputs.variableName);
        assert.ok(!stagingVars.some((v) => v.startsWith("KEEL_WATCH_") || v === "KEEL_BACKEND_LOGS"), "no backend, no watch settings");
        assert.equal(
            staging.one("github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy").inputs.branchPattern,
            "staging",
        );

        const classic = await withEnv(ENV, () =>
            runProgram(
                "prod",
                {
                    ...base,
                    "keel:github": JSON.stringify({ ...GITHUB, protection: { kind: "classic", requiredApprovals: 1, adminBypass: false } }),
                },
                secret,
            ),
        );
        const protections = classic.ofType("github:index/branchProtection:BranchProtection");
        assert.deepEqual(protections.map((p) => p.inputs.pattern).sort(), ["main", "staging"]);
        for (const p of protections) {
            assert.equal(p.inputs.allowsForcePushes, false);
            assert.equal(p.inputs.enforceAdmins, true);
            assert.equal(p.inputs.requiredPullRequestReviews[0].requiredApprovingReviewCount, 1);
        }
    });

    it("the base of previews also holds the `preview` environment previews.yml runs in: its own secrets, any branch, no reviewers", async () => {
        const run = await withEnv(ENV, () =>
            runProgram(
                "staging",
                { ...base, "keel:github": JSON.stringify(GITHUB), "keel:previews": JSON.stringify({ enabled: true }) },
                secret,
            ),
        );
        const envs = run.ofType("github:index/repositoryEnvironment:RepositoryEnvironment");
        const preview = envs.find((e) => e.inputs.environment === "preview");
        assert.ok(preview, `environments: ${envs.map((e) => e.inputs.environment).join(", ")}`);
        assert.equal(preview.inputs.reviewers, undefined);
        assert.equal(preview.inputs.deploymentBranchPolicy, undefined, "a pull request's branch is any branch");
        const secrets = run
            .ofType("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")
            .filter((x) => x.inputs.environment === "preview")
            .map((x) => x.inputs.secretName)
            .sort();
        assert.deepEqual(secrets, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KEEL_GITHUB_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]);
        // Without keel:previews: no such environment.
        const plain = await withEnv(ENV, () => runProgram("staging", { ...base, "keel:github": JSON.stringify(GITHUB) }, secret));
        assert.ok(
            !plain.ofType("github:index/repositoryEnvironment:RepositoryEnvironment").some((e) => e.inputs.environment === "preview"),
        );
    });

    it("a deploying stack puts its own watch settings (its stage's default) and where its logs are in its environment", async () => {
        const render = { kind: "render", image: "ghcr.io/shop/api:2.0.0", render: { ownerId: "tea-abc123" } };
        const run = await withEnv({ ...ENV, RENDER_API_KEY: "rnd_key" }, () =>
            runProgram("staging", { ...base, "keel:backend": JSON.stringify(render), "keel:github": JSON.stringify(GITHUB) }, secret),
        );
        const vars = Object.fromEntries(
            run
                .ofType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
                .filter((v) => v.inputs.environment === "staging")
                .map((v) => [v.inputs.variableName, v.inputs.value]),
        );
        assert.equal(vars.KEEL_WATCH_MINUTES, "0", "staging is not watched unless its config says so");
        assert.equal(vars.KEEL_WATCH_INTERVAL_SECONDS, "20");
        assert.equal(vars.KEEL_WATCH_FAILURES, "3");
        assert.equal(vars.KEEL_BACKEND_LOGS, "https://dashboard.render.com/web/srv-1/logs");

        const watched = await withEnv({ ...ENV, RENDER_API_KEY: "rnd_key" }, () =>
            runProgram(
                "staging",
                {
                    ...base,
                    "keel:backend": JSON.stringify({ ...render, watch: { minutes: 10, intervalSeconds: 30, failures: 5 } }),
                    "keel:github": JSON.stringify(GITHUB),
                },
                secret,
            ),
        );
        const set = Object.fromEntries(
            watched
                .ofType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
                .map((v) => [v.inputs.variableName, v.inputs.value]),
        );
        assert.deepEqual([set.KEEL_WATCH_MINUTES, set.KEEL_WATCH_INTERVAL_SECONDS, set.KEEL_WATCH_FAILURES], ["10", "30", "5"]);
    });

    it("config errors (an unknown stack branch, a missing owner) come whole, before any resource", async () => {
        let created = 0;
        const counting: MockState = () => (created++, {});
        await assert.rejects(
            withEnv(ENV, () =>
                runProgram(
                    "prod",
                    {
                        ...base,
                        "keel:github": JSON.stringify({
                            repository: "shop-app",
                            branches: { prod: "main", qa: "qa" },
                            state: GITHUB.state,
                        }),
                    },
                    secret,
                    counting,
                ),
            ),
            (e: Error) => {
                assert.ok((e as any).cause instanceof ConfigError, String(e));
                assert.match(e.message, /keel:github\.owner: is not set/);
                assert.match(e.message, /keel:github\.branches\.qa: names the stack 'qa', which has no Pulumi\.qa\.yaml/);
                return true;
            },
        );
        assert.equal(created, 0);
    });
});
