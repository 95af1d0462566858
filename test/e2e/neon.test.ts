/**
 * End to end through the Automation API against the fake Neon API: the real
 * engine serializes the Neon providers, hands them keel:neonApiKey through
 * configure, and runs up, refresh and destroy. Runs only where `pulumi version`
 * answers; otherwise one skip line is printed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { FakeNeon } from "../support/fakeNeon";
import { findPulumiCli } from "../support/pulumiCli";
import { tempDir } from "../support/tempDir";

const ROOT = path.resolve(__dirname, "../..");

/** The Database component alone: the schema needs a real PostgreSQL, which the fake's hosts are not. */
function databaseOnlyProgram(): string {
    const dir = tempDir("keel-e2e-neon-");
    for (const entry of ["components", "package.json", "tsconfig.json"]) fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: keel\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    fs.writeFileSync(
        path.join(dir, "index.ts"),
        `import { Database } from "./components/database";
import { readKeelConfig } from "./components/pulumiConfig";
export = async () => {
    const config = readKeelConfig();
    const db = new Database("database", { config: config.database, stack: config.stack, protect: config.defaults.protect });
    return { kind: db.kind, url: db.directUrl, pooledUrl: db.pooledUrl, branchId: db.neon?.branchId };
};
`,
    );
    return dir;
}

describe("end to end: a Neon staging branch through the engine (fake Neon API)", function () {
    this.timeout(5 * 60_000);
    let fake: FakeNeon;
    let stack: Stack;
    let state: string;

    before(async function () {
        const cli = findPulumiCli();
        if (!cli) {
            console.log("    skip: end-to-end tests need the Pulumi CLI on PATH (no `pulumi version` answered)");
            this.skip();
        }
        fake = await FakeNeon.start({ operationPolls: 0, apiKey: "napi_e2e_secret_key" });
        fake.seedProject("shop", { pgVersion: 16, branchName: "main", roleName: "app", databaseName: "app" });
        const workDir = databaseOnlyProgram();
        state = tempDir("keel-e2e-neon-state-");
        const binDir = path.dirname(cli.bin);
        const envVars: Record<string, string> = {
            PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            // Only the stack's config may carry the key: the environment must not.
            NEON_API_KEY: "",
        };
        const pulumiCommand = path.basename(binDir) === "bin" ? await PulumiCommand.get({ root: path.dirname(binDir), skipVersionCheck: true }) : undefined;
        stack = await LocalWorkspace.createOrSelectStack({ stackName: "staging", workDir }, { workDir, envVars, pulumiCommand });
        await stack.setConfig("keel:database", { value: JSON.stringify({ kind: "neon", neon: { project: { name: "shop" } } }) });
        await stack.setConfig("keel:neonApiKey", { value: fake.apiKey, secret: true });
        await stack.setConfig("keel:neonApiUrl", { value: fake.url });
    });

    after(async () => {
        await fake?.stop();
    });

    it("up creates the staging branch and its objects, with the key from config and out of the state", async () => {
        const up = await stack.up({});
        const project = fake.state.projects.find((p) => p.name === "shop")!;
        const branch = fake.branch(project.id, "staging");
        assert.ok(branch, "the staging branch exists");
        assert.equal(up.outputs.branchId.value, branch!.id);
        assert.equal(up.outputs.url.secret, true);
        assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${fake.apiKey}`), "every call carried the configured key");
        const checkpoints = fs.readdirSync(path.join(state, ".pulumi", "stacks"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("staging.json"));
        const stored = fs.readFileSync(path.join(state, ".pulumi", "stacks", checkpoints[0]), "utf8");
        assert.ok(!stored.includes(fake.apiKey), "the API key is not in the state");
        assert.equal(fake.mutations(new RegExp(`^/projects/${project.id}$`)).length, 0, "staging never changes the project it does not own");
    });

    it("refresh finds nothing changed; destroy removes the branch and leaves the project", async () => {
        const refreshed = await stack.refresh({});
        assert.equal(refreshed.summary.resourceChanges?.update ?? 0, 0);
        await stack.destroy({});
        const project = fake.state.projects.find((p) => p.name === "shop");
        assert.ok(project, "the project stays");
        assert.equal(fake.branch(project!.id, "staging"), undefined, "the staging branch is gone");
        assert.ok(fake.branch(project!.id, "main"), "prod's branch stays");
        await stack.workspace.removeStack("staging");
    });
});
