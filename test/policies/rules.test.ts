/**
 * Keel's policy rules against a compliant prod stack, one change per test:
 * each rule passes the baseline and fails the change, with the stage's level.
 */
import { strict as assert } from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import { backupsBeforeMigrate } from "../../policies/rules/backupsBeforeMigrate";
import { destructiveMigrations } from "../../policies/rules/destructiveMigrations";
import { noDockerDatabaseInProd } from "../../policies/rules/noDockerDatabaseInProd";
import { noPlaintextSecrets } from "../../policies/rules/noPlaintextSecrets";
import { prodBackendSafeDeploys } from "../../policies/rules/prodBackendSafeDeploys";
import { DEFAULT_REQUIRED_CHECKS, prodBranchProtected } from "../../policies/rules/prodBranchProtected";
import { prodResourcesProtected } from "../../policies/rules/prodResourcesProtected";
import { setSecretsVisible, stageFromUrn, stackFromUrn } from "../../policies/support";
import { baseline, changed, res, T, UNKNOWN, validateAll, validateResource, validateStack } from "./baseline";

const RESOURCE_POLICIES = [
    destructiveMigrations,
    backupsBeforeMigrate,
    noDockerDatabaseInProd,
    prodResourcesProtected,
    prodBackendSafeDeploys,
    noPlaintextSecrets,
];

describe("policies: stage from the URN", () => {
    it("dev, staging and prod are themselves; any other stack name is judged as prod", () => {
        assert.equal(stackFromUrn("urn:pulumi:staging::keel::pulumi-nodejs:dynamic/keel:SchemaMigrations::schema-migrations"), "staging");
        assert.equal(stageFromUrn("urn:pulumi:dev::keel::keel:schema:Schema::schema"), "dev");
        assert.equal(stageFromUrn("urn:pulumi:staging::keel::keel:schema:Schema::schema"), "staging");
        assert.equal(stageFromUrn("urn:pulumi:prod::keel::keel:schema:Schema::schema"), "prod");
        assert.equal(stageFromUrn("urn:pulumi:feature-x::keel::keel:schema:Schema::schema"), "prod");
        assert.equal(stageFromUrn("not a urn"), "prod");
    });
});

describe("policies: the compliant prod baseline", () => {
    before(() => setSecretsVisible(true));

    it("passes every resource policy and the stack policy", async () => {
        const stack = baseline();
        for (const p of RESOURCE_POLICIES) assert.deepEqual(await validateAll(p, stack), [], p.name);
        assert.deepEqual(await validateStack(prodBranchProtected, stack), []);
    });
});

describe("policy destructive-migrations", () => {
    const stack = baseline();
    const dropUsers = (stage: string) =>
        changed(baseline(stage), T.schema, (r) => {
            r.props.migrations[2].destructive = ["line 4: DROP COLUMN email"];
        });

    it("a pending destructive file without the directive is mandatory in prod, naming file, statement and directive", async () => {
        const v = await validateResource(destructiveMigrations, dropUsers("prod"));
        assert.equal(v.length, 1);
        assert.equal(v[0].enforcementLevel, "mandatory");
        assert.equal(v[0].urn, stack[0].urn);
        assert.match(v[0].message, /schema-migrations/);
        assert.match(v[0].message, /0003_orders\.sql is pending/);
        assert.match(v[0].message, /line 4: DROP COLUMN email/);
        assert.match(v[0].message, /-- keel:allow-destructive/);
    });

    it("is mandatory on staging and advisory on dev", async () => {
        assert.equal((await validateResource(destructiveMigrations, dropUsers("staging")))[0].enforcementLevel, "mandatory");
        const dev = await validateResource(destructiveMigrations, dropUsers("dev"));
        assert.equal(dev.length, 1);
        assert.equal(dev[0].enforcementLevel, "advisory");
    });

    it("a destructive file that is already applied (not pending) passes", async () => {
        const r = changed(stack, T.schema, (x) => {
            x.props.migrations[0].destructive = ["line 1: DROP TABLE old"];
        });
        assert.deepEqual(await validateResource(destructiveMigrations, r), []);
    });

    it("without a pending list every destructive file without the directive counts", async () => {
        const r = changed(stack, T.schema, (x) => {
            delete x.props.pending;
            x.props.migrations[0].destructive = ["line 1: DROP TABLE old"];
        });
        const v = await validateResource(destructiveMigrations, r);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /0001_accounts\.sql \(pending or not/);
    });

    it("the directive lifts it", async () => {
        const r = changed(stack, T.schema, (x) => {
            x.props.migrations[2].destructive = ["line 4: DROP COLUMN email"];
            x.props.migrations[2].allowDestructive = true;
        });
        assert.deepEqual(await validateResource(destructiveMigrations, r), []);
    });

    it("an unknown value elsewhere (behind the SDK's unknown-checking proxy) does not stop the check", async () => {
        const r = dropUsers("prod");
        r.props.databaseUrl = UNKNOWN;
        const v = await validateResource(destructiveMigrations, r, unknownCheckingProxy(r.props));
        assert.equal(v.length, 1);
        assert.equal(v[0].enforcementLevel, "mandatory");
    });
});

describe("policy backups-before-migrate", () => {
    const noBackup = (stage: string) =>
        changed(baseline(stage), T.schema, (r) => {
            r.props.settings.backup = false;
        });

    it("prod and staging without a backup are mandatory violations naming the config key", async () => {
        for (const stage of ["prod", "staging"]) {
            const v = await validateResource(backupsBeforeMigrate, noBackup(stage));
            assert.equal(v.length, 1, stage);
            assert.equal(v[0].enforcementLevel, "mandatory");
            assert.match(v[0].message, new RegExp(`npm run pulumi -- config set --path keel:migrations\\.backup true --stack ${stage}`));
        }
    });

    it("dev without a backup passes", async () => {
        assert.deepEqual(await validateResource(backupsBeforeMigrate, noBackup("dev")), []);
    });

    it("a missing settings.backup counts as off", async () => {
        const r = changed(baseline(), T.schema, (x) => delete x.props.settings.backup);
        assert.equal((await validateResource(backupsBeforeMigrate, r)).length, 1);
    });
});

describe("policy no-docker-database-in-prod", () => {
    it("a Docker container or Keel's Docker PostgreSQL in prod is mandatory", async () => {
        const container = await validateResource(
            noDockerDatabaseInProd,
            res("prod", T.container, "database-postgres", { image: "postgres:16.4-bookworm" }),
        );
        assert.equal(container.length, 1);
        assert.equal(container[0].enforcementLevel, "mandatory");
        assert.match(container[0].message, /keel:database\.kind neon --stack prod/);
        assert.equal((await validateResource(noDockerDatabaseInProd, res("prod", T.dockerPostgres, "database-docker", {}))).length, 1);
    });

    it("dev and staging may run them", async () => {
        assert.deepEqual(await validateResource(noDockerDatabaseInProd, res("dev", T.container, "database-postgres", {})), []);
        assert.deepEqual(await validateResource(noDockerDatabaseInProd, res("staging", T.dockerPostgres, "database-docker", {})), []);
    });
});

describe("policy prod-resources-protected", () => {
    for (const [type, key, fix] of [
        [T.neonProject, "keel:allowDataLoss", "config rm keel:allowDataLoss --stack prod"],
        [T.neonBranch, "keel:allowDataLoss", "config rm keel:allowDataLoss --stack prod"],
        [T.flyApp, "keel:backend.allowDelete", "keel:backend.allowDelete false --stack prod"],
        [T.renderService, "keel:backend.allowDelete", "keel:backend.allowDelete false --stack prod"],
    ]) {
        it(`${type.split(":").pop()} without protect in prod is mandatory, naming ${key}`, async () => {
            const r = changed(baseline(), type, (x) => (x.opts.protect = false));
            const v = await validateResource(prodResourcesProtected, r);
            assert.equal(v.length, 1);
            assert.equal(v[0].enforcementLevel, "mandatory");
            assert.equal(v[0].urn, r.urn);
            assert.ok(v[0].message.includes(fix), v[0].message);
            // The deliberate removal README and the providers describe (allowDelete true, then up) needs the update without the pack.
            assert.ok(v[0].message.includes("KEEL_SKIP_POLICY=1 npm run up -- prod"), v[0].message);
        });
    }

    it("staging's unprotected Neon branch passes", async () => {
        const r = changed(baseline("staging"), T.neonBranch, (x) => (x.opts.protect = false));
        assert.deepEqual(await validateResource(prodResourcesProtected, r), []);
    });
});

describe("policy prod-backend-safe-deploys", () => {
    const stack = baseline();
    const fly = async (change: (p: any) => void) =>
        validateResource(
            prodBackendSafeDeploys,
            changed(stack, T.flyMachines, (r) => change(r.props)),
        );
    const render = async (change: (p: any) => void) =>
        validateResource(
            prodBackendSafeDeploys,
            changed(stack, T.renderService, (r) => change(r.props)),
        );

    it("Fly: no health check path", async () => {
        const v = await fly((p) => (p.healthCheck.path = ""));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /health check path.*keel:backend\.healthCheck\.path/);
        assert.equal(v[0].enforcementLevel, "mandatory");
    });

    it("Fly: fewer than 2 machines over all regions", async () => {
        const v = await fly((p) => (p.regions = [{ region: "iad", count: 1 }]));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /1 machine\(s\) in total.*keel:backend\.fly\.regions\[0\]\.count 2/);
        assert.deepEqual(
            await fly(
                (p) =>
                    (p.regions = [
                        { region: "iad", count: 1 },
                        { region: "ams", count: 1 },
                    ]),
            ),
            [],
        );
    });

    it("Fly: the immediate strategy", async () => {
        const v = await fly((p) => (p.strategy = "immediate"));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /"immediate".*keel:backend\.fly\.strategy rolling/);
        assert.deepEqual(await fly((p) => (p.strategy = "bluegreen")), []);
    });

    it("Render: no health check path, or one instance", async () => {
        assert.match((await render((p) => delete p.healthCheckPath))[0].message, /health check path/);
        const v = await render((p) => (p.numInstances = 1));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /keel:backend\.render\.instances 2/);
    });

    it("staging may run one immediate machine", async () => {
        const r = changed(baseline("staging"), T.flyMachines, (x) => {
            x.props.strategy = "immediate";
            x.props.regions = [{ region: "iad", count: 1 }];
        });
        assert.deepEqual(await validateResource(prodBackendSafeDeploys, r), []);
    });
});

describe("policy prod-branch-protected", () => {
    const stack = baseline();
    const replace = (type: string, change: (r: any) => void) => stack.map((r) => (r.type === type ? changed([r], type, change) : r));

    it("a classic branch protection instead of the ruleset passes", async () => {
        const withClassic = [
            ...stack.filter((r) => r.type !== T.ruleset),
            res("prod", T.branchProtection, "repo-main", {
                repositoryId: "keel-app",
                pattern: "main",
                allowsForcePushes: false,
                allowsDeletions: false,
                requiredStatusChecks: [{ strict: true, contexts: ["lint", "typecheck", "test"] }],
            }),
        ];
        assert.deepEqual(await validateStack(prodBranchProtected, withClassic), []);
    });

    it("a classic protection that allows force pushes fails", async () => {
        const withClassic = [
            ...stack.filter((r) => r.type !== T.ruleset),
            res("prod", T.branchProtection, "repo-main", {
                pattern: "main",
                allowsForcePushes: true,
                requiredStatusChecks: [{ contexts: ["lint", "typecheck", "test"] }],
            }),
        ];
        const v = await validateStack(prodBranchProtected, withClassic);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /allowsForcePushes is true/);
    });

    it("a ruleset without a CI job's check fails, naming the check", async () => {
        const v = await validateStack(
            prodBranchProtected,
            replace(T.ruleset, (r) => r.props.rules.requiredStatusChecks.requiredChecks.pop()),
        );
        assert.equal(v.length, 1);
        assert.equal(v[0].enforcementLevel, "mandatory");
        assert.match(v[0].message, /lacks "test"/);
    });

    it("a ruleset that allows force pushes, or is only evaluated, fails", async () => {
        assert.match(
            (
                await validateStack(
                    prodBranchProtected,
                    replace(T.ruleset, (r) => (r.props.rules.nonFastForward = false)),
                )
            )[0].message,
            /nonFastForward/,
        );
        assert.match(
            (
                await validateStack(
                    prodBranchProtected,
                    replace(T.ruleset, (r) => (r.props.enforcement = "evaluate")),
                )
            )[0].message,
            /not "active"/,
        );
        assert.match(
            (
                await validateStack(
                    prodBranchProtected,
                    replace(T.ruleset, (r) => (r.props.conditions.refName.includes = ["refs/heads/develop"])),
                )
            )[0].message,
            /refs\/heads\/main/,
        );
    });

    it("the required checks come from policy config", async () => {
        const v = await validateStack(prodBranchProtected, stack, { requiredChecks: ["lint", "typecheck", "test", "e2e"] });
        assert.equal(v.length, 1);
        assert.match(v[0].message, /lacks "e2e"/);
    });

    it("no branch protection at all fails", async () => {
        const v = await validateStack(
            prodBranchProtected,
            stack.filter((r) => r.type !== T.ruleset),
        );
        assert.equal(v.length, 1);
        assert.match(v[0].message, /no ruleset or branch protection/);
    });

    it("the production environment must use custom branch policies, only from main", async () => {
        const protectedBranches = await validateStack(
            prodBranchProtected,
            replace(T.environment, (r) => (r.props.deploymentBranchPolicy = { protectedBranches: true, customBranchPolicies: false })),
        );
        assert.equal(protectedBranches.length, 1);
        assert.match(protectedBranches[0].message, /custom branch policies/);
        const noPolicy = await validateStack(
            prodBranchProtected,
            stack.filter((r) => r.type !== T.deploymentPolicy),
        );
        assert.equal(noPolicy.length, 1);
        assert.match(noPolicy[0].message, /no deployment policy for branch 'main'/);
        const extra = await validateStack(prodBranchProtected, [
            ...stack,
            res("prod", T.deploymentPolicy, "repo-env-production-any", { environment: "production", branchPattern: "*" }),
        ]);
        assert.equal(extra.length, 1);
        assert.match(extra[0].message, /also deploys from branch pattern "\*"/);
        const noEnv = await validateStack(
            prodBranchProtected,
            stack.filter((r) => r.type !== T.environment),
        );
        assert.equal(noEnv.length, 1);
        assert.match(noEnv[0].message, /No github\.RepositoryEnvironment 'production'/);
    });

    it("a prod stack that declares no GitHub resources, and staging, are not checked", async () => {
        assert.deepEqual(
            await validateStack(
                prodBranchProtected,
                stack.filter((r) => !r.type.startsWith("github:")),
            ),
            [],
        );
        const staging = baseline("staging").filter((r) => r.type !== T.ruleset);
        assert.deepEqual(await validateStack(prodBranchProtected, staging), []);
    });
});

describe("policy prod-branch-protected: the CI jobs", () => {
    it("requires every job of the generated ci.yml by default (requiredStatusChecks from components/github/workflows/)", () => {
        assert.deepEqual(DEFAULT_REQUIRED_CHECKS, ["lint", "typecheck", "test"]);
    });
});
