/** keel:github: the owner stack, branches per stack, the state for CI, and every mistake at once with its fix. */
import { strict as assert } from "assert";
import { parseKeelConfig, RawConfig } from "../../components/config";
import { ConfigError } from "../../components/errors";
import { branchProtectionFor, environmentSecretNames, rulesetFor } from "../../components/github/gates";

const URL = "postgres://app:pw@db.internal:5432/app";
const ENV = {
    GITHUB_TOKEN: "ghp_x",
    PULUMI_CONFIG_PASSPHRASE: "pp",
    AWS_ACCESS_KEY_ID: "AKIAKEELTEST",
    AWS_SECRET_ACCESS_KEY: "aws-secret-test",
};
const GITHUB = {
    owner: "shop",
    repository: "shop-app",
    branches: { prod: "main", staging: "staging" },
    state: { backendUrl: "s3://shop-state?region=us-east-1" },
};

function raw(stack: string, github: unknown, env: Record<string, string> = ENV, extra: Record<string, string> = {}): RawConfig {
    return {
        stack,
        values: { "keel:databaseUrl": URL, "keel:github": JSON.stringify(github), ...extra },
        secretKeys: new Set(["keel:databaseUrl", ...Object.keys(extra)]),
        env,
        knownStacks: ["dev", "staging", "prod"],
    };
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

describe("github config and gates", () => {
    it("prod owns the repository gates and deploys from main into 'production'; staging deploys from its branch", () => {
        const prod = parseKeelConfig(raw("prod", GITHUB)).github!;
        assert.equal(prod.owned, true);
        assert.deepEqual(prod.deploy, { branch: "main", environment: "production" });
        assert.deepEqual(prod.protection, { kind: "ruleset", requiredApprovals: 0, adminBypass: true, linearHistory: true });
        assert.deepEqual(prod.state, { kind: "passphrase", backendUrl: "s3://shop-state?region=us-east-1" });
        const staging = parseKeelConfig(raw("staging", GITHUB)).github!;
        assert.equal(staging.owned, false);
        assert.deepEqual(staging.deploy, { branch: "staging", environment: "staging" });
        assert.equal(parseKeelConfig(raw("dev", GITHUB)).github!.deploy, undefined, "dev never deploys from CI");
    });

    it("reports a missing owner, an unknown stack branch, a shared branch and a missing state backend at once, each with its fix", () => {
        const found = problems(() =>
            parseKeelConfig(
                raw("prod", { repository: "shop-app", branches: { prod: "main", qa: "qa", staging: "main" } }, { GITHUB_TOKEN: "x" }),
            ),
        );
        const byKey = (k: string) => found.filter((p) => p.key === k);
        assert.match(byKey("keel:github.owner")[0].fix, /npm run pulumi -- config set --path keel:github\.owner my-org --stack prod/);
        assert.match(byKey("keel:github.branches.qa")[0].message, /no Pulumi\.qa\.yaml/);
        assert.match(byKey("keel:github.branches.staging")[0].message, /already deploys 'prod'/);
        assert.match(byKey("keel:github.state.backendUrl")[0].fix, /state\.kind cloud/);
        assert.match(byKey("keel:pulumiPassphrase")[0].fix, /npm run pulumi -- config set --secret keel:pulumiPassphrase/);
        assert.equal(found.length, 5, found.map((p) => p.key).join());
    });

    it("each deployed stack's stage is its own keel:stage, else its name; a stack with neither is refused by its branch key", () => {
        const withQa = (stages: Record<string, string | undefined>): RawConfig => ({
            ...raw("prod", { ...GITHUB, branches: { prod: "main", staging: "staging", qa: "qa" } }),
            knownStacks: ["dev", "staging", "prod", "qa"],
            stackStages: { dev: undefined, staging: undefined, prod: undefined, ...stages },
        });
        const stages = parseKeelConfig(withQa({ qa: "staging" })).github!.stages;
        assert.deepEqual(stages, { prod: "prod", staging: "staging", qa: "staging" });
        const found = problems(() => parseKeelConfig(withQa({})));
        assert.deepEqual(
            found.map((p) => [p.key, p.fix]),
            [["keel:github.branches.qa", "npm run pulumi -- config set keel:stage <dev|staging|prod> --stack qa"]],
        );
        assert.match(found[0].message, /'qa', which is not named after a stage and whose Pulumi\.qa\.yaml sets no keel:stage/);
    });

    it("needs this stack's branch, prod on the default branch, and a GitHub token for a deploy", () => {
        const found = problems(() =>
            parseKeelConfig(
                raw(
                    "staging",
                    { ...GITHUB, branches: { prod: "release" } },
                    { PULUMI_CONFIG_PASSPHRASE: "pp", AWS_ACCESS_KEY_ID: "AKIAKEELTEST", AWS_SECRET_ACCESS_KEY: "aws-secret-test" },
                ),
            ),
        );
        assert.deepEqual(found.map((p) => p.key).sort(), ["keel:github.branches.staging", "keel:githubToken"]);
        const prod = problems(() => parseKeelConfig(raw("prod", { ...GITHUB, branches: { prod: "release" } })));
        assert.match(prod[0].message, /prod deploys from the default branch 'main'/);
        const plain = problems(() =>
            parseKeelConfig({ ...raw("prod", GITHUB), values: { ...raw("prod", GITHUB).values, "keel:githubToken": "ghp_plain" } }),
        );
        assert.equal(plain[0].key, "keel:githubToken");
        assert.match(plain[0].message, /plain text/);
    });

    it("a ruleset: no deletion or force push, linear history, pull requests with the configured approvals, checks = CI jobs, admin bypass", () => {
        const protection = { kind: "ruleset" as const, requiredApprovals: 0, adminBypass: true, linearHistory: true };
        const r = rulesetFor("main", "prod", protection, ["lint", "typecheck", "test"]);
        assert.deepEqual(r.conditions.refName.includes, ["refs/heads/main"]);
        assert.equal(r.rules.deletion, true);
        assert.equal(r.rules.nonFastForward, true);
        assert.equal(r.rules.requiredLinearHistory, true);
        assert.equal(
            r.rules.pullRequest.requiredApprovingReviewCount,
            0,
            "zero approvals: a solo developer still merges through checked PRs",
        );
        assert.deepEqual(r.rules.requiredStatusChecks.requiredChecks, [{ context: "lint" }, { context: "typecheck" }, { context: "test" }]);
        assert.deepEqual(r.bypassActors, [{ actorId: 5, actorType: "RepositoryRole", bypassMode: "always" }]);
        assert.deepEqual(rulesetFor("main", "prod", { ...protection, adminBypass: false, requiredApprovals: 1 }, []).bypassActors, []);

        const classic = branchProtectionFor("main", { ...protection, kind: "classic", adminBypass: false, requiredApprovals: 2 }, ["test"]);
        assert.equal(classic.allowsForcePushes, false);
        assert.equal(classic.enforceAdmins, true);
        assert.deepEqual(classic.requiredStatusChecks, [{ strict: true, contexts: ["test"] }]);
        assert.equal(classic.requiredPullRequestReviews[0].requiredApprovingReviewCount, 2);
    });

    it("a state backend in an object store: the URL carries the region (S3) or account (Azure), and the store's credentials are required", () => {
        const problems = (backendUrl: string, env: Record<string, string> = ENV) => {
            try {
                parseKeelConfig(raw("prod", { ...GITHUB, state: { backendUrl } }, env));
                return [];
            } catch (err) {
                return (err as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
            }
        };
        assert.deepEqual(problems("s3://shop-state?region=eu-west-1"), []);
        assert.match(problems("s3://shop-state").join("\n"), /keel:github.state.backendUrl: names no region/);
        assert.match(problems("azblob://state").join("\n"), /keel:github.state.backendUrl: names no storage account/);
        const { AWS_SECRET_ACCESS_KEY: _, ...noSecret } = ENV;
        assert.deepEqual(problems("s3://shop-state?region=eu-west-1", noSecret), [
            "keel:awsSecretAccessKey: is not set and AWS_SECRET_ACCESS_KEY is not in the environment; the production environment needs it as the AWS_SECRET_ACCESS_KEY secret so CI can read and write the state in s3://shop-state?region=eu-west-1",
        ]);
        assert.match(problems("gs://shop-state").join("\n"), /keel:googleCredentials: is not set and GOOGLE_CREDENTIALS/);
    });

    it("environment secrets follow what the stack runs", () => {
        assert.deepEqual(
            environmentSecretNames({
                state: { kind: "passphrase", backendUrl: "s3://x" },
                database: "neon",
                backend: "fly",
                frontend: true,
                slack: true,
            }),
            [
                "PULUMI_CONFIG_PASSPHRASE",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "KEEL_GITHUB_TOKEN",
                "NEON_API_KEY",
                "FLY_API_TOKEN",
                "VERCEL_TOKEN",
                "SLACK_WEBHOOK_URL",
            ],
        );
        const names = (backendUrl: string) =>
            environmentSecretNames({ state: { kind: "passphrase", backendUrl }, frontend: false, slack: false }).filter(
                (n) => !/PULUMI|GITHUB/.test(n),
            );
        assert.deepEqual(names("gs://state"), ["GOOGLE_CREDENTIALS"]);
        assert.deepEqual(names("azblob://state?storage_account=acct"), ["AZURE_STORAGE_KEY"]);
        assert.deepEqual(names("https://pulumi.example.com"), []);
        assert.deepEqual(
            environmentSecretNames({ state: { kind: "cloud" }, database: "external", backend: "render", frontend: false, slack: false }),
            ["PULUMI_ACCESS_TOKEN", "KEEL_GITHUB_TOKEN", "RENDER_API_KEY"],
        );
    });
});
