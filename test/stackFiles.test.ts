/** The committed stack files validate, and say what the README says they do. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseKeelConfig, receivesCopies } from "../components/config";
import { isCovered, MASKING_RULES_FILE, maskingCoverage } from "../components/masking";
import { loadMigrationColumns } from "../components/masking/migrationColumns";
import { rawStackConfig } from "../scripts/lib/stackConfig";

const ROOT = path.resolve(__dirname, "..");

const TOKENS = {
    NEON_API_KEY: "napi_test",
    FLY_API_TOKEN: "fo1_test",
    VERCEL_API_TOKEN: "vercel_test",
    GITHUB_TOKEN: "ghp_test",
    PULUMI_CONFIG_PASSPHRASE: "pp",
    AWS_ACCESS_KEY_ID: "AKIAKEELTEST",
    AWS_SECRET_ACCESS_KEY: "aws-secret-test",
};

function stackConfig(stack: string, env: Record<string, string> = TOKENS) {
    return rawStackConfig(ROOT, stack, env);
}

describe("stack files", () => {
    it("dev: the local kind on 127.0.0.1:54329, whatever the environment holds", () => {
        const c = parseKeelConfig(stackConfig("dev"));
        assert.deepEqual(c.database, { kind: "local", port: 54329, databaseName: "app", user: "app", dir: ".keel/dev/dev" });
        // An exported DATABASE_URL (the app's, say) does not change the stack's kind.
        assert.equal(parseKeelConfig(stackConfig("dev", { DATABASE_URL: "postgres://me@localhost:5432/app" })).database.kind, "local");
    });

    it("staging: a child branch of prod's main on Neon, masked by db/masking.yaml (no sanitization file), which classifies every column", async () => {
        const c = parseKeelConfig(stackConfig("staging"));
        assert.equal(c.database.kind, "neon");
        if (c.database.kind !== "neon") return;
        assert.equal(c.database.project.owned, false);
        assert.deepEqual(c.database.branch, { name: "staging", parent: "main", protected: false, schemaOnly: false });
        assert.equal(c.database.sanitizeSql, undefined);
        assert.ok(receivesCopies(c));
        const coverage = maskingCoverage(
            await loadMigrationColumns(path.join(ROOT, "migrations")),
            fs.readFileSync(path.join(ROOT, MASKING_RULES_FILE), "utf8"),
            MASKING_RULES_FILE,
        );
        assert.ok(isCovered(coverage), JSON.stringify(coverage.result));
    });

    it("prod: owns the Neon project, protected main branch, an endpoint that never sleeps", () => {
        const c = parseKeelConfig(stackConfig("prod"));
        assert.equal(c.database.kind, "neon");
        if (c.database.kind !== "neon") return;
        assert.equal(c.database.project.owned, true);
        assert.deepEqual(c.database.branch, { name: "main", parent: undefined, protected: true, schemaOnly: false });
        assert.equal(c.database.endpoint.suspendTimeoutSeconds, -1);
        assert.equal(c.defaults.protect, true);
    });

    it("prod: the API on two Fly machines rolled out one at a time, and a Vercel frontend pointed at it", () => {
        const c = parseKeelConfig(stackConfig("prod"));
        assert.equal(c.backend?.kind, "fly");
        if (c.backend?.kind !== "fly") return;
        assert.equal(
            c.backend.fly.regions.reduce((n, r) => n + r.count, 0),
            2,
        );
        assert.equal(c.backend.fly.strategy, "rolling");
        assert.equal(c.backend.fly.autostop, "off");
        assert.equal(c.backend.databaseUrlEnv, "DATABASE_URL");
        assert.equal(c.backend.healthCheck.path, "/healthz");
        assert.equal(c.frontend?.backendUrlEnv, "NEXT_PUBLIC_API_URL");
        assert.equal(c.frontend?.git?.productionBranch, "main");
    });

    it("staging: one Fly machine that sleeps when idle, and its own Vercel project on the staging branch", () => {
        const c = parseKeelConfig(stackConfig("staging"));
        assert.equal(c.backend?.kind, "fly");
        if (c.backend?.kind !== "fly") return;
        assert.deepEqual(c.backend.fly.regions, [{ region: "iad", count: 1 }]);
        assert.equal(c.backend.fly.autostop, "stop");
        assert.equal(c.frontend?.git?.productionBranch, "staging");
        assert.notEqual(c.frontend?.name, parseKeelConfig(stackConfig("prod")).frontend?.name);
    });

    it("github: prod owns the gates and deploys main into production; staging deploys its branch", () => {
        const prod = parseKeelConfig(stackConfig("prod")).github!;
        const staging = parseKeelConfig(stackConfig("staging")).github!;
        assert.equal(prod.owned, true);
        assert.equal(staging.owned, false);
        assert.deepEqual(prod.branches, staging.branches, "both stacks agree on which branch deploys what");
        assert.deepEqual(prod.deploy, { branch: "main", environment: "production" });
        assert.deepEqual(staging.deploy, { branch: "staging", environment: "staging" });
    });

    it("dev runs no backend or frontend; staging and prod need the Fly and Vercel tokens for a deploy, not for operator scripts", () => {
        assert.equal(parseKeelConfig(stackConfig("dev")).backend, undefined);
        assert.throws(
            () => parseKeelConfig(stackConfig("prod", { NEON_API_KEY: "napi_test", GITHUB_TOKEN: "x", PULUMI_CONFIG_PASSPHRASE: "x" })),
            (e: Error) =>
                /keel:flyApiToken: is not set and FLY_API_TOKEN/.test(e.message) &&
                /keel:vercelApiToken: is not set and VERCEL_API_TOKEN/.test(e.message),
        );
        assert.equal(
            parseKeelConfig({ ...stackConfig("prod", { NEON_API_KEY: "napi_test" }), deployCredentials: false }).backend?.kind,
            "fly",
        );
    });
});
