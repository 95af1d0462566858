/**
 * The pack on a pull request's preview (stack pr-<n>, stage preview): none of
 * prod's rules hold it (what is mandatory on dev's side of the gate is advisory),
 * and preview-isolated-from-prod keeps it from prod's Neon branch, Fly app,
 * Render service and database server, as the project's stack files name them.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { backupsBeforeMigrate } from "../../policies/rules/backupsBeforeMigrate";
import { destructiveMigrations } from "../../policies/rules/destructiveMigrations";
import { noDockerDatabaseInProd } from "../../policies/rules/noDockerDatabaseInProd";
import { noPlaintextSecrets } from "../../policies/rules/noPlaintextSecrets";
import {
    checkPreviewIsolatedFromProd,
    Isolation,
    isolationFor,
    previewIsolatedFromProd,
} from "../../policies/rules/previewIsolatedFromProd";
import { prodBackendSafeDeploys } from "../../policies/rules/prodBackendSafeDeploys";
import { prodBranchProtected } from "../../policies/rules/prodBranchProtected";
import { prodResourcesProtected } from "../../policies/rules/prodResourcesProtected";
import { databaseServer, normalizeServer, prodStacksIn } from "../../policies/prodStacks";
import { projectRoot, setSecretsVisible, stageFromUrn } from "../../policies/support";
import { engineEnv } from "../../scripts/lib/engine";
import { withEnv } from "../support/mockProgram";
import { baseline, changed, res, secret, T, validateAll, validateResource, validateStack } from "./baseline";
import { tempDir } from "../support/tempDir";

const REPO = path.resolve(__dirname, "..", "..");

describe("policies on a pull request's preview", () => {
    before(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    it("pr-<n> is judged as a preview (a stack named preview, pr-0 or pr-1-x as prod, the strictest)", () => {
        assert.equal(stageFromUrn(`urn:pulumi:pr-12::keel::${T.flyApp}::backend-fly-app`), "preview");
        for (const stack of ["preview", "pr-0", "pr-1-x"])
            assert.equal(stageFromUrn(`urn:pulumi:${stack}::keel::${T.flyApp}::a`), "prod", stack);
    });

    /** The baseline as a preview, with everything prod's rules refuse: unprotected, one immediate machine, no backup, no gates. */
    function sloppyPreview(stack = "pr-12") {
        return baseline(stack)
            .filter((r) => !r.type.startsWith("github:"))
            .map((r) => {
                const x = structuredClone(r);
                x.opts.protect = false;
                if (x.type === T.schema) {
                    x.props.settings.backup = false;
                    x.props.migrations[2].destructive = ["line 4: DROP COLUMN email"];
                }
                if (x.type === T.flyMachines) {
                    x.props.strategy = "immediate";
                    x.props.regions = [{ region: "iad", count: 1 }];
                    delete x.props.healthCheck;
                }
                if (x.type === T.renderService) x.props.numInstances = 1;
                if (x.type === T.flyApp) x.props.name = "keel-app-staging-pr-12";
                return x;
            });
    }

    it("is not refused by prod-only or shared-only rules: unprotected, one immediate machine, no backups, no branch gates, a Docker database", async () => {
        const stack = [
            ...sloppyPreview(),
            res("pr-12", T.container, "database-postgres", { image: "postgres:16.4-bookworm" }),
            res("pr-12", T.dockerPostgres, "database-docker", {}),
        ];
        for (const p of [prodResourcesProtected, prodBackendSafeDeploys, noDockerDatabaseInProd, backupsBeforeMigrate])
            assert.deepEqual(await validateAll(p, stack), [], p.name);
        assert.deepEqual(await validateStack(prodBranchProtected, stack), []);
        // The same stack named prod is refused by each of them: the preview's pass is its stage, not a lax check.
        const prod = sloppyPreview("prod");
        for (const p of [prodResourcesProtected, prodBackendSafeDeploys, backupsBeforeMigrate])
            assert.ok((await validateAll(p, prod)).length > 0, p.name);
    });

    it("the resources' carried stage counts too: stage preview on a stack of another name is a preview", async () => {
        const r = changed(baseline("qa"), T.flyApp, (x) => {
            x.opts.protect = false;
            x.props.stage = "preview";
        });
        assert.deepEqual(await validateResource(prodResourcesProtected, r), []);
        r.props.stage = "prod";
        assert.equal((await validateResource(prodResourcesProtected, r)).length, 1);
    });

    it("destructive migrations and plain-text secrets are advisory on a preview, as on dev", async () => {
        const stack = sloppyPreview();
        const destructive = await validateAll(destructiveMigrations, stack);
        assert.equal(destructive.length, 1);
        assert.equal(destructive[0].enforcementLevel, "advisory");
        const plain = changed(stack, T.flyMachines, (x) => (x.props.env.SENTRY_API_KEY = "abc123"));
        const secrets = await validateResource(noPlaintextSecrets, plain);
        assert.equal(secrets.length, 1);
        assert.equal(secrets[0].enforcementLevel, "advisory");
    });
});

/** A project whose stack files name prod's objects: prod (owner of Neon project keel-app), staging, a second prod-stage stack. */
function project(files: Record<string, string> = {}): string {
    const root = tempDir("keel-preview-policy-");
    const all: Record<string, string> = {
        "Pulumi.yaml": "name: shop\nruntime: nodejs\n",
        "Pulumi.prod.yaml": [
            "config:",
            "  keel:database:",
            "    kind: neon",
            "    neon:",
            "      project:",
            "        name: shop-db",
            "      branch:",
            "        name: trunk",
            "  keel:backend:",
            "    kind: fly",
            "    fly:",
            "      app: shop-prod",
            "  keel:databaseUrl:",
            "    secure: v1:abc",
            "",
        ].join("\n"),
        "Pulumi.staging.yaml": [
            "config:",
            "  keel:database:",
            "    kind: neon",
            "    neon:",
            "      project:",
            "        name: shop-db",
            "      branch:",
            "        name: staging",
            "        parent: trunk",
            "  keel:backend:",
            "    kind: render",
            "    render:",
            "      name: shop-staging",
            "",
        ].join("\n"),
        // Not named after a stage, prod by keel:stage: a Render service of the default name and a plain URL.
        "Pulumi.eu.yaml": [
            "config:",
            "  keel:stage: prod",
            "  keel:backend:",
            "    kind: render",
            "  keel:databaseUrl: postgres://app:pw@DB.EU.example.com/app",
            "",
        ].join("\n"),
        "Pulumi.pr-12.yaml": [
            "config:",
            "  keel:stage: preview",
            "  keel:database:",
            "    kind: neon",
            "    neon:",
            "      project:",
            "        name: shop-db",
            "      branch:",
            "        name: preview/pr-12",
            "        parent: staging",
            "",
        ].join("\n"),
        ...files,
    };
    for (const [f, text] of Object.entries(all)) fs.writeFileSync(path.join(root, f), text);
    return root;
}

const at = (stack: string, type: string, name: string, props: Record<string, any>) => ({
    ...res(stack, type, name, props),
    props: { ...props, stage: stack === "pr-12" ? "preview" : stack },
});

describe("policy preview-isolated-from-prod", () => {
    before(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    const root = project();
    const iso = isolationFor(root, "pr-12");
    const check = (r: ReturnType<typeof at>, isolation: Isolation = iso) => checkPreviewIsolatedFromProd(r, isolation);
    const branch = (props: Record<string, any>, stack = "pr-12") =>
        at(stack, T.neonBranch, "database-neon-branch", { projectId: "proj-1", protected: false, schemaOnly: true, ...props });

    it("reads prod-stage stacks' names from the stack files, with the program's defaults, and never a secret", () => {
        assert.deepEqual(
            prodStacksIn(root).map((p) => p.stack),
            ["eu", "prod"],
        );
        const eu = prodStacksIn(root).find((p) => p.stack === "eu")!;
        assert.deepEqual(eu.renderServices, ["shop-eu"]);
        assert.deepEqual(eu.databaseServers, ["db.eu.example.com:5432"]);
        const prod = prodStacksIn(root).find((p) => p.stack === "prod")!;
        assert.deepEqual(prod.flyApps, ["shop-prod"]);
        assert.deepEqual(prod.neonBranches, [{ project: "shop-db", branch: "trunk" }]);
        assert.deepEqual(prod.databaseServers, [], "prod's URL is a secret: not known");
        assert.equal(iso.neonProject, "shop-db");
    });

    it("a preview's branch off staging's, its own app and service, pass", () => {
        assert.deepEqual(check(branch({ name: "preview/pr-12", parent: "staging" })), []);
        assert.deepEqual(check(at("pr-12", T.flyApp, "backend-fly-app", { name: "shop-staging-pr-12", orgSlug: "personal" })), []);
        assert.deepEqual(check(at("pr-12", T.renderService, "backend-render-service", { name: "shop-staging-pr-12" })), []);
        assert.deepEqual(
            check(at("pr-12", T.schema, "schema-migrations", { databaseUrl: secret("postgres://app:pw@ep-9.neon.tech/app") })),
            [],
        );
    });

    it("a Neon branch made from prod's branch is mandatory, naming the resource, prod's branch and keel pr up --from staging", () => {
        const v = check(branch({ name: "preview/pr-12", parent: "trunk" }));
        assert.equal(v.length, 1);
        assert.equal(v[0].enforcementLevel, "mandatory");
        assert.match(
            v[0].message,
            /^'database-neon-branch' \(keel:NeonBranch\) in the preview stack pr-12 is made from prod's Neon branch 'trunk' of project 'shop-db' \(the prod stack's\)/,
        );
        assert.match(v[0].message, /keel pr down --pr 12, then keel pr up --pr 12 --from staging/);
    });

    it("prod's branch itself, or no parent (the project's default branch, prod's), is refused", () => {
        assert.match(check(branch({ name: "trunk", parent: "staging" }))[0].message, /is prod's Neon branch 'trunk'/);
        const none = check(branch({ name: "preview/pr-12" }));
        assert.equal(none.length, 1);
        assert.match(none[0].message, /has no parent branch, so it is the Neon project's default branch \(project 'shop-db'\), prod's/);
    });

    it("in another Neon project, prod's branch name is no one's: a branch named like it passes", () => {
        const other = isolationFor(
            project({
                "Pulumi.pr-12.yaml": "config:\n  keel:database:\n    kind: neon\n    neon:\n      project:\n        name: other-db\n",
            }),
            "pr-12",
        );
        assert.equal(other.neonProject, "other-db");
        assert.deepEqual(check(branch({ name: "preview/pr-12", parent: "trunk" }), other), []);
        assert.deepEqual(check(branch({ name: "preview/pr-12" }), other), []);
    });

    it("prod's Fly app, by name or as the app of machines, secrets, IPs or a certificate, is refused", () => {
        for (const [type, props] of [
            [T.flyApp, { name: "shop-prod" }],
            [T.flyMachines, { app: "shop-prod" }],
            [T.flySecrets, { app: "shop-prod", values: secret({ A: "b" }) }],
            ["pulumi-nodejs:dynamic/keel:FlyIpAddresses", { app: "shop-prod" }],
            ["pulumi-nodejs:dynamic/keel:FlyCertificate", { app: "shop-prod", hostname: "api.shop.dev" }],
        ] as const) {
            const v = check(at("pr-12", type, "x", { ...props }));
            assert.equal(v.length, 1, type);
            assert.match(v[0].message, /acts on the Fly app 'shop-prod', the prod stack's \(prod\)/);
        }
    });

    it("a prod-stage stack's Render service, of its configured or default name, is refused", () => {
        assert.match(
            check(at("pr-12", T.renderService, "s", { name: "shop-eu" }))[0].message,
            /is the Render service 'shop-eu', the eu stack's/,
        );
        // staging's service is not prod's.
        assert.deepEqual(check(at("pr-12", T.renderService, "s", { name: "shop-staging" })), []);
    });

    it("a database URL on a prod server (from a plain stack file or the policy config) is refused without showing the URL", () => {
        const url = "postgres://app:hunter2@db.eu.example.com:5432/app_pr_12";
        const v = check(at("pr-12", T.schema, "schema-migrations", { databaseUrl: secret(url) }));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /has a database URL at databaseUrl on the eu stack's database server/);
        assert.ok(!v[0].message.includes("hunter2") && !v[0].message.includes("db.eu.example.com"), v[0].message);
        const configured = isolationFor(root, "pr-12", { prodDatabaseServers: ["prod-db.internal"] });
        const env = check(
            at("pr-12", T.flySecrets, "backend-fly-secrets", {
                app: "shop-staging-pr-12",
                values: secret({ DATABASE_URL: "postgresql://a:b@prod-db.internal/app" }),
            }),
            configured,
        );
        assert.equal(env.length, 1);
        assert.match(env[0].message, /at values\.DATABASE_URL on a prod database server \(policy config prodDatabaseServers\)/);
    });

    it("checks previews only: the same resources on dev, staging and prod pass", () => {
        for (const stack of ["dev", "staging", "prod"]) {
            assert.deepEqual(check(branch({ name: "trunk" }, stack)), [], stack);
            assert.deepEqual(check(at(stack, T.flyApp, "a", { name: "shop-prod" })), [], stack);
        }
    });

    it("without stack files it still refuses a branch without a parent, and nothing else it cannot know", () => {
        const empty = isolationFor(tempDir("keel-no-files-"), "pr-12");
        assert.deepEqual(empty.prod, []);
        assert.equal(check(branch({ name: "preview/pr-12" }), empty).length, 1);
        assert.deepEqual(check(at("pr-12", T.flyApp, "a", { name: "shop-prod" }), empty), []);
        // A directory that does not exist, or an unreadable stack file, is no error.
        assert.deepEqual(isolationFor(path.join(tempDir("keel-gone-"), "missing"), "pr-12").prod, []);
        const broken = project({ "Pulumi.prod.yaml": "config: [unclosed\n" });
        assert.deepEqual(
            prodStacksIn(broken).map((p) => p.stack),
            ["eu"],
        );
    });

    it("a Fly app is refused exactly when its name is a prod-stage stack's app (property)", () => {
        fc.assert(
            fc.property(
                fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 4 }),
                fc.nat(),
                (names, i) => {
                    const prod = names.slice(0, -1);
                    const isolation: Isolation = {
                        prod: prod.map((n, k) => ({
                            stack: `p${k}`,
                            flyApps: [n],
                            renderServices: [],
                            neonBranches: [],
                            databaseServers: [],
                        })),
                        prodDatabaseServers: [],
                    };
                    const name = names[i % names.length];
                    const v = check(at("pr-12", T.flyApp, "a", { name }), isolation);
                    assert.equal(v.length, prod.includes(name) ? 1 : 0);
                },
            ),
        );
    });

    it("a server is the same however it is written: host case, default port, a URL or host:port", () => {
        fc.assert(
            fc.property(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), (host, port) => {
                const url = `postgres://u:p@${host.toUpperCase()}${port ? `:${port}` : ""}/db`;
                const hp = `${host}:${port ?? 5432}`;
                assert.equal(databaseServer(url), hp.toLowerCase());
                assert.equal(normalizeServer(port ? `${host}:${port}` : host), hp.toLowerCase());
                assert.equal(normalizeServer(url), hp.toLowerCase());
            }),
        );
    });

    it("reads the project the engine runs (KEEL_PROJECT_ROOT, which keel's engine commands set), else the pack's repository", async () => {
        assert.equal(projectRoot({}), REPO);
        assert.equal(projectRoot({ KEEL_PROJECT_ROOT: tempDir("keel-not-a-project-") }), REPO, "no Pulumi.yaml there: not a project");
        assert.equal(projectRoot({ KEEL_PROJECT_ROOT: root }), root);
        const cli = { version: "v3.276.0", bin: "/opt/pulumi/bin/pulumi" };
        assert.equal(engineEnv(root, "pr-12", cli, { PULUMI_CONFIG_PASSPHRASE: "p" }).KEEL_PROJECT_ROOT, root);
        // This project's prod app is shop-prod; the repository's keel-app-prod is not its.
        const v = await withEnv({ KEEL_PROJECT_ROOT: root }, async () => [
            await validateResource(previewIsolatedFromProd, at("pr-12", T.flyApp, "a", { name: "shop-prod" })),
            await validateResource(previewIsolatedFromProd, at("pr-12", T.flyApp, "a", { name: "keel-app-prod" })),
        ]);
        assert.equal(v[0].length, 1);
        assert.deepEqual(v[1], []);
    });

    it("the registered policy reads this repository's stack files: prod's Fly app and Neon branch are out of a preview's reach", async () => {
        const app = await validateResource(
            previewIsolatedFromProd,
            res("pr-7", T.flyApp, "backend-fly-app", { name: "keel-app-prod", stage: "preview" }),
        );
        assert.equal(app.length, 1);
        assert.equal(app[0].enforcementLevel, "mandatory");
        assert.match(app[0].message, /keel pr up --pr 7 --from staging/);
        const fromMain = await validateResource(
            previewIsolatedFromProd,
            res("pr-7", T.neonBranch, "database-neon-branch", { name: "preview/pr-7", parent: "main", stage: "preview" }),
        );
        assert.equal(fromMain.length, 1);
        assert.match(fromMain[0].message, /prod's Neon branch 'main' of project 'keel-app'/);
        assert.deepEqual(
            await validateResource(
                previewIsolatedFromProd,
                res("pr-7", T.neonBranch, "database-neon-branch", { name: "preview/pr-7", parent: "staging", stage: "preview" }),
            ),
            [],
        );
        assert.ok(fs.existsSync(path.join(REPO, "Pulumi.prod.yaml")));
    });
});
