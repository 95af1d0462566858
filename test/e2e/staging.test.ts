/**
 * End to end through the real engine: the staging stack as users have it
 * (the project's own Pulumi.staging.yaml, in a workspace copy, without its
 * keel:frontend and keel:github sections, whose resources need provider
 * plugins that cannot be downloaded here; they are covered under mocks), on
 * local fakes of the vendors' APIs:
 *
 * - Neon (fake, seeded with prod's project and its `main` branch), whose
 *   endpoints point at the test cluster, a real PostgreSQL: the schema
 *   migrations run there, after a Neon snapshot branch;
 * - the backend on Fly.io (fake), then, in the second part, the same stack
 *   file switched to Render (fake);
 * - the health gate against a local HTTP server the test answers 200 or 503.
 *
 * Credentials reach the providers only through the stack's secret config
 * (the environment's NEON_API_KEY, FLY_API_TOKEN and RENDER_API_KEY are empty),
 * and the API URLs through keel:neonApiUrl, keel:flyApiUrl, keel:renderApiUrl.
 *
 * Timeouts that would make a failure case wait minutes are lowered in the
 * stack file (healthCheck.timeoutSeconds, fly.machineHealthTimeoutSeconds,
 * render.deployTimeoutSeconds); nothing asserts how long anything took.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { FakeFly } from "../support/fakeFly";
import { FakeNeon, type FakeProject } from "../support/fakeNeon";
import { FakeRender } from "../support/fakeRender";
import { withClient } from "../support/migrationsDir";
import { HealthServer, neonStaging, secretValue, stagingConfig, switchToRender } from "../support/cloudStack";
import { PostgresCluster } from "../support/postgres";
import { checkStack } from "../../scripts/drift";
import { settleCommands } from "../../scripts/lib/driftReport";
import { destroyStack } from "../../scripts/lib/stackGuard";

/** The migration files in a directory, in order, as Keel names them (`0002_x.sql` -> version "2", id "2_x"). */
function migrationFiles(dir: string): { version: string; id: string }[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^(\d+)_(.+)\.sql$/.exec(f))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ version: String(Number(m[1])), id: `${Number(m[1])}_${m[2]}` }))
        .sort((a, b) => Number(a.version) - Number(b.version));
}

function fileVersions(dir: string): string[] {
    return migrationFiles(dir).map((f) => f.version);
}

/** The same image reference with another tag. */
function withTag(image: string, tag: string): string {
    return image.replace(/:[^:/@]+$/, `:${tag}`);
}

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

/** What the engine reported, for a failing assertion's message. */
function errorText(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}

describe("end to end: the staging stack through the engine (Neon branch + Fly + health gate, fake APIs)", function () {
    this.timeout(10 * 60_000);
    const file = stagingConfig();
    const neonFile = file["keel:database"].neon;
    const backendFile = file["keel:backend"];
    const appName: string = backendFile.fly.app;
    const machineCount: number = backendFile.fly.count;
    const image: string = backendFile.image;
    const neonKey = secretValue("napi_e2e_");
    const flyToken = secretValue("fo1_e2e_");
    const rolePassword = secretValue("npg_e2e_");
    const stripeKey = secretValue("sk_e2e_");
    const databaseName = `e2e_staging_fly_${process.pid}`;

    let cluster: PostgresCluster;
    let neon: FakeNeon;
    let fly: FakeFly;
    let health: HealthServer;
    let ws: EngineWorkspace;
    let stack: Stack;
    let prod: FakeProject;
    let mainBranchId: string;
    let output = "";
    const onOutput = (s: string) => void (output += s);

    const dbUrl = () => cluster.url(databaseName);
    const stagingBranch = () => neon.branch(prod.id, neonFile.branch.name);
    const liveMachines = () => [...fly.machines.values()].filter((m) => m.app === appName && m.state !== "destroyed");
    const images = () =>
        liveMachines()
            .map((m) => m.config.image)
            .sort();
    const setImage = (ref: string) => ws.editStackFile("staging", (c) => (c["keel:backend"].image = ref));

    before(async function () {
        fly = await FakeFly.start({ token: flyToken });
        ({ cluster, neon, prod, mainBranchId, health, ws, stack } = await neonStaging(this, {
            neonKey,
            rolePassword,
            stripeKey,
            databaseName,
            backend: (c) => (c["keel:backend"].fly.machineHealthTimeoutSeconds = 10),
            credentials: { "keel:flyApiToken": flyToken, "keel:flyApiUrl": fly.url },
        }));
    });

    after(async () => {
        await neon?.stop();
        await fly?.stop();
        await health?.stop();
    });

    it("preview plans the branch, the migrations and the Fly app, and changes nothing at Neon or Fly", async () => {
        output = "";
        const preview = await stack.preview({ onOutput, diff: true });
        assert.ok((preview.changeSummary.create ?? 0) > 0, output);
        for (const f of migrationFiles(path.join(ws.root, "migrations")))
            assert.ok(output.includes(f.id), `${f.id} is pending:\n${output}`);
        assert.match(output, /keel:FlyMachines/);
        assert.equal(neon.mutations().length, 0, JSON.stringify(neon.mutations().map((r) => `${r.method} ${r.path}`)));
        assert.equal(fly.requests.length, 0, "preview does not call Fly");
        assert.equal(stagingBranch(), undefined);
    });

    it("up creates the staging branch, migrates its database after a Neon snapshot, deploys the Fly app and passes the health gate", async () => {
        output = "";
        const hitsBefore = health.hits;
        const up = await stack.up({ onOutput });
        assert.equal(up.summary.result, "succeeded", output);
        const o = up.outputs;

        // Neon: the branch of the seeded project, its endpoint, role and database.
        const branch = stagingBranch();
        assert.ok(branch, "the staging branch exists");
        assert.equal(branch.parent_id, mainBranchId, "branched from prod's main");
        assert.equal(o.neonProjectId.value, prod.id);
        assert.equal(o.neonBranchId.value, branch.id);
        const endpoints = neon.state.endpoints.filter((e) => e.branch_id === branch.id);
        assert.equal(endpoints.length, 1);
        assert.equal(endpoints[0].type, "read_write");
        assert.equal(endpoints[0].autoscaling_limit_max_cu, neonFile.endpoint.maxCu);
        assert.equal(o.neonEndpointId.value, endpoints[0].id);
        assert.ok(neon.state.roles.some((r) => r.branch_id === branch.id && r.name === neonFile.roleName));
        const db = neon.state.databases.find((d) => d.branch_id === branch.id && d.name === databaseName);
        assert.equal(db?.owner_name, neonFile.roleName);
        assert.equal(neon.mutations(new RegExp(`^/projects/${prod.id}$`)).length, 0, "staging never changes the project it does not own");
        assert.equal(neon.mutations(new RegExp(`/branches/${mainBranchId}(/|$)`)).length, 0, "nor prod's branch");

        // The schema: the repository's sample migrations, applied on the real database behind the fake endpoint.
        const versions = fileVersions(path.join(ws.root, "migrations"));
        assert.ok(versions.length >= 2);
        assert.deepEqual(
            (await query(dbUrl(), "SELECT version::text AS v FROM keel_schema_history ORDER BY version")).map((r) => r.v),
            versions,
        );
        assert.deepEqual(await query(dbUrl(), "SELECT to_regclass('public.accounts')::text AS t"), [{ t: "accounts" }]);
        assert.equal(o.schemaVersion.value, versions[versions.length - 1]);
        assert.equal(o.appliedMigrations.value, versions.length);
        assert.equal(o.databaseKind.value, "neon");
        assert.equal(o.stage.value, "staging");

        // The backup before migrating: a snapshot branch of the staging branch, taken at schema version none, before the first file.
        const backup = o.latestBackup.value;
        assert.equal(backup.kind, "neon-branch");
        assert.equal(backup.beforeVersion, versions[0]);
        assert.equal(backup.schemaVersion, "");
        const snapshot = neon.state.branches.find((b) => b.id === backup.id);
        assert.ok(snapshot, "the backup is a branch in the project");
        assert.equal(snapshot.parent_id, branch.id);
        assert.match(snapshot.name, new RegExp(`^backup-staging-\\d{8}-\\d{6}-before-${versions[0]}$`));
        assert.ok(snapshot.expires_at, "it expires");
        assert.equal(backup.location, `${prod.id}/${snapshot.name}`);
        assert.equal(
            neon.state.endpoints.some((e) => e.branch_id === snapshot.id),
            false,
            "a snapshot has no compute",
        );

        // Fly: the app, its addresses, its secrets (the pooled URL among them) and the machines on the stack file's image.
        const app = fly.apps.get(appName);
        assert.ok(app, "the Fly app exists");
        assert.equal(app.org_slug, backendFile.fly.org);
        assert.deepEqual(app.ips.map((i) => i.type).sort(), ["shared_v4", "v6"]);
        assert.equal(o.databasePooledUrl.secret, true);
        assert.equal(o.databaseUrl.secret, true);
        const pooled: string = o.databasePooledUrl.value;
        assert.notEqual(pooled, o.databaseUrl.value);
        assert.match(pooled, /-pooler/);
        assert.ok(pooled.includes(encodeURIComponent(rolePassword)), "the pooled URL carries the staging role's password");
        assert.equal(app.secrets.get("DATABASE_URL")?.value, pooled);
        assert.equal(app.secrets.get("STRIPE_SECRET_KEY")?.value, stripeKey);
        const machines = liveMachines();
        assert.equal(machines.length, machineCount);
        assert.deepEqual(images(), Array(machineCount).fill(image));
        for (const m of machines) {
            assert.equal(m.state, "started");
            assert.equal(m.region, backendFile.fly.region);
            assert.equal(m.secretsVersion, app.secretsVersion, "the machines run with the secrets just set");
            assert.equal(m.config.env.LOG_LEVEL, backendFile.env.LOG_LEVEL);
            assert.equal(m.config.env.DATABASE_URL, undefined, "the URL is a secret, not a plain env var");
        }
        assert.deepEqual([...(o.flyMachineIds.value as string[])].sort(), machines.map((m) => m.id).sort());
        assert.equal(fly.leasedMachines().length, 0, "no lease left behind");

        // The health gate asked the health URL and it answered.
        assert.ok(health.hits > hitsBefore, "the health gate probed the health URL");
        assert.equal(o.backendKind.value, "fly");
        assert.equal(o.backendImage.value, image);
        assert.equal(o.backendHealthUrl.value, health.url);
        assert.equal(o.backendUrl.value, `https://${appName}.fly.dev`);
        assert.doesNotMatch(output, /Undefined value|\[unknown\]/);
    });

    it("every call carried the configured credential, and no state file holds a secret", async () => {
        assert.ok(neon.requests.length > 0 && fly.requests.length > 0);
        const badNeon = neon.requests.filter((r) => r.authorization !== `Bearer ${neonKey}`);
        assert.deepEqual(
            badNeon.map((r) => `${r.method} ${r.path}`),
            [],
            "every Neon call carried keel:neonApiKey",
        );
        const badFly = fly.requests.filter((r) => r.authorization !== `Bearer ${flyToken}` && r.authorization !== `FlyV1 ${flyToken}`);
        assert.deepEqual(
            badFly.map((r) => `${r.method} ${r.path}`),
            [],
            "every Fly call carried keel:flyApiToken",
        );
        assert.ok(ws.stateFiles().length > 0);
        assert.ok(ws.checkpointText("staging").includes(appName), "the checkpoint is searchable (plain JSON)");
        const passphrase = ws.env.PULUMI_CONFIG_PASSPHRASE!;
        assert.ok(passphrase.length > 0);
        assert.deepEqual(ws.filesHolding([neonKey, flyToken, rolePassword, encodeURIComponent(rolePassword), stripeKey, passphrase]), []);
    });

    it("refresh right after up finds nothing changed", async () => {
        const refresh = await stack.refresh({});
        assert.equal(refresh.summary.resourceChanges?.update ?? 0, 0, refresh.stdout);
        assert.equal(refresh.summary.resourceChanges?.delete ?? 0, 0, refresh.stdout);
    });

    it("a new image rolls out to the machines in place, each under a lease", async () => {
        const ids = liveMachines()
            .map((m) => m.id)
            .sort();
        const from = fly.requests.length;
        const next = withTag(image, "1.1.0");
        setImage(next);
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(images(), Array(machineCount).fill(next));
        assert.deepEqual(
            liveMachines()
                .map((m) => m.id)
                .sort(),
            ids,
            "updated, not replaced",
        );
        const updates = fly.requests
            .slice(from)
            .filter((r) => r.method === "POST" && new RegExp(`^/apps/${appName}/machines/[^/]+$`).test(r.path));
        assert.equal(updates.length, machineCount, "one update per machine");
        assert.ok(
            updates.every((r) => r.nonce && r.status === 200),
            "each update held the machine's lease",
        );
        assert.equal(up.outputs.backendImage.value, next);
        assert.equal(fly.leasedMachines().length, 0);
    });

    it("an image that never passes its checks fails up, naming fly logs, and leaves the machines on the previous image", async () => {
        const previous = withTag(image, "1.1.0");
        const broken = withTag(image, "1.2.0-broken");
        fly.neverHealthy(broken);
        setImage(broken);
        try {
            await assert.rejects(stack.up({}), (e: Error) => {
                assert.match(e.message, new RegExp(`fly logs -a ${appName}`));
                assert.match(e.message, /restored|put back|previous/i);
                return true;
            });
            assert.deepEqual(images(), Array(machineCount).fill(previous));
            assert.equal(fly.leasedMachines().length, 0);
            assert.equal((await stack.outputs()).backendImage.value, previous, "the stack still records the previous image");
        } finally {
            setImage(previous);
        }
    });

    it("the health gate fails the update when the health URL answers 503, naming the answer; the next up passes", async () => {
        const next = withTag(image, "1.3.0");
        health.healthy = false;
        setImage(next);
        try {
            await assert.rejects(stack.up({}), (e: Error) => {
                assert.match(e.message, /did not answer 2xx/);
                assert.match(e.message, /last answer: 503/);
                assert.ok(e.message.includes(`${new URL(health.url).host}/healthz`), errorText(e));
                return true;
            });
        } finally {
            health.healthy = true;
        }
        // The machines run the new image (they passed their checks on Fly); the next up runs the gate again.
        assert.deepEqual(images(), Array(machineCount).fill(next));
        const hits = health.hits;
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.ok(health.hits > hits, "the gate probed again");
        assert.equal(up.outputs.backendImage.value, next);
    });

    it("a new migration file is one update in preview, and up applies it after a new snapshot", async () => {
        const before = (await stack.outputs()).latestBackup.value;
        const versions = fileVersions(path.join(ws.root, "migrations"));
        const version = String(Number(versions[versions.length - 1]) + 1);
        ws.writeMigration(`${version.padStart(4, "0")}_accounts_note.sql`, "ALTER TABLE accounts ADD COLUMN note text;");
        output = "";
        const preview = await stack.preview({ onOutput, diff: true });
        assert.equal(preview.changeSummary.update, 1, output);
        assert.match(output, new RegExp(`${version}_accounts_note`));
        assert.deepEqual(
            await query(
                dbUrl(),
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'",
            ),
            [],
        );

        const up = await stack.up({});
        assert.equal(up.outputs.schemaVersion.value, version);
        assert.deepEqual(
            await query(
                dbUrl(),
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'",
            ),
            [{ column_name: "note" }],
        );
        const backup = up.outputs.latestBackup.value;
        assert.notEqual(backup.id, before.id);
        assert.equal(backup.beforeVersion, version);
        assert.equal(backup.schemaVersion, versions[versions.length - 1]);
        const snapshots = neon.state.branches
            .filter((b) => b.parent_id === stagingBranch()!.id)
            .map((b) => b.id)
            .sort();
        assert.deepEqual(snapshots, [before.id, backup.id].sort(), "the earlier snapshot is still there");
        assert.equal(neon.mutations(new RegExp(`^/projects/${prod.id}$`)).length, 0);
    });

    it("npm run drift: a machine destroyed and the branch protected by hand are resources changed outside Keel; nothing is changed", async function () {
        const cli = requireEngine(this);
        const victim = liveMachines()[0];
        victim.state = "destroyed";
        stagingBranch()!.protected = true;
        const checkpoint = ws.checkpointText("staging");
        const writes = () => fly.mutations().length + neon.mutations().length;
        const writesBefore = writes();
        try {
            const env = { ...ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` };
            const result = await checkStack("staging", { root: ws.root, env, out: () => undefined, err: () => undefined });
            assert.equal(result.status, "drift", JSON.stringify(result));
            const machines = result.resources.find((r) => r.type === "pulumi-nodejs:dynamic/keel:FlyMachines");
            assert.ok(
                machines?.lines.some((l) => l.includes(victim.id) && /destroyed outside Keel/.test(l)),
                JSON.stringify(result.resources),
            );
            const branch = result.resources.find((r) => r.type === "pulumi-nodejs:dynamic/keel:NeonBranch");
            assert.ok(
                branch?.lines.some((l) => /protected: false -> true/.test(l)),
                JSON.stringify(result.resources),
            );
            assert.deepEqual([result.schemaDrift, result.historyDrift, result.pending], [[], [], []]);
            assert.deepEqual(settleCommands(result), { codeWins: "npm run up -- staging", cloudWins: "npm run refresh -- staging" });
            assert.equal(ws.checkpointText("staging"), checkpoint, "a refresh preview writes no state");
            assert.equal(writes(), writesBefore, "and changes nothing at Fly or Neon");
        } finally {
            victim.state = "started";
            stagingBranch()!.protected = false;
        }
    });

    it("refresh reports a machine destroyed by hand and the staging branch protected by hand", async () => {
        const victim = liveMachines()[0];
        victim.state = "destroyed";
        stagingBranch()!.protected = true;
        output = "";
        const refresh = await stack.refresh({ onOutput });
        const resources = (await stack.exportStack()).deployment.resources;
        const machines = resources.find((r: any) => r.type === "pulumi-nodejs:dynamic/keel:FlyMachines");
        assert.ok(
            machines.outputs.drift.some((d: string) => d.includes(victim.id) && /destroyed outside Keel/.test(d)),
            JSON.stringify(machines.outputs.drift),
        );
        const branch = resources.find((r: any) => r.type === "pulumi-nodejs:dynamic/keel:NeonBranch");
        assert.ok(
            branch.outputs.drift.some((d: string) => /protected: false -> true/.test(d)),
            JSON.stringify(branch.outputs.drift),
        );
        assert.ok(refresh.stdout.includes(victim.id), refresh.stdout);
        assert.match(refresh.stdout, /destroyed|missing/i);
        assert.match(output, /drift in Neon branch/);
    });

    it("destroy removes the Fly app and the staging branch, and leaves prod's project and main branch", async () => {
        const branchId = stagingBranch()!.id;
        await destroyStack(stack, { onOutput });
        assert.equal(fly.apps.has(appName), false, "the Fly app is gone");
        assert.equal(liveMachines().length, 0);
        assert.equal(stagingBranch(), undefined, "the staging branch is gone");
        assert.equal(
            neon.state.branches.some((b) => b.parent_id === branchId),
            false,
            "and its snapshots with it",
        );
        assert.ok(
            neon.state.projects.some((p) => p.id === prod.id),
            "prod's project stays",
        );
        assert.equal(neon.branch(prod.id, neonFile.branch.parent)?.id, mainBranchId, "prod's branch stays");
        assert.equal(neon.mutations(new RegExp(`^/projects/${prod.id}$`)).length, 0);
        assert.equal(neon.mutations(new RegExp(`/branches/${mainBranchId}(/|$)`)).length, 0);
        assert.equal((await stack.exportStack()).deployment.resources?.length ?? 0, 0);
        await stack.workspace.removeStack("staging");
    });
});

describe("end to end: the staging stack with its backend switched to Render, through the engine (fake APIs)", function () {
    this.timeout(10 * 60_000);
    const file = stagingConfig();
    const neonFile = file["keel:database"].neon;
    const backendFile = file["keel:backend"];
    const serviceName: string = backendFile.fly.app;
    // Render pulls from a registry of the user's; the stack file's tag, on GHCR.
    const image = `ghcr.io/keel-dev/keel-app:${backendFile.image.split(":").pop()}`;
    const neonKey = secretValue("napi_e2e_");
    const renderKey = secretValue("rnd_e2e");
    const rolePassword = secretValue("npg_e2e_");
    const stripeKey = secretValue("sk_e2e_");
    const databaseName = `e2e_staging_render_${process.pid}`;

    let cluster: PostgresCluster;
    let neon: FakeNeon;
    let render: FakeRender;
    let health: HealthServer;
    let ws: EngineWorkspace;
    let stack: Stack;
    let prod: FakeProject;
    let mainBranchId: string;
    let output = "";
    const onOutput = (s: string) => void (output += s);

    const service = () => render.services.find((s) => s.name === serviceName);
    const deploysOf = (imageRef: string) => render.deploys.filter((d) => d.serviceId === service()?.id && d.image?.ref === imageRef);
    const stagingBranch = () => neon.branch(prod.id, neonFile.branch.name);
    const setImage = (ref: string) => ws.editStackFile("staging", (c) => (c["keel:backend"].image = ref));

    before(async function () {
        render = await FakeRender.start({ apiKey: renderKey });
        ({ cluster, neon, prod, mainBranchId, health, ws, stack } = await neonStaging(this, {
            neonKey,
            rolePassword,
            stripeKey,
            databaseName,
            backend: (c) => switchToRender(c, { image, name: serviceName, ownerId: render.ownerId }),
            credentials: { "keel:renderApiKey": renderKey, "keel:renderApiUrl": render.url },
        }));
    });

    after(async () => {
        await neon?.stop();
        await render?.stop();
        await health?.stop();
    });

    it("up creates the service, follows its first deploy until live, and passes the health gate", async () => {
        output = "";
        const hits = health.hits;
        const up = await stack.up({ onOutput });
        assert.equal(up.summary.result, "succeeded", output);
        const o = up.outputs;
        const s = service();
        assert.ok(s, "the Render service exists");
        assert.equal(s.type, "web_service");
        assert.equal(s.ownerId, render.ownerId);
        assert.equal(s.autoDeploy, "no", "Keel makes the deploys");
        assert.equal(s.imagePath, image);
        assert.equal(s.serviceDetails.healthCheckPath, backendFile.healthCheck.path);
        const deploys = render.deploys.filter((d) => d.serviceId === s.id);
        assert.ok(deploys.length >= 1);
        const live = deploys.filter((d) => render.status(d) === "live");
        assert.equal(live.length, 1);
        assert.equal(o.renderDeployId.value, live[0].id);
        assert.equal(live[0].image?.ref, image);

        // The environment: the plain env, the secret and the database's pooled URL, as one set.
        const env = Object.fromEntries((render.envVars.get(s.id) ?? []).map((v) => [v.key, v.value]));
        assert.equal(env.DATABASE_URL, o.databasePooledUrl.value);
        assert.match(env.DATABASE_URL, /-pooler/);
        assert.equal(env.STRIPE_SECRET_KEY, stripeKey);
        assert.equal(env.LOG_LEVEL, backendFile.env.LOG_LEVEL);

        // The database as in the Fly stack: the branch of prod's project, migrated after a snapshot.
        const branch = stagingBranch();
        assert.ok(branch);
        assert.equal(o.neonBranchId.value, branch.id);
        const versions = fileVersions(path.join(ws.root, "migrations"));
        assert.deepEqual(
            (await query(cluster.url(databaseName), "SELECT version::text AS v FROM keel_schema_history ORDER BY version")).map((r) => r.v),
            versions,
        );
        assert.equal(o.latestBackup.value.kind, "neon-branch");
        assert.equal(neon.state.branches.find((b) => b.id === o.latestBackup.value.id)?.parent_id, branch.id);

        assert.ok(health.hits > hits, "the health gate probed the health URL");
        assert.equal(o.backendKind.value, "render");
        assert.equal(o.backendUrl.value, s.serviceDetails.url);
        assert.equal(o.backendHealthUrl.value, health.url);
        assert.equal(o.backendImage.value, image);
        assert.equal(o.flyMachineIds, undefined);
    });

    it("every call carried the configured credential, and no state file holds a secret", () => {
        assert.ok(render.requests.length > 0 && neon.requests.length > 0);
        assert.deepEqual(
            render.requests.filter((r) => r.authorization !== `Bearer ${renderKey}`).map((r) => `${r.method} ${r.path}`),
            [],
        );
        assert.deepEqual(
            neon.requests.filter((r) => r.authorization !== `Bearer ${neonKey}`).map((r) => `${r.method} ${r.path}`),
            [],
        );
        assert.ok(ws.checkpointText("staging").includes(serviceName), "the checkpoint is searchable (plain JSON)");
        assert.deepEqual(
            ws.filesHolding([
                renderKey,
                neonKey,
                rolePassword,
                encodeURIComponent(rolePassword),
                stripeKey,
                ws.env.PULUMI_CONFIG_PASSPHRASE!,
            ]),
            [],
        );
        assert.equal(neon.mutations(new RegExp(`^/projects/${prod.id}$`)).length, 0);
    });

    it("refresh right after up finds nothing changed", async () => {
        const refresh = await stack.refresh({});
        assert.equal(refresh.summary.resourceChanges?.update ?? 0, 0, refresh.stdout);
        assert.equal(refresh.summary.resourceChanges?.delete ?? 0, 0, refresh.stdout);
    });

    it("a new image is deployed and followed until live", async () => {
        const next = withTag(image, "1.1.0");
        setImage(next);
        const up = await stack.up({});
        const [deploy] = deploysOf(next);
        assert.ok(deploy, "a deploy of the new image");
        assert.equal(render.status(deploy), "live");
        assert.equal(up.outputs.renderDeployId.value, deploy.id);
        assert.equal(service()!.imagePath, next);
        assert.equal(up.outputs.backendImage.value, next);
    });

    it("a deploy that fails is rolled back to the last live one, and up fails with the deploy's id and status", async () => {
        const previous = withTag(image, "1.1.0");
        const broken = withTag(image, "1.2.0-broken");
        const before = (await stack.outputs()).renderDeployId.value;
        render.failNextDeploy("update_failed");
        setImage(broken);
        try {
            let message = "";
            await assert.rejects(stack.up({}), (e: Error) => ((message = e.message), true));
            const [failed] = deploysOf(broken);
            assert.ok(failed, "the broken image was deployed");
            assert.equal(render.status(failed), "update_failed");
            assert.ok(message.includes(`Render deploy ${failed.id}`), message);
            assert.match(message, /ended update_failed/);
            const rollbacks = render.deploys.filter((d) => d.serviceId === service()!.id && d.trigger === "rollback");
            assert.equal(rollbacks.length, 1);
            assert.equal(render.status(rollbacks[0]), "live");
            assert.equal(rollbacks[0].image?.ref, previous, "the rollback runs the previous image");
            assert.ok(message.includes(rollbacks[0].id), "the error names the rollback deploy");
            assert.equal(service()!.imagePath, previous, "the service's image setting is put back");
            assert.equal((await stack.outputs()).renderDeployId.value, before, "the stack still records the previous deploy");
        } finally {
            setImage(previous);
        }
    });

    it("the health gate fails the update when the health URL answers 503, naming the answer and the deploy; the next up passes", async () => {
        const next = withTag(image, "1.3.0");
        health.healthy = false;
        setImage(next);
        try {
            await assert.rejects(stack.up({}), (e: Error) => {
                assert.match(e.message, /did not answer 2xx/);
                assert.match(e.message, /last answer: 503/);
                const [deploy] = deploysOf(next);
                assert.ok(e.message.includes(`https://dashboard.render.com/web/${service()!.id}/deploys/${deploy.id}`), e.message);
                return true;
            });
        } finally {
            health.healthy = true;
        }
        const [deploy] = deploysOf(next);
        assert.equal(render.status(deploy), "live", "the deploy itself went live on Render");
        const hits = health.hits;
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.ok(health.hits > hits, "the gate probed again");
        assert.equal(up.outputs.renderDeployId.value, deploy.id);
        assert.equal(deploysOf(next).length, 1, "passing the gate needed no new deploy");
    });

    it("destroy removes the service and the staging branch, and leaves prod's project and main branch", async () => {
        await destroyStack(stack, { onOutput });
        assert.equal(service(), undefined, "the Render service is gone");
        assert.equal(stagingBranch(), undefined, "the staging branch is gone");
        assert.ok(neon.state.projects.some((p) => p.id === prod.id));
        assert.equal(neon.branch(prod.id, neonFile.branch.parent)?.id, mainBranchId);
        assert.equal(neon.mutations(new RegExp(`/branches/${mainBranchId}(/|$)`)).length, 0);
        await stack.workspace.removeStack("staging");
    });
});
