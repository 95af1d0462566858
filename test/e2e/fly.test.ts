/**
 * End to end through the Automation API against the fake Fly API: the real
 * engine serializes the Fly providers and the health gate, hands them
 * keel:flyApiToken through configure, and runs up (create, rolling update,
 * a failed rollout that restores the previous image), refresh and destroy.
 * Runs only where `pulumi version` answers; otherwise one skip line is printed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { FakeFly } from "../support/fakeFly";
import { findPulumiCli } from "../support/pulumiCli";
import { tempDir } from "../support/tempDir";

const ROOT = path.resolve(__dirname, "../..");

/** The Backend component alone, given an external database URL (the schema is tested elsewhere). */
function backendOnlyProgram(): string {
    const dir = tempDir("keel-e2e-fly-");
    for (const entry of ["components", "package.json", "tsconfig.json"]) fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: keel\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    fs.writeFileSync(
        path.join(dir, "index.ts"),
        `import { Backend } from "./components/backend";
import { Database } from "./components/database";
import { readKeelConfig } from "./components/pulumiConfig";
export = async () => {
    const config = readKeelConfig();
    const db = new Database("database", { config: config.database, stack: config.stack, protect: config.defaults.protect });
    const backend = new Backend("backend", { config: config.backend!, stack: config.stack, databaseUrl: db.pooledUrl, protect: config.defaults.protect, retainOnDelete: config.defaults.retainOnDelete });
    return { url: backend.url, image: backend.image, machineIds: backend.machineIds };
};
`,
    );
    return dir;
}

describe("end to end: a Fly backend through the engine (fake Fly API)", function () {
    this.timeout(5 * 60_000);
    let fake: FakeFly;
    let stack: Stack;
    let state: string;
    let health: http.Server;
    let healthy = true;
    const token = "fo1_e2e_secret_token";
    const dbPassword = "e2e-db-password";
    const backend = (image: string) =>
        JSON.stringify({
            kind: "fly",
            image,
            env: { LOG_LEVEL: "info" },
            healthCheck: { path: "/healthz", url: "", timeoutSeconds: 10, intervalSeconds: 1 },
            fly: { app: "shop-staging", region: "iad", count: 2, strategy: "rolling", machineHealthTimeoutSeconds: 10 },
        });

    before(async function () {
        const cli = findPulumiCli();
        if (!cli) {
            console.log("    skip: end-to-end tests need the Pulumi CLI on PATH (no `pulumi version` answered)");
            this.skip();
        }
        fake = await FakeFly.start({ token });
        health = http.createServer((_req, res) => {
            res.writeHead(healthy ? 200 : 503).end(healthy ? "ok" : "down");
        });
        await new Promise<void>((r) => health.listen(0, "127.0.0.1", r));
        const workDir = backendOnlyProgram();
        state = tempDir("keel-e2e-fly-state-");
        const binDir = path.dirname(cli!.bin);
        const envVars: Record<string, string> = {
            PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            // Only the stack's config may carry the token: the environment must not.
            FLY_API_TOKEN: "",
        };
        const pulumiCommand = path.basename(binDir) === "bin" ? await PulumiCommand.get({ root: path.dirname(binDir), skipVersionCheck: true }) : undefined;
        stack = await LocalWorkspace.createOrSelectStack({ stackName: "staging", workDir }, { workDir, envVars, pulumiCommand });
        const healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/healthz`;
        await stack.setConfig("keel:databaseUrl", { value: `postgres://app:${dbPassword}@db.internal:5432/app`, secret: true });
        await stack.setConfig("keel:backend", { value: backend("registry.fly.io/shop:1.0.0").replace('"url":""', `"url":"${healthUrl}"`) });
        await stack.setConfig("keel:flyApiToken", { value: token, secret: true });
        await stack.setConfig("keel:flyApiUrl", { value: fake.url });
        await stack.setConfig("keel:backendSecrets", { value: JSON.stringify({ STRIPE_KEY: "sk_e2e_secret" }), secret: true });
        (stack as any).healthUrl = healthUrl;
    });

    after(async () => {
        await fake?.stop();
        health?.close();
    });

    const setImage = (image: string) =>
        stack.setConfig("keel:backend", { value: backend(image).replace('"url":""', `"url":"${(stack as any).healthUrl}"`) });
    const images = () => [...fake.machines.values()].filter((m) => m.state !== "destroyed").map((m) => m.config.image).sort();
    const checkpointText = () =>
        fs
            .readdirSync(path.join(state, ".pulumi", "stacks"), { recursive: true, encoding: "utf8" })
            .filter((f) => f.endsWith("staging.json"))
            .map((f) => fs.readFileSync(path.join(state, ".pulumi", "stacks", f), "utf8"))
            .join("\n");

    it("up creates the app, its secrets and two healthy machines; the token and secrets stay out of the state", async () => {
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.ok(fake.apps.has("shop-staging"));
        assert.deepEqual(images(), ["registry.fly.io/shop:1.0.0", "registry.fly.io/shop:1.0.0"]);
        assert.equal((up.outputs.machineIds.value as string[]).length, 2);
        assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${token}`), "every call carried the configured token");
        const text = checkpointText();
        for (const s of [token, dbPassword, "sk_e2e_secret"]) assert.ok(!text.includes(s), `the state holds ${s} in plain text`);
    });

    it("a new image rolls out to both machines (rolling; the order is asserted in test/backend/flyMachines.test.ts)", async () => {
        await setImage("registry.fly.io/shop:1.1.0");
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(images(), ["registry.fly.io/shop:1.1.0", "registry.fly.io/shop:1.1.0"]);
    });

    it("an image that never passes its checks fails the update and leaves every machine on the previous image", async () => {
        fake.neverHealthy("registry.fly.io/shop:1.2.0-broken");
        await setImage("registry.fly.io/shop:1.2.0-broken");
        await assert.rejects(stack.up({}), (e: Error) => /fly logs -a shop-staging/.test(e.message) && /restored|put back|previous/i.test(e.message));
        assert.deepEqual(images(), ["registry.fly.io/shop:1.1.0", "registry.fly.io/shop:1.1.0"]);
        await setImage("registry.fly.io/shop:1.1.0");
    });

    it("the health gate fails the update when the public URL does not answer 2xx", async () => {
        healthy = false;
        await setImage("registry.fly.io/shop:1.3.0");
        try {
            await assert.rejects(stack.up({}), (e: Error) => /did not answer 2xx/.test(e.message) && /503/.test(e.message));
        } finally {
            healthy = true;
        }
        // The machines run 1.3.0 (they were healthy on Fly); the next up re-runs the gate.
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
    });

    it("refresh reports a machine destroyed by hand, and destroy removes the app", async () => {
        const victim = [...fake.machines.values()].find((m) => m.state !== "destroyed")!;
        victim.state = "destroyed";
        const refresh = await stack.refresh({});
        assert.match(refresh.stdout, /destroyed|missing/i);
        await stack.destroy({});
        assert.equal(fake.apps.has("shop-staging"), false);
        await stack.workspace.removeStack("staging");
    });
});
