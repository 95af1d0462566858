/**
 * End to end through the real engine, on the local fakes: a pull request's preview
 * made from the staging stack as users have it (a Neon branch of prod's project, a
 * Fly backend, a Vercel frontend and GitHub gates; `keel pr up|list|down|reap` run
 * as processes). The preview is a Neon child branch of staging's with an expiry
 * (every endpoint of the fake is the test cluster, as in staging.test.ts: the
 * program composes the URL from the endpoint's host and the stack file's database
 * name, so the fake's data plane cannot stand behind it), a Fly app of one
 * machine that sleeps, the base's Vercel project's variable for the PR's branch and
 * a GitHub environment of its own; a second push updates it in place; max and forks
 * are refused; down leaves nothing at any fake; reap removes leftovers made behind
 * Keel's back.
 *
 * The base keeps keel:frontend and keel:github: a preview stack declares only Keel's
 * own dynamic resources for them, never the Vercel or GitHub plugins' (which cannot
 * be downloaded here: a preview that needed them would fail).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { neonClient, waitForOperations } from "../../components/vendors/neon";
import { EngineWorkspace, lastUpdateLosses, requireEngine } from "../support/engine";
import { FakeFly } from "../support/fakeFly";
import { FakeGithub } from "../support/fakeGithub";
import { FakeNeon, type FakeProject } from "../support/fakeNeon";
import { FakeVercel } from "../support/fakeVercel";
import { withClient } from "../support/migrationsDir";
import { HealthServer, neonDatabaseOnCluster, secretValue, seedProd, stagingConfig } from "../support/cloudStack";
import { testCluster } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);
const PASSPHRASE = "e2e-passphrase";
const REPO = "keel-dev/keel-app";

describe("end to end: a pull request's preview of the staging stack (Neon branch, Fly app, Vercel variable, GitHub environment)", function () {
    this.timeout(15 * 60_000);
    const file = stagingConfig();
    const neonFile = file["keel:database"].neon;
    const baseApp: string = file["keel:backend"].fly.app;
    const vercelProject: string = file["keel:frontend"].name;
    const variable: string = file["keel:frontend"].backendUrlEnv;
    const neonKey = secretValue("napi_e2e_");
    const flyToken = secretValue("fo1_e2e_");
    const vercelToken = secretValue("vcp_e2e_");
    const githubToken = secretValue("ghs_e2e_");
    const rolePassword = secretValue("npg_e2e_");
    const databaseName = `e2e_prev_cloud_${process.pid}`;

    let cli: PulumiCli;
    let neon: FakeNeon;
    let fly: FakeFly;
    let vercel: FakeVercel;
    let github: FakeGithub;
    let health: HealthServer;
    let ws: EngineWorkspace;
    let prod: FakeProject;
    let caFile: string;
    let dbUrl: string;

    const stagingBranch = () => neon.branch(prod.id, neonFile.branch.name)!;
    const previewBranch = (n: number) => neon.branch(prod.id, `preview/pr-${n}`);
    const liveMachines = (app: string) => [...fly.machines.values()].filter((m) => m.app === app && m.state !== "destroyed");
    const previewVariables = () => vercel.projects.find((p) => p.name === vercelProject)!.envs.filter((e) => e.target.includes("preview"));
    const environments = () =>
        github
            .environmentsOf(REPO)
            .map((e) => e.name)
            .sort();

    before(async function () {
        cli = requireEngine(this);
        const cluster = await testCluster();
        caFile = cluster.caFile;
        dbUrl = await neonDatabaseOnCluster(cluster, neonFile.roleName, rolePassword, databaseName);
        neon = await FakeNeon.start({ apiKey: neonKey, endpointHost: cluster.hostPort, rolePassword });
        fly = await FakeFly.start({ token: flyToken });
        vercel = await FakeVercel.start({ token: vercelToken });
        github = await FakeGithub.start({ token: githubToken, repos: [REPO] });
        health = await HealthServer.start();
        vercel.addProject({ name: vercelProject });
        for (const e of ["production", "staging"]) github.addEnvironment(REPO, e);

        // Prod's project, and staging's branch of it as staging's own `up` leaves it (its plugins' resources cannot run here).
        prod = seedProd(neon);
        const api = neonClient({ apiKey: neonKey, baseUrl: neon.url });
        const { data } = await api.createProjectBranch(prod.id, {
            branch: { parent_id: neon.branch(prod.id, neonFile.branch.parent)!.id, name: neonFile.branch.name },
        });
        await waitForOperations(api, prod.id, data.operations);

        ws = EngineWorkspace.create(cli, { NODE_EXTRA_CA_CERTS: caFile });
        ws.editStackFile("staging", (c) => {
            c["keel:database"].neon.databaseName = databaseName;
            c["keel:backend"].healthCheck = { ...c["keel:backend"].healthCheck, timeoutSeconds: 5, intervalSeconds: 1 };
            c["keel:backend"].fly.machineHealthTimeoutSeconds = 10;
            c["keel:previews"] = { enabled: true, max: 2, healthCheckUrl: health.url };
        });
        const base = await ws.stack("staging");
        await base.setConfig("keel:neonApiKey", { value: neonKey, secret: true });
        await base.setConfig("keel:neonApiUrl", { value: neon.url });
        await base.setConfig("keel:flyApiToken", { value: flyToken, secret: true });
        await base.setConfig("keel:flyApiUrl", { value: fly.url });
    });

    after(async () => {
        await Promise.all([neon?.stop(), fly?.stop(), vercel?.stop(), github?.stop(), health?.stop()]);
    });

    const secrets = () => [neonKey, flyToken, vercelToken, githubToken, rolePassword];
    /** `keel <args>` as CI runs it: the scripts' Neon key in the environment, Vercel's and GitHub's there too. */
    const run = async (args: string[], extra: Record<string, string> = {}) => {
        // Asynchronously: the fakes answer from this process.
        const res = await ws.runKeelAsync(args, {
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            NODE_EXTRA_CA_CERTS: caFile,
            NEON_API_KEY: neonKey,
            NEON_API_URL: neon.url,
            VERCEL_API_TOKEN: vercelToken,
            VERCEL_API_URL: vercel.url,
            GITHUB_TOKEN: githubToken,
            GITHUB_API_URL: github.url,
            ...extra,
        });
        for (const s of secrets()) assert.ok(!`${res.stdout}${res.stderr}`.includes(s), `keel ${args.join(" ")} printed a token`);
        return res;
    };

    let firstExpiry: string;

    it("pr up makes a Neon child branch of staging's with an expiry, a Fly app of one sleeping machine, the Vercel variable and the GitHub environment", async () => {
        const res = await run(["pr", "up", "--pr", "5", "--branch", "feature/orders"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /the preview of #5 is up \(pr-5\), until \d{4}-/);
        assert.match(res.stdout, new RegExp(`frontend: ${vercelProject}'s preview deployments of feature/orders get ${variable}=https://`));

        // Neon: preview/pr-5, a child of staging's branch, expiring at the preview's expiry; migrated.
        const branch = previewBranch(5);
        assert.ok(branch, neon.state.branches.map((b) => b.name).join(", "));
        assert.equal(branch.parent_id, stagingBranch().id);
        assert.ok(branch.expires_at, "the branch expires");
        const previewFile = parse(fs.readFileSync(path.join(ws.root, "Pulumi.pr-5.yaml"), "utf8")).config;
        firstExpiry = previewFile["keel:preview"].expiresAt;
        assert.equal(Date.parse(branch.expires_at), Date.parse(firstExpiry));
        const applied = await query(dbUrl, "SELECT version::text AS v FROM keel_schema_history ORDER BY version");
        assert.ok(applied.length >= 2, JSON.stringify(applied));

        // Fly: <staging app>-pr-5, one machine that stops when idle; staging's own app is not made or touched.
        const app = `${baseApp}-pr-5`;
        assert.ok(fly.apps.get(app), [...fly.apps.keys()].join(", "));
        assert.equal(fly.apps.get(baseApp), undefined);
        const machines = liveMachines(app);
        assert.equal(machines.length, 1);
        assert.equal(machines[0].config.services?.[0]?.autostop, "stop");
        assert.ok(health.hits > 0, "the health gate checked keel:previews.healthCheckUrl");

        // Vercel: the base's project's variable for the PR's branch, marked as Keel's.
        const vars = previewVariables();
        assert.equal(vars.length, 1, JSON.stringify(vars));
        assert.equal(vars[0].key, variable);
        assert.deepEqual(vars[0].target, ["preview"]);
        assert.equal(vars[0].gitBranch, "feature/orders");
        assert.equal(vars[0].comment, "keel preview pr-5");

        // GitHub: the environment preview-pr-5 beside the base's.
        assert.deepEqual(environments(), ["preview-pr-5", "production", "staging"]);

        // No plugin resource in the preview's state: only Keel's own.
        const types: string[] = JSON.parse(ws.checkpointText("pr-5")).checkpoint.latest.resources.map((r: { type: string }) => r.type);
        assert.ok(types.includes("keel:previews:Preview"), types.join(", "));
        assert.deepEqual(
            types.filter((t) => /^(vercel|github):/.test(t)),
            [],
            "a preview declares no Vercel or GitHub plugin resource",
        );
        assert.deepEqual(ws.filesHolding(secrets()), []);
    });

    it("a second push updates it in place (0 deletes, 0 replaces) and moves the branch's expiry later", async () => {
        await new Promise((r) => setTimeout(r, 1100));
        const res = await run(["pr", "up", "--pr", "5", "--branch", "feature/orders"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.deepEqual(await lastUpdateLosses(await ws.stack("pr-5")), []);
        const branch = previewBranch(5)!;
        assert.ok(Date.parse(branch.expires_at!) > Date.parse(firstExpiry), `${branch.expires_at} is after ${firstExpiry}`);
        assert.equal(liveMachines(`${baseApp}-pr-5`).length, 1);
        assert.equal(previewVariables().length, 1);
    });

    it("pr list --json shows it", async () => {
        const res = await run(["pr", "list", "--json"]);
        assert.equal(res.status, 0, res.stderr);
        const rows = JSON.parse(res.stdout);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].pr, 5);
        assert.equal(rows[0].branch, "feature/orders");
        assert.equal(rows[0].expired, false);
    });

    it("refuses a fork, and a third preview beyond keel:previews.max (naming the open ones), before making anything", async () => {
        const fork = await run(["pr", "up", "--pr", "6", "--branch", "x", "--head-repo", "someone/keel-app"]);
        assert.equal(fork.status, 1);
        assert.match(fork.stderr, /comes from the fork someone\/keel-app: pull requests from forks never get a preview/);
        assert.equal(previewBranch(6), undefined);

        const second = await run(["pr", "up", "--pr", "6", "--branch", "feature/other"]);
        assert.equal(second.status, 0, second.stderr + second.stdout);
        const full = await run(["pr", "up", "--pr", "7", "--branch", "feature/third"]);
        assert.equal(full.status, 1, full.stdout);
        assert.match(full.stderr, /2 previews are open, keel:previews\.max is 2: #5 \(pr-5\), #6 \(pr-6\)/);
        assert.equal(previewBranch(7), undefined);
        assert.equal(fly.apps.get(`${baseApp}-pr-7`), undefined);
        assert.ok(!fs.existsSync(path.join(ws.root, "Pulumi.pr-7.yaml")));
    });

    it("pr down leaves nothing at any fake: no branch, no app, no variable, no environment, no stack", async () => {
        for (const n of [5, 6]) {
            const res = await run(["pr", "down", "--pr", String(n)]);
            assert.equal(res.status, 0, res.stderr + res.stdout);
            assert.equal(previewBranch(n), undefined);
            assert.equal(fly.apps.get(`${baseApp}-pr-${n}`), undefined);
            assert.ok(!fs.existsSync(path.join(ws.root, `Pulumi.pr-${n}.yaml`)));
            assert.ok(!fs.existsSync(path.join(ws.state, ".pulumi", "stacks", "keel", `pr-${n}.json`)));
        }
        assert.deepEqual(previewVariables(), []);
        assert.deepEqual(environments(), ["production", "staging"]);
        assert.ok(stagingBranch(), "staging's branch stays");
        assert.match((await run(["pr", "list"])).stdout, /No previews/);
    });

    it("pr reap --open none removes leftovers made behind Keel's back, and nothing else", async () => {
        const api = neonClient({ apiKey: neonKey, baseUrl: neon.url });
        const { data } = await api.createProjectBranch(prod.id, { branch: { parent_id: stagingBranch().id, name: "preview/pr-9" } });
        await waitForOperations(api, prod.id, data.operations);
        fly.seedApp(`${baseApp}-pr-9`);
        github.addEnvironment(REPO, "preview-pr-9");
        vercel.addEnv(vercelProject, {
            type: "encrypted",
            key: variable,
            value: "https://left.example.com",
            target: ["preview"],
            gitBranch: "feature/left",
            comment: "keel preview pr-9",
        });
        const res = await run(["pr", "reap", "--open", "none", "--yes"], { FLY_API_TOKEN: flyToken, FLY_API_URL: fly.url });
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.equal(previewBranch(9), undefined);
        assert.equal(fly.apps.get(`${baseApp}-pr-9`), undefined);
        assert.deepEqual(environments(), ["production", "staging"]);
        assert.deepEqual(previewVariables(), []);
        assert.ok(stagingBranch() && neon.branch(prod.id, neonFile.branch.parent), "staging's and prod's branches stay");
    });
});
