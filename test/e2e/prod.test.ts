/**
 * End to end through the real engine with Keel's policy pack loaded, as
 * `npm run up -- prod` loads it (policyPackPath: policies/analyzer.js): the
 * prod stack as users have it (Pulumi.prod.yaml, without its frontend and
 * github sections, whose providers cannot be downloaded here). prod owns the
 * Neon project (fake Neon, empty at first; its endpoint is the test cluster,
 * so the migrations run on a real PostgreSQL), runs the backend on Fly (fake
 * Fly) behind a health gate on a local server, and gets its credentials only
 * from secret stack config.
 *
 * The compliant config passes every rule of the pack; each of a destructive
 * migration, an app left unprotected and a plain-text secret blocks preview
 * and up with the rule's name and fix, and changes nothing: no mutating
 * request reached the fakes, the database and the state are as they were.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { policyPackPath } from "../../scripts/lib/engine";
import { backupsBeforeMigrate } from "../../policies/rules/backupsBeforeMigrate";
import { destructiveMigrations } from "../../policies/rules/destructiveMigrations";
import { noDockerDatabaseInProd } from "../../policies/rules/noDockerDatabaseInProd";
import { noPlaintextSecrets } from "../../policies/rules/noPlaintextSecrets";
import { prodBackendSafeDeploys } from "../../policies/rules/prodBackendSafeDeploys";
import { prodBranchProtected } from "../../policies/rules/prodBranchProtected";
import { prodResourcesProtected } from "../../policies/rules/prodResourcesProtected";
import { previewIsolatedFromProd } from "../../policies/rules/previewIsolatedFromProd";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { FakeFly } from "../support/fakeFly";
import { FakeNeon } from "../support/fakeNeon";
import { withClient } from "../support/migrationsDir";
import { forTheEngine, HealthServer, neonDatabaseOnCluster, secretValue } from "../support/cloudStack";
import { testCluster } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";

const DYN = "pulumi-nodejs:dynamic/keel:";
const RESOURCE_RULES = [
    destructiveMigrations,
    backupsBeforeMigrate,
    noDockerDatabaseInProd,
    prodResourcesProtected,
    prodBackendSafeDeploys,
    noPlaintextSecrets,
    // Mandatory on previews only; it judges every resource and passes prod's.
    previewIsolatedFromProd,
].map((p) => p.name);
const STACK_RULES = [prodBranchProtected.name];

/** What the engine reported of one command: its text and its events. */
interface Run {
    output: string;
    events: EngineEvent[];
    error?: Error;
    /** up's stack outputs, by name. */
    outputs: Record<string, any>;
}

/**
 * What the state says was deployed, per resource: id, outputs, protect and
 * retainOnDelete. Not the inputs: a step that changes nothing still records the
 * inputs the provider's check returned (the schema's `pending` list empties
 * after the up that applied it). Not the default dynamic provider: the engine
 * records the stack's config as its inputs at every update, a blocked one too
 * (its config, secrets encrypted, is all it holds).
 */
async function deployed(stack: Stack): Promise<Record<string, string>> {
    const resources = (await stack.exportStack()).deployment.resources as any[];
    return Object.fromEntries(
        resources
            .filter((r) => !r.type.startsWith("pulumi:providers:"))
            .map((r) => [
                r.urn,
                JSON.stringify({ id: r.id, outputs: r.outputs, protect: r.protect ?? false, retainOnDelete: r.retainOnDelete ?? false }),
            ]),
    );
}

/** `<type>::<name>` of a URN. */
function short(urn: string): string {
    const [, , chain, name] = urn.split("::");
    return `${chain.split("$").pop()}::${name}`;
}

/** The policy events of a run (the SDK's EngineEvent type lists only policyEvent; the engine sends more). */
const policyEvents = (run: Run, kind: string): any[] => run.events.map((e) => (e as any)[kind]).filter(Boolean);

describe("end to end: the prod stack through the engine, gated by the policy pack", function () {
    this.timeout(15 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let neon: FakeNeon;
    let fly: FakeFly;
    let health: HealthServer;
    let dbUrl: string;
    let packs: string[];
    const rolePassword = secretValue("npg_e2e_");
    const stripeKey = secretValue("sk_live_");
    const dbName = `keel_e2e_prod_${process.pid}`;
    /** What the database held each time Neon was asked to create a branch (the backup is one). */
    const branchCreations: { name: string; accountsTable: boolean }[] = [];

    const query = (sql: string): Promise<any[]> => withClient(dbUrl, async (c) => (await c.query(sql)).rows);

    /** Runs preview or up with the pack; a failure is returned, not thrown. */
    const run = async (command: "preview" | "up"): Promise<Run> => {
        const r: Run = { output: "", events: [], outputs: {} };
        const opts = {
            onOutput: (s: string) => void (r.output += s),
            onEvent: (e: EngineEvent) => void r.events.push(e),
            policyPacks: packs,
        };
        try {
            if (command === "preview") await stack.preview({ ...opts, diff: true });
            else r.outputs = Object.fromEntries(Object.entries((await stack.up(opts)).outputs).map(([k, v]) => [k, v.value]));
        } catch (err) {
            r.error = err as Error;
            r.output += `\n${(err as Error).message}`;
        }
        return r;
    };

    /** Everything a blocked attempt could have changed: vendor mutations, the database, the state. */
    const snapshot = async () => ({
        neonMutations: neon.mutations().length,
        flyMutations: fly.mutations().length,
        branches: neon.state.branches.map((b) => `${b.name}:${b.protected}`).sort(),
        machines: [...fly.machines.values()].map((m) => `${m.id}:${m.state}:${m.instance_id}:${m.config.image}`).sort(),
        flySecrets: [...(fly.apps.get("keel-app-prod")?.secrets.keys() ?? [])].sort(),
        history: await query("SELECT version, checksum FROM keel_schema_history ORDER BY version"),
        columns: await query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"),
        deployed: await deployed(stack),
    });

    /** A blocked preview and up: both fail naming the rule, mandatory, with its fix; nothing changes. */
    const assertBlocked = async (rule: string, fix: RegExp): Promise<{ preview: Run; up: Run }> => {
        const before = await snapshot();
        const preview = await run("preview");
        const up = await run("up");
        for (const [what, r] of Object.entries({ preview, up })) {
            assert.ok(r.error, `${what} should fail:\n${r.output}`);
            const violations = policyEvents(r, "policyEvent").filter((v) => v.policyName === rule);
            assert.ok(violations.length > 0, `${what}: no ${rule} violation:\n${r.output}`);
            for (const v of violations) {
                assert.equal(v.policyPackName, "keel");
                assert.equal(v.enforcementLevel, "mandatory");
            }
            // The engine prints the rule with its level and its severity (each rule carries one).
            assert.match(
                r.output,
                new RegExp(`\\[mandatory\\]\\s+\\[severity: (low|medium|high|critical)\\]\\s+${rule}\\s+\\(`),
                `${what} names the rule:\n${r.output}`,
            );
            assert.match(r.output, fix, `${what} gives the fix:\n${r.output}`);
        }
        assert.deepEqual(await snapshot(), before, "the blocked attempts changed nothing");
        return { preview, up };
    };

    before(async function () {
        cli = requireEngine(this);
        const cluster = await testCluster();
        dbUrl = await neonDatabaseOnCluster(cluster, "app", rolePassword, dbName);
        neon = await FakeNeon.start({ endpointHost: cluster.hostPort, rolePassword });
        // A probe, not a change of behaviour: before the fake answers a branch creation, note whether the migrations had run yet.
        const route = (neon as any).route.bind(neon);
        (neon as any).route = async (method: string, p: string, ...rest: unknown[]) => {
            if (method === "POST" && /^\/projects\/[^/]+\/branches$/.test(p)) {
                const [{ present }] = await query("SELECT to_regclass('public.accounts') IS NOT NULL AS present");
                branchCreations.push({ name: (rest[1] as any)?.branch?.name, accountsTable: present });
            }
            return route(method, p, ...rest);
        };
        fly = await FakeFly.start();
        health = await HealthServer.start();

        // The provider processes verify the cluster's certificate (Neon URLs say sslmode=require).
        ws = EngineWorkspace.create(cli, { NODE_EXTRA_CA_CERTS: cluster.caFile });
        packs = [policyPackPath(ws.root)];
        ws.editStackFile("prod", (c) => forTheEngine(c, { databaseName: dbName, healthUrl: health.url }));
        stack = await ws.stack("prod");
        await stack.setConfig("keel:neonApiKey", { value: neon.apiKey, secret: true });
        await stack.setConfig("keel:flyApiToken", { value: fly.token, secret: true });
        await stack.setConfig("keel:neonApiUrl", { value: neon.url });
        await stack.setConfig("keel:flyApiUrl", { value: fly.url });
    });

    after(async () => {
        await neon?.stop();
        await fly?.stop();
        await health?.stop();
    });

    it("preview of the compliant config passes every rule of the pack and changes nothing", async () => {
        const preview = await run("preview");
        assert.equal(preview.error, undefined, preview.output);
        assert.deepEqual(policyEvents(preview, "policyEvent"), [], "no violation, not even advisory");
        const passed = new Set(policyEvents(preview, "policyAnalyzeSummaryEvent").flatMap((e) => e.passed));
        assert.deepEqual([...passed].sort(), [...RESOURCE_RULES].sort());
        assert.deepEqual(neon.mutations(), []);
        assert.deepEqual(fly.mutations(), []);
        assert.deepEqual(neon.state.projects, []);
    });

    it("up passes the pack: the Neon project with its protected main branch, a snapshot, then the migrations; 2 Fly machines behind the health gate", async () => {
        const up = await run("up");
        assert.equal(up.error, undefined, up.output);

        // The pack ran, by its name, on Keel's resources: every rule judged them and none objected.
        const summary = up.events.find((e) => e.summaryEvent)!.summaryEvent!;
        assert.deepEqual(Object.entries((summary as any).PolicyPacks ?? summary.policyPacks), [[`keel|local|${packs[0]}`, "0.1.0"]]);
        assert.match(up.output, /Policies:\s+✅ keel@v0\.1\.0 \(local: [^)]*analyzer\.js\)/);
        const analyzed = policyEvents(up, "policyAnalyzeSummaryEvent");
        for (const type of ["NeonProject", "NeonBranch", "SchemaMigrations", "FlyApp", "FlyMachines"]) {
            const on = analyzed.filter((e) => e.resourceUrn.includes(`$${DYN}${type}::`));
            assert.equal(on.length, 1, `${type} analyzed once`);
            assert.equal(on[0].policyPackName, "keel");
            assert.deepEqual([...on[0].passed].sort(), [...RESOURCE_RULES].sort(), type);
        }
        assert.deepEqual(
            policyEvents(up, "policyAnalyzeStackSummaryEvent").map((e) => e.passed),
            [STACK_RULES],
        );
        assert.deepEqual(policyEvents(up, "policyEvent"), []);

        // prod owns the project: created as keel-app, its default branch main, protected at Neon.
        assert.deepEqual(
            neon.state.projects.map((p) => p.name),
            ["keel-app"],
        );
        const main = neon.state.branches.find((b) => b.default)!;
        assert.equal(main.name, "main");
        assert.equal(main.protected, true);
        // One backup branch, asked for while the database had no table yet, then the migrations.
        assert.deepEqual(branchCreations, [{ name: branchCreations[0]?.name, accountsTable: false }]);
        assert.match(branchCreations[0].name, /^backup-prod-\d{8}-\d{6}-before-1$/);
        assert.ok(
            neon.state.branches.some((b) => b.name === branchCreations[0].name && b.parent_id === main.id),
            "the backup is a branch of main",
        );
        assert.deepEqual(
            (await query("SELECT version FROM keel_schema_history ORDER BY version")).map((r) => String(r.version)),
            ["1", "2"],
        );
        assert.equal(up.outputs.schemaVersion, "2");
        assert.equal(up.outputs.latestBackup.location, `${neon.state.projects[0].id}/${branchCreations[0].name}`);

        // Fly: the app and two machines of the configured image, updated by the strategy the stack file names.
        assert.deepEqual([...fly.apps.keys()], ["keel-app-prod"]);
        const machines = [...fly.machines.values()];
        assert.deepEqual(
            machines.map((m) => `${m.region}:${m.state}:${m.config.image}`),
            Array(2).fill("iad:started:registry.fly.io/keel-app-prod:1.0.0"),
        );
        const deployment = (await stack.exportStack()).deployment;
        const res = (type: string) => deployment.resources.find((r: any) => r.type === `${DYN}${type}`);
        assert.equal(res("FlyMachines").inputs.strategy, "rolling");
        // What holds data or serves users is protected against deletion by Pulumi.
        for (const type of ["NeonProject", "NeonBranch", "NeonEndpoint", "NeonRole", "NeonBranchDatabase", "FlyApp", "FlyMachines"]) {
            assert.equal(res(type).protect, true, `${type} is protected`);
            assert.equal(res(type).retainOnDelete, true, `${type} is retained on delete`);
        }
        // Credentials reached the vendors from the secret config alone (the environment has none).
        assert.ok(neon.requests.every((r) => r.authorization === `Bearer ${neon.apiKey}`));
        assert.ok(fly.requests.every((r) => r.authorization === `Bearer ${fly.token}`));
    });

    it("npm run preview -- prod loads the same pack and shows no change", () => {
        const res = spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "stack", "preview", "prod"], {
            cwd: ws.root,
            encoding: "utf8",
            env: { ...ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            timeout: 5 * 60_000,
        });
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /Policy Packs run:\s+Name\s+Version\s+keel\|local\|\S*\/policies\/analyzer\.js\s+0\.1\.0\n/);
        assert.doesNotMatch(res.stdout, /to update|to create|to delete|to replace/);
    });

    it("a pending destructive migration without '-- keel:allow-destructive' blocks preview and up; with it, up snapshots then applies", async () => {
        const file = "0003_accounts_drop_email.sql";
        const emailColumn = () =>
            query("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email'");
        ws.writeMigration(file, "ALTER TABLE accounts DROP COLUMN email;\n");
        let fixed = false;
        try {
            const { preview } = await assertBlocked(
                destructiveMigrations.name,
                new RegExp(`add the line '-- keel:allow-destructive' to ${file} if the data loss is meant`),
            );
            assert.match(
                preview.output,
                new RegExp(`${file} is pending and runs destructive statements \\(line 1: ALTER TABLE accounts DROP COLUMN email\\)`),
            );
            assert.equal((await emailColumn()).length, 1);

            // The fix the rule gives: the directive (the backup it asks for is Keel's default in prod).
            ws.writeMigration(file, "-- keel:allow-destructive\nALTER TABLE accounts DROP COLUMN email;\n");
            fixed = true;
        } finally {
            // Later tests start from a clean directory whatever happened here.
            if (!fixed) fs.rmSync(path.join(ws.root, "migrations", file));
        }
        branchCreations.length = 0;
        const up = await run("up");
        assert.equal(up.error, undefined, up.output);
        assert.deepEqual(policyEvents(up, "policyEvent"), []);
        assert.deepEqual(
            branchCreations.map((b) => b.accountsTable),
            [true],
            "one snapshot, of the database as it was before 0003",
        );
        assert.match(branchCreations[0].name, /^backup-prod-\d{8}-\d{6}-before-3$/);
        assert.equal((await emailColumn()).length, 0);
        assert.deepEqual(
            (await query("SELECT version FROM keel_schema_history ORDER BY version")).map((r) => String(r.version)),
            ["1", "2", "3"],
        );
        assert.equal(up.outputs.latestBackup.beforeVersion, "3");
    });

    it("keel:backend.allowDelete (the Fly app unprotected) blocks preview and up; with keel:database.neon.allowDelete the project and branch are named too", async () => {
        const file = path.join(ws.root, "Pulumi.prod.yaml");
        const original = fs.readFileSync(file, "utf8");
        const named = (r: Run) =>
            policyEvents(r, "policyEvent")
                .map(
                    (v) =>
                        `${short(v.resourceUrn).split("::")[1]}: ${/--path (\S+) false|out of (keel:allowDataLoss)/.exec(v.message)?.slice(1).find(Boolean)}`,
                )
                .sort();
        try {
            ws.editStackFile("prod", (c) => (c["keel:backend"].allowDelete = true));
            const { preview, up } = await assertBlocked(
                prodResourcesProtected.name,
                /Fix: npm run pulumi -- config set --path keel:backend\.allowDelete false --stack prod/,
            );
            assert.deepEqual(named(preview), ["backend-fly-app: keel:backend.allowDelete"]);
            assert.deepEqual(named(up), ["backend-fly-app: keel:backend.allowDelete"]);

            ws.editStackFile("prod", (c) => (c["keel:database"].neon.allowDelete = true));
            const both = await run("preview");
            assert.ok(both.error, both.output);
            // The older key is named in the Neon objects' fix too.
            assert.ok(
                policyEvents(both, "policyEvent").some((v) => /leave keel:database\.neon\.allowDelete unset/.test(v.message)),
                both.output,
            );
            assert.deepEqual(named(both), [
                "backend-fly-app: keel:backend.allowDelete",
                "database-neon-branch: keel:allowDataLoss",
                "database-neon-project: keel:allowDataLoss",
            ]);
        } finally {
            fs.writeFileSync(file, original);
        }
        const after = await run("preview");
        assert.equal(after.error, undefined, after.output);
        assert.doesNotMatch(after.output, /to update|to create|to delete|to replace/);
    });

    it("a secret-looking key in plain text under keel:backend.env blocks preview and up; as keel:backendSecrets it deploys as a Fly secret", async () => {
        const plain = secretValue("sk_live_");
        const original = fs.readFileSync(path.join(ws.root, "Pulumi.prod.yaml"), "utf8");
        ws.editStackFile("prod", (c) => (c["keel:backend"].env.STRIPE_SECRET_KEY = plain));
        try {
            const { preview, up } = await assertBlocked(
                noPlaintextSecrets.name,
                /npm run pulumi -- config set --secret --path keel:backendSecrets\.STRIPE_SECRET_KEY /,
            );
            const where = (r: Run) =>
                policyEvents(r, "policyEvent").map((v) => `${short(v.resourceUrn)} ${/ at (\S+),/.exec(v.message)?.[1]}`);
            // The machines would run it as a plain env var, and Keel's dynamic provider would record the config holding it.
            assert.deepEqual(
                where(preview).sort(),
                [
                    "pulumi:providers:pulumi-nodejs::default keel:backend.env.STRIPE_SECRET_KEY",
                    "pulumi-nodejs:dynamic/keel:FlyMachines::backend-fly-machines env.STRIPE_SECRET_KEY",
                ].sort(),
            );
            // up stops at the provider, the first resource registered: the state never records the plain value.
            assert.deepEqual(where(up), ["pulumi:providers:pulumi-nodejs::default keel:backend.env.STRIPE_SECRET_KEY"]);
            // The file backend's update history records each update's config as given, plain values in plain text; nothing else holds it.
            assert.deepEqual(
                ws.filesHolding([plain]).filter((f) => !f.startsWith(path.join(".pulumi", "history") + path.sep)),
                [],
            );
        } finally {
            fs.writeFileSync(path.join(ws.root, "Pulumi.prod.yaml"), original);
        }
        assert.ok(!fly.requests.some((r) => JSON.stringify(r.body ?? "").includes(plain)), "the plain value never reached Fly");

        // The fix: the same variable from secret config reaches the machines as a Fly secret.
        await stack.setConfig("keel:backendSecrets.STRIPE_SECRET_KEY", { value: stripeKey, secret: true }, true);
        const up = await run("up");
        assert.equal(up.error, undefined, up.output);
        const app = fly.apps.get("keel-app-prod")!;
        assert.equal(app.secrets.get("STRIPE_SECRET_KEY")?.value, stripeKey);
        assert.deepEqual(
            [...fly.machines.values()].map((m) => m.secretsVersion),
            [app.secretsVersion, app.secretsVersion],
            "both machines were updated to read it",
        );
        assert.ok(
            !JSON.stringify([...fly.machines.values()].map((m) => m.config.env)).includes(stripeKey),
            "not a plain env var of the machines",
        );
    });

    it("no file the state backend wrote holds a credential, the role's password, the passphrase or a backend secret", async () => {
        const files = ws.stateFiles();
        assert.ok(
            files.some((f) => f.endsWith(path.join("stacks", "keel", "prod.json"))),
            "the checkpoint is among the files searched",
        );
        assert.ok(
            files.some((f) => f.includes(`${path.sep}history${path.sep}`)),
            "so is the update history",
        );
        const secrets = [neon.apiKey, fly.token, rolePassword, ws.env.PULUMI_CONFIG_PASSPHRASE!, stripeKey];
        // The searched text holds what was deployed: the state is not empty of the stack's resources.
        assert.match(ws.checkpointText("prod"), /keel-app-prod/);
        assert.deepEqual(ws.filesHolding(secrets), []);
    });
});
