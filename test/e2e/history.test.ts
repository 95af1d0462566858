/**
 * End to end through the real engine: after three deploys from three git
 * commits, each deploy's commit and outputs (schema version, backend image,
 * the backup taken before migrating) are read back from what the file backend
 * keeps (scripts/lib/stackHistory.ts), as rollback needs them. The dev stack as
 * users have it, on an existing PostgreSQL, with backups on and a Fly backend
 * (fake Fly API) added to it.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { deploysFromHistory, HistoryEntryJson, listDeploys, SECRET } from "../../scripts/lib/stackHistory";
import { HealthServer } from "../support/cloudStack";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { FakeFly } from "../support/fakeFly";
import { freshDatabase } from "../support/postgres";

describe("end to end: stack history keeps each deploy's commit and outputs (file backend)", function () {
    this.timeout(10 * 60_000);
    let ws: EngineWorkspace;
    let stack: Stack;
    let fly: FakeFly;
    let health: HealthServer;
    const commits: string[] = [];
    const token = "fo1_history_token";

    const git = (...args: string[]) => execFileSync("git", args, { cwd: ws.root, encoding: "utf8" }).trim();
    const backend = (image: string, healthUrl: string) => ({
        kind: "fly",
        image,
        healthCheck: { path: "/healthz", url: healthUrl, timeoutSeconds: 5, intervalSeconds: 1 },
        fly: { app: "shop-dev", region: "iad", count: 1 },
    });
    /** Commits the workspace as it is and deploys it. */
    async function deploy(image: string, message: string): Promise<void> {
        ws.editStackFile("dev", (c) => (c["keel:backend"] = backend(image, health.url)));
        git("add", "-A");
        git("commit", "-q", "-m", message);
        commits.push(git("rev-parse", "HEAD"));
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
    }

    before(async function () {
        const cli = requireEngine(this);
        fly = await FakeFly.start({ token });
        health = await HealthServer.start();
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // The copy is a git checkout, as a project is: every update records the commit it ran from.
        git("init", "-q", "-b", "main");
        git("config", "user.email", "dev@example.com");
        git("config", "user.name", "Dev");
        ws.editStackFile("dev", (c) => (c["keel:database"] = { kind: "external" }));
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: await freshDatabase("e2e_history"), secret: true });
        await stack.setConfig("keel:flyApiToken", { value: token, secret: true });
        await stack.setConfig("keel:flyApiUrl", { value: fly.url });
        ws.editStackFile("dev", (c) => (c["keel:migrations"] = { ...c["keel:migrations"], backup: true }));
    });

    after(async () => {
        await fly?.stop();
        await health?.stop();
    });

    it("records three deploys: image A with migrations 1-2, image B with migration 3, image C", async () => {
        await deploy("registry.fly.io/shop:1.0.0", "v1: accounts");
        ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        await deploy("registry.fly.io/shop:1.1.0", "v2: notes");
        await deploy("registry.fly.io/shop:1.2.0", "v3: new image");
    });

    it("reads back each deploy's number, commit, message and outputs, oldest first", async () => {
        const deploys = await listDeploys(ws.root, "dev", ws.env);
        assert.deepEqual(
            deploys.map((d) => [d.version, d.kind, d.result, d.commit, d.dirty, d.message]),
            [
                [1, "update", "succeeded", commits[0], false, "v1: accounts"],
                [2, "update", "succeeded", commits[1], false, "v2: notes"],
                [3, "update", "succeeded", commits[2], false, "v3: new image"],
            ],
        );
        assert.deepEqual(
            deploys.map((d) => [d.outputs.schemaVersion, d.outputs.backendImage]),
            [
                ["2", "registry.fly.io/shop:1.0.0"],
                ["3", "registry.fly.io/shop:1.1.0"],
                ["3", "registry.fly.io/shop:1.2.0"],
            ],
        );
        // The backup taken before migrating: before version 1 on the first deploy, before 3 on the second, kept on the third.
        const backups = deploys.map((d) => d.outputs.latestBackup as any);
        assert.deepEqual(
            backups.map((b) => [b.beforeVersion, b.schemaVersion]),
            [
                ["1", ""],
                ["3", "2"],
                ["3", "2"],
            ],
        );
        assert.equal(backups[2].id, backups[1].id);
        assert.ok(fs.existsSync(path.join(ws.root, "backups", "dev", backups[1].id)), backups[1].location);
        // Secrets stay secrets: the URL is marked, never read.
        assert.equal(deploys[0].outputs.databaseUrl, SECRET);
        assert.equal(deploys[0].config["keel:flyApiToken"], SECRET);
        assert.equal((deploys[2].config["keel:backend"] as any).image, "registry.fly.io/shop:1.2.0");
    });

    it("agrees with pulumi stack history, which numbers every entry 0 on this backend", async () => {
        const history = await stack.history();
        assert.equal(history.length, 3);
        assert.ok(
            history.every((h) => h.version === 0),
            "if the file backend numbers versions now, Keel can use its numbers",
        );
        // Newest first there; the same updates in the same order.
        assert.deepEqual(
            history.map((h) => h.environment?.["git.head"]),
            [...commits].reverse(),
        );
    });

    it("reads the same deploys from the CLI's history JSON and per-version exports, as on Pulumi Cloud", async () => {
        const cli = requireEngine(this.ctx!);
        const json = execFileSync(cli.bin, ["stack", "history", "--json", "--stack", "dev"], {
            cwd: ws.root,
            env: ws.env as NodeJS.ProcessEnv,
            encoding: "utf8",
        });
        // Pulumi Cloud numbers the entries (1 = oldest); this backend prints 0, so number them as the Cloud would.
        const entries = (JSON.parse(json) as HistoryEntryJson[]).reverse().map((e, i) => ({ ...e, version: i + 1 }));
        const fromFiles = await listDeploys(ws.root, "dev", ws.env);
        const exported: number[] = [];
        // This backend cannot export a version: the checkpoint it kept for that update stands in for
        // `pulumi stack export --version N` (the same deployment, in the export's { version, deployment } shape).
        const dir = path.join(ws.state, ".pulumi", "history", "keel", "dev");
        const checkpoints = fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".checkpoint.json"))
            .sort();
        const viaCli = await deploysFromHistory(entries, async (version) => {
            exported.push(version);
            const file = JSON.parse(fs.readFileSync(path.join(dir, checkpoints[version - 1]), "utf8"));
            return { version: 3, deployment: file.checkpoint.latest };
        });
        assert.deepEqual(exported, [1, 2, 3]);
        assert.deepEqual(
            viaCli.map((d) => [d.version, d.kind, d.result, d.commit, d.dirty, d.message, d.outputs.schemaVersion, d.outputs.backendImage]),
            fromFiles.map((d) => [
                d.version,
                d.kind,
                d.result,
                d.commit,
                d.dirty,
                d.message,
                d.outputs.schemaVersion,
                d.outputs.backendImage,
            ]),
        );
        assert.equal(viaCli[0].config["keel:flyApiToken"], SECRET);
        assert.equal((viaCli[2].config["keel:backend"] as any).image, "registry.fly.io/shop:1.2.0");
        assert.deepEqual(
            viaCli.map((d) => d.startTime.getTime()),
            fromFiles.map((d) => d.startTime.getTime()),
        );
    });

    it("marks a deploy from a dirty tree, and a failed one", async () => {
        // dev rolls out at once (no waiting on machines): the health gate is what fails this one.
        health.healthy = false;
        ws.editStackFile("dev", (c) => (c["keel:backend"].image = "registry.fly.io/shop:9.9.9-broken"));
        try {
            await assert.rejects(stack.up({}), /did not answer 2xx/);
        } finally {
            health.healthy = true;
        }
        const last = (await listDeploys(ws.root, "dev", ws.env)).at(-1)!;
        assert.equal(last.version, 4);
        assert.equal(last.result, "failed");
        assert.equal(last.dirty, true, "the stack file was edited after the last commit");
        assert.equal(last.commit, commits[2]);
    });
});
