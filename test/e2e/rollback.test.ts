/**
 * End to end through the real engine: `npm run rollback` on a stack of stage
 * staging (rolling Fly rollout behind the health gate, the policy pack, pg_dump
 * backups before migrating) on an existing PostgreSQL and the fake Fly API,
 * with the Pulumi state on a real S3 server (Versity S3 Gateway,
 * tools/objectStores.ts), as CI keeps it. The commands the Rollback workflow
 * and deploy.yml's watch run are run as the workflows run them: their steps'
 * environment resolved from the generated YAML (test/support/workflowStep.ts).
 * The workspace copy is a git checkout: each deploy is a commit, and the
 * rollback runs the target's commit from a git worktree against the same state.
 *
 * v1: image 1.0.0, migrations 1-2; v2: image 1.1.0 and an additive migration 3.
 * Rolling back to v1 puts the machines on 1.0.0 and keeps the schema at 3; with
 * --with-data the schema and rows go back to the backup taken before 3; a
 * migration dropping a column is refused without --with-data/--keep-schema; a
 * target whose image never passes its checks fails and leaves the current
 * machines serving. Nothing here asserts how long anything took.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { listDeploys } from "../../scripts/lib/stackHistory";
import { HealthServer } from "../support/cloudStack";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { pinnedPulumiVersion } from "../../components/pulumiVersion";
import { RollbackWorkspace } from "../support/rollbackWorkspace";
import { FakeFly } from "../support/fakeFly";
import { FakeRender } from "../support/fakeRender";
import { withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";
import { requireS3Server, ObjectStoreServer } from "../support/objectStores";
import { GithubContext, generatedStep, runStepScript } from "../support/workflowStep";
import type { WorkflowOptions } from "../../components/github/workflows";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { openStateStore, parseStateBackend, StoreLocation } from "../../scripts/lib/stateStore";

const STACK = "rbk";
const APP = "shop-rbk";
const IMAGE = (v: string) => `registry.fly.io/shop:${v}`;

describe("end to end: npm run rollback (staging stage, Fly fake, pg_dump backups, the state on a real S3 server)", function () {
    this.timeout(20 * 60_000);
    let s3: ObjectStoreServer;
    const BUCKET = "keel-rbk-state";
    let cli: PulumiCli;
    let rw: RollbackWorkspace;
    let ws: EngineWorkspace;
    let stack: Stack;
    let fly: FakeFly;
    let health: HealthServer;
    let url: string;
    const token = "fo1_rollback_token";
    let commits: Record<string, string>;

    const git = (...args: string[]) => rw.git(...args);
    const query = (sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);
    const historyVersions = async () => (await query("SELECT version FROM keel_schema_history ORDER BY 1")).map((r) => String(r.version));
    const images = () =>
        [...fly.machines.values()]
            .filter((m) => m.app === APP && m.state !== "destroyed")
            .map((m) => m.config.image)
            .sort();
    const setImage = (image: string) => rw.edit((c) => (c["keel:backend"].image = image));
    const deploy = (name: string) => rw.deploy(name);
    const rollback = (...args: string[]) => rw.rollback(...args);

    /** The bucket as Keel's reader sees it, for what a test puts there itself (a lock). */
    const bucket = () => openStateStore(parseStateBackend(ws.env.PULUMI_BACKEND_URL!) as StoreLocation, ws.env);

    before(async function () {
        cli = requireEngine(this);
        s3 = await requireS3Server(this);
        await s3.createBucket(BUCKET);
        fly = await FakeFly.start({ token });
        health = await HealthServer.start();
        url = await freshDatabase("e2e_rollback");
        rw = await RollbackWorkspace.create(
            cli,
            STACK,
            (c) => {
                c["keel:stage"] = "staging";
                c["keel:database"] = { kind: "external" };
                c["keel:backend"] = {
                    kind: "fly",
                    image: IMAGE("1.0.0"),
                    healthCheck: { path: "/healthz", url: health.url, timeoutSeconds: 5, intervalSeconds: 1 },
                    fly: { app: APP, region: "iad", count: 2, machineHealthTimeoutSeconds: 10 },
                };
            },
            {
                "keel:databaseUrl": { value: url, secret: true },
                "keel:flyApiToken": { value: token, secret: true },
                "keel:flyApiUrl": { value: fly.url },
            },
            { PULUMI_BACKEND_URL: s3.backendUrl(BUCKET), ...s3.env },
        );
        ({ ws, stack, commits } = rw);
    });

    after(async () => {
        await fly?.stop();
        await health?.stop();
        await s3?.stop();
    });

    it("deploys v1 (image 1.0.0, migrations 1-2) and v2 (image 1.1.0, additive migration 3)", async () => {
        await deploy("v1");
        assert.deepEqual(images(), [IMAGE("1.0.0"), IMAGE("1.0.0")]);
        setImage(IMAGE("1.1.0"));
        ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        await deploy("v2");
        assert.deepEqual(images(), [IMAGE("1.1.0"), IMAGE("1.1.0")]);
        assert.deepEqual(await historyVersions(), ["1", "2", "3"]);
        // The state is in the bucket, nowhere on this machine.
        assert.ok((await bucket().list(`.pulumi/history/keel/${STACK}/`)).length >= 4, "history and checkpoints in the bucket");
        assert.equal(fs.existsSync(path.join(ws.root, ".pulumi-state")), false);
    });

    it("with no target, lists the deploys newest first, marking targets and the current state; --json gives the same rows", async () => {
        const table = await rollback();
        assert.equal(table.status, 0, table.text);
        const lines = table.text.split("\n");
        const v2 = lines.findIndex((l) => /^>\s+2\s/.test(l));
        const v1 = lines.findIndex((l) => /^\*\s+1\s/.test(l));
        assert.ok(v2 > 0 && v1 > v2, table.text);
        assert.match(lines[v1], new RegExp(`${commits.v1.slice(0, 7)}.*v1.*1\\.0\\.0.*\\s2\\s`));
        assert.match(lines[v2], /1\.1\.0.*\s3\s.*_before_3/);
        const json = await rollback("--json");
        const rows = JSON.parse(json.text.trim());
        assert.deepEqual(
            rows.map((r: any) => [r.version, r.commit, r.schemaVersion, r.target, r.current]),
            [
                [2, commits.v2.slice(0, 7), "3", false, true],
                [1, commits.v1.slice(0, 7), "2", true, false],
            ],
        );
    });

    it("--to 1: machines back on 1.0.0 through the rollout, schema kept at 3 as the plan said, a new history entry", async () => {
        const before = (await listDeploys(ws.root, STACK, ws.env)).length;
        const r = await rollback("--to", "1", "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /schema stays ahead at 3[^\n]*\n\s+0003_notes\.sql\n/);
        assert.match(r.text, /backend: registry\.fly\.io\/shop:1\.1\.0 -> registry\.fly\.io\/shop:1\.0\.0/);
        assert.match(r.text, /installed packages are reused/);
        assert.match(r.text, /recovered in \d+(\.\d+)? s/);
        assert.deepEqual(images(), [IMAGE("1.0.0"), IMAGE("1.0.0")]);
        assert.deepEqual(await historyVersions(), ["1", "2", "3"]);
        const deploys = await listDeploys(ws.root, STACK, ws.env);
        assert.equal(deploys.length, before + 1);
        const last = deploys[deploys.length - 1];
        assert.equal(last.result, "succeeded");
        assert.equal(last.message, `rollback to version 1 (commit ${commits.v1.slice(0, 12)})`);
        assert.equal(last.commit, commits.v1);
        assert.equal(last.outputs.schemaVersion, "3");
        assert.equal(git("worktree", "list").split("\n").length, 1, "the worktree is gone");
    });

    it("the next normal deploy neither re-applies migration 3 nor complains", async () => {
        const appliedAt = (await query("SELECT applied_at FROM keel_schema_history WHERE version = 3"))[0].applied_at;
        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.equal(up.outputs.schemaVersion.value, "3");
        assert.deepEqual(images(), [IMAGE("1.1.0"), IMAGE("1.1.0")]);
        assert.deepEqual((await query("SELECT applied_at FROM keel_schema_history WHERE version = 3"))[0].applied_at, appliedAt);
    });

    // As the workflows run it: each step's environment from the generated YAML, the state in the bucket.
    const options = (): WorkflowOptions => ({
        stacks: [{ stack: STACK, stage: "staging", branch: "main", environment: "staging", hasBackend: true, hasFrontend: false }],
        defaultBranch: "main",
        nodeVersion: "20",
        pulumiVersion: pinnedPulumiVersion(ROOT),
        policyPack: "policies",
        state: "passphrase",
        stateCredentials: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        slack: false,
    });
    /** The staging environment as the stack's deploy fills it, and a run of the main branch. */
    const context = (extra: GithubContext = {}): GithubContext => ({
        secrets: {
            PULUMI_CONFIG_PASSPHRASE: ws.env.PULUMI_CONFIG_PASSPHRASE!,
            AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY,
        },
        vars: { PULUMI_BACKEND_URL: s3.backendUrl(BUCKET), ...extra.vars },
        github: { repository: "shop/app", server_url: "https://github.com", run_id: "77", sha: commits.v2, token: "ghs_x" },
        ...(extra.inputs ? { inputs: extra.inputs } : {}),
    });
    /** A runner: the pinned CLI and node on PATH (pulumi/actions and setup-node put them there), nothing else of this process's environment. */
    const runner = () => ({
        cwd: ws.root,
        base: {
            PATH: [path.dirname(cli.bin), path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter),
            HOME: process.env.HOME,
        },
    });

    it("the Rollback button (rollback.yml): version 1 from the inputs, through the bucket", async () => {
        const step = generatedStep(options(), "rollback.yml", `rollback-${STACK}`, (st) => st.id === "rollback");
        const r = await runStepScript(step, context({ inputs: { version: "1", "with-data": "false" } }), runner());
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /npm run rollback -- --stack rbk --to 1 --yes/);
        assert.match(r.text, /recovered in \d+(\.\d+)? s/);
        assert.deepEqual(images(), [IMAGE("1.0.0"), IMAGE("1.0.0")]);
        assert.match((await listDeploys(ws.root, STACK, ws.env)).pop()!.message, /^rollback to version 1 /);
        assert.equal((await stack.up({})).summary.result, "succeeded");
        assert.deepEqual(images(), [IMAGE("1.1.0"), IMAGE("1.1.0")]);
    });

    it("the Rollback button without the state's credentials: the state check names the missing secret, nothing runs", async () => {
        const check = generatedStep(options(), "rollback.yml", `rollback-${STACK}`, (st) => st.name === "Check the Pulumi state settings");
        const ctx = context();
        delete ctx.secrets!.AWS_SECRET_ACCESS_KEY;
        const r = await runStepScript(check, ctx, runner());
        assert.equal(r.status, 1, r.text);
        assert.match(r.text, /::error::The staging environment has no AWS_SECRET_ACCESS_KEY secret/);
    });

    it("deploy.yml's watch: failed probes in a row run its rollback (--previous) with the watch's environment, and file the incident", async () => {
        const down = await HealthServer.start();
        down.healthy = false;
        try {
            const step = generatedStep(options(), "deploy.yml", `deploy-${STACK}`, (st) => st.id === "watch");
            const calls = path.join(ws.root, "..", `gh-calls-${process.pid}`);
            const r = await runStepScript(
                step,
                context({
                    vars: {
                        KEEL_WATCH_MINUTES: "1",
                        KEEL_WATCH_INTERVAL_SECONDS: "1",
                        KEEL_WATCH_FAILURES: "2",
                        [`KEEL_${STACK.toUpperCase()}_BACKEND_HEALTH_URL`]: down.url,
                    },
                }),
                {
                    ...runner(),
                    fakes: {
                        // GitHub itself: the issue calls are recorded. The step is ./keel deploy watch (its pauses are real: 1 s each).
                        gh: `#!/bin/bash\necho "$*" >> ${JSON.stringify(calls)}\n[ "$1 $2" = "issue create" ] && echo https://github.com/shop/app/issues/1\nexit 0\n`,
                    },
                },
            );
            assert.equal(r.status, 1, r.text);
            assert.equal(down.hits, 2, "two failed probes in a row, then the rollback");
            assert.match(r.text, /Rollback: rolled back to the previous successful version \(recovered in \d+(\.\d+)? s\)/);
            assert.deepEqual(images(), [IMAGE("1.0.0"), IMAGE("1.0.0")]);
            assert.match(step.run, /^\.\/keel deploy watch --stack rbk /);
            assert.match(fs.readFileSync(calls, "utf8"), /issue create --title Incident: rbk is unhealthy --label incident/);
        } finally {
            await down.stop();
        }
        assert.equal((await stack.up({})).summary.result, "succeeded");
        assert.deepEqual(images(), [IMAGE("1.1.0"), IMAGE("1.1.0")]);
    });

    it("drift.yml's check (npm run drift, then a refresh preview) with its environment, the state in the bucket: clean", async () => {
        const step = generatedStep(options(), "drift.yml", `drift-${STACK}`, (st) => st.id === "drift");
        const r = await runStepScript(step, context(), runner());
        assert.equal(r.status, 0, r.text);
        assert.deepEqual(r.outputs, { drift: "0", preview: "0" });
        assert.match(r.text, new RegExp(`^${STACK}: clean$`, "m"));
    });

    it("--with-data: schema and data back to the backup taken before 3, the loss planned; the next deploy applies 3 again", async () => {
        await query("INSERT INTO accounts (email, note) VALUES ('after-backup@example.com', 'written after the backup')");
        const r = await rollback("--to", "1", "--with-data", "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /restored from backup \S+_before_3/);
        assert.match(r.text, /lost:\n\s+everything written since/);
        assert.match(r.text, /public\.accounts: 1 rows now, 0 in the backup \(\+1\)/);
        assert.deepEqual(await historyVersions(), ["1", "2"]);
        assert.deepEqual(await query("SELECT count(*)::int AS n FROM accounts"), [{ n: 0 }]);
        assert.deepEqual(
            await query("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'"),
            [],
        );
        const last = (await listDeploys(ws.root, STACK, ws.env)).pop()!;
        assert.equal(last.outputs.schemaVersion, "2", "the state agrees with the schema");

        const up = await stack.up({});
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(await historyVersions(), ["1", "2", "3"]);
    });

    it("roll back, then again to the same commit with --with-data: the first is listed as a rollback (not dirty), the second restores v1's backup", async () => {
        let r = await rollback("--to", "1", "--yes");
        assert.equal(r.status, 0, r.text);
        const first = (await listDeploys(ws.root, STACK, ws.env)).pop()!;
        assert.equal(first.message, `rollback to version 1 (commit ${commits.v1.slice(0, 12)})`);
        assert.equal(first.dirty, false, "the worktree was clean for the CLI");
        const rows = JSON.parse((await rollback("--json")).text.trim());
        assert.deepEqual(
            [rows[0].version, rows[0].message, rows[0].commit, rows[0].rollbackOf],
            [first.version, "rollback to version 1", commits.v1.slice(0, 7), 1],
        );

        await query("INSERT INTO accounts (email, note) VALUES ('after-rollback@example.com', 'kept by the first rollback')");
        r = await rollback("--to", commits.v1.slice(0, 8), "--with-data", "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /to version 1 \(commit/);
        assert.match(r.text, /restored from backup \S+_before_3/);
        assert.deepEqual(await historyVersions(), ["1", "2"]);
        assert.deepEqual(await query("SELECT count(*)::int AS n FROM accounts"), [{ n: 0 }]);
        const second = (await listDeploys(ws.root, STACK, ws.env)).pop()!;
        assert.equal(second.message, `rollback to version 1 (commit ${commits.v1.slice(0, 12)})`);
        assert.equal(second.outputs.schemaVersion, "2");

        assert.equal((await stack.up({})).summary.result, "succeeded");
        assert.deepEqual(await historyVersions(), ["1", "2", "3"]);
    });

    it("refuses a rollback across a column drop without --with-data or --keep-schema, changing nothing", async () => {
        ws.writeMigration("0004_drop_notes.sql", "-- keel:allow-destructive\nALTER TABLE accounts DROP COLUMN note;");
        setImage(IMAGE("1.2.0"));
        await deploy("v3");
        const before = (await listDeploys(ws.root, STACK, ws.env)).length;
        const r = await rollback("--to", commits.v2.slice(0, 8), "--yes");
        assert.equal(r.status, 1, r.text);
        assert.match(r.text, /refused; nothing was changed/);
        assert.match(r.text, /0004_drop_notes\.sql \(line 2: ALTER TABLE accounts DROP COLUMN note\)/);
        assert.match(r.text, /--with-data .* or --keep-schema/);
        assert.equal((await listDeploys(ws.root, STACK, ws.env)).length, before);
        assert.deepEqual(images(), [IMAGE("1.2.0"), IMAGE("1.2.0")]);
    });

    it("a target whose image never passes its checks: the rollback fails and the current machines keep serving", async () => {
        fly.neverHealthy(IMAGE("1.1.0"));
        const r = await rollback("--to", commits.v2.slice(0, 8), "--keep-schema", "--yes");
        assert.equal(r.status, 1, r.text);
        assert.match(r.text, /the rollback's update failed: /);
        assert.deepEqual(images(), [IMAGE("1.2.0"), IMAGE("1.2.0")]);
        assert.doesNotMatch(r.text, /recovered in/);
        // The cause once, in Keel's words: not the Automation API's dump of the CLI's output.
        const cause = /the rollback's update failed: (.{1,60})/.exec(r.text)![1];
        assert.equal(r.text.split(cause).length - 1, 1, `the cause once:\n${r.text}`);
        assert.doesNotMatch(r.text, /code: -?\d+\s+stdout:|err\?:/, r.text);
        // Nothing pending in the state: the next up is an ordinary one.
        const deployment = (await stack.exportStack()).deployment;
        assert.deepEqual(deployment.pending_operations ?? [], []);
        assert.deepEqual(
            (deployment.resources ?? []).filter((x: any) => x.pendingReplacement),
            [],
        );
    });

    describe("refusals, with nothing changed", () => {
        it("a target that is not a successful update, or the current state", async () => {
            const deploys = await listDeploys(ws.root, STACK, ws.env);
            const failed = deploys.find((d) => d.result === "failed")!;
            let r = await rollback("--to", String(failed.version), "--yes");
            assert.equal(r.status, 1, r.text);
            assert.match(r.text, new RegExp(`version ${failed.version} of the ${STACK} stack failed`));
            r = await rollback("--to", String(deploys.length), "--yes");
            assert.equal(r.status, 1, r.text);
            assert.match(r.text, /failed|current state/);
        });

        it("a stack locked by a running update (Pulumi's lock object in the bucket)", async () => {
            const lock = `.pulumi/locks/organization/keel/${STACK}/abc.json`;
            await bucket().createIfAbsent(
                lock,
                JSON.stringify({ pid: 4242, username: "ci", hostname: "runner", timestamp: "2026-12-02T00:00:00Z" }),
            );
            try {
                const r = await rollback("--previous", "--yes");
                assert.equal(r.status, 1, r.text);
                assert.match(r.text, /locked by a running update \(pid 4242 of ci@runner/);
            } finally {
                await bucket().remove(lock);
            }
        });

        it("a second rollback while one runs: refused naming the first, which goes on; a killed one's lock is removed by --unlock", async () => {
            const before = (await listDeploys(ws.root, STACK, ws.env)).length;
            // The first is held still (SIGSTOP) once it has begun, so the second surely starts while it runs.
            const first = rw.start("--to", "1", "--keep-schema", "--yes");
            await first.output(/preparing the code of version 1/);
            first.pause();
            const second = await rollback("--previous", "--yes");
            first.resume();
            assert.equal(second.status, 1, second.text);
            assert.match(second.text, new RegExp(`another rollback of the ${STACK} stack is running \\(pid ${first.pid} of `));
            assert.match(second.text, /nothing was changed/);
            const done = await first.done;
            assert.equal(done.status, 0, done.text);
            assert.equal((await listDeploys(ws.root, STACK, ws.env)).length, before + 1, "one rollback ran");
            assert.deepEqual(await bucket().list(`.keel/locks/keel/`), [], "the lock is released");

            // A rollback killed outright (a cancelled CI job) leaves its lock: the next one names it; --unlock removes it.
            await bucket().createIfAbsent(
                `.keel/locks/keel/${STACK}.rollback.json`,
                JSON.stringify({ id: "gone", pid: 99, username: "runner", hostname: "fv-az123", timestamp: "2026-12-07T01:00:00Z" }),
            );
            const refused = await rollback("--previous", "--yes");
            assert.equal(refused.status, 1, refused.text);
            assert.match(refused.text, /pid 99 of runner@fv-az123 since 2026-12-07T01:00:00Z.*--unlock/s);
            const unlock = await rollback("--unlock");
            assert.equal(unlock.status, 0, unlock.text);
            assert.match(unlock.text, /removed the rbk stack's rollback lock \(pid 99 of runner@fv-az123/);
            assert.deepEqual(await bucket().list(`.keel/locks/keel/`), []);
        });

        it("a target made from a dirty tree, and a commit the repository does not have", async () => {
            fs.writeFileSync(path.join(ws.root, "scratch.txt"), "not committed");
            const up = await stack.up({});
            assert.equal(up.summary.result, "succeeded");
            const dirty = (await listDeploys(ws.root, STACK, ws.env)).pop()!;
            assert.equal(dirty.dirty, true);
            fs.rmSync(path.join(ws.root, "scratch.txt"));
            let r = await rollback("--to", String(dirty.version), "--yes");
            assert.equal(r.status, 1, r.text);
            assert.match(r.text, /uncommitted changes/);

            // A commit deployed, then dropped from the repository (as a force-push and a fresh clone would).
            git("commit", "-q", "--allow-empty", "-m", "gone");
            const gone = git("rev-parse", "HEAD");
            const up2 = await stack.up({});
            assert.equal(up2.summary.result, "succeeded");
            git("reset", "-q", "--hard", "HEAD~1");
            git("reflog", "expire", "--expire=now", "--all");
            git("gc", "-q", "--prune=now");
            assert.equal((await stack.up({})).summary.result, "succeeded");
            r = await rollback("--to", gone.slice(0, 10), "--yes");
            assert.equal(r.status, 1, r.text);
            assert.match(r.text, /this repository does not have: run git fetch/);
        });

        it("without a terminal and without --yes", async () => {
            const r = await rollback("--to", "1", "--keep-schema");
            assert.equal(r.status, 1, r.text);
            assert.match(r.text, /not confirmed: nothing was changed/);
        });

        it("a target whose config today's passphrase cannot decrypt (the passphrase was changed since)", async () => {
            const rotate = spawnSync(cli.bin, ["stack", "change-secrets-provider", "passphrase", "--stack", STACK], {
                cwd: ws.root,
                env: { ...ws.env, PULUMI_CONFIG_PASSPHRASE_NEW: "rotated passphrase" } as NodeJS.ProcessEnv,
                input: "rotated passphrase\nrotated passphrase\n",
                encoding: "utf8",
            });
            assert.equal(rotate.status, 0, rotate.stderr);
            ws.env.PULUMI_CONFIG_PASSPHRASE = "rotated passphrase";
            rw.stack = await ws.stack(STACK);
            git("commit", "-q", "-am", "rotate the passphrase");
            assert.equal((await rw.stack.up({})).summary.result, "succeeded");
            const before = (await listDeploys(ws.root, STACK, ws.env)).length;
            const r = await rollback("--to", "1", "--keep-schema", "--yes");
            assert.equal(r.status, 1, r.text);
            assert.match(r.text, /config of version 1 \(Pulumi\.rbk\.yaml at \w+\) cannot be read with today's secrets provider/);
            assert.match(r.text, /nothing was changed/);
            assert.equal((await listDeploys(ws.root, STACK, ws.env)).length, before);
        });
    });
});

describe("end to end: npm run rollback of a Render backend (fake Render API)", function () {
    this.timeout(10 * 60_000);
    let rw: RollbackWorkspace;
    let render: FakeRender;
    let health: HealthServer;
    const apiKey = "rnd_rollback_key";
    const image = (v: string) => `ghcr.io/shop/api:${v}`;
    const service = () => render.services.find((s) => s.name === "shop-rbk-render");

    before(async function () {
        const cli = requireEngine(this);
        render = await FakeRender.start({ apiKey });
        health = await HealthServer.start();
        const url = await freshDatabase("e2e_rollback_render");
        rw = await RollbackWorkspace.create(
            cli,
            "rbkrender",
            (c) => {
                c["keel:stage"] = "staging";
                c["keel:database"] = { kind: "external" };
                c["keel:backend"] = {
                    kind: "render",
                    image: image("1.0.0"),
                    healthCheck: { path: "/healthz", url: health.url, timeoutSeconds: 5, intervalSeconds: 1 },
                    render: { name: "shop-rbk-render", ownerId: render.ownerId, deployTimeoutSeconds: 60 },
                };
            },
            {
                "keel:databaseUrl": { value: url, secret: true },
                "keel:renderApiKey": { value: apiKey, secret: true },
                "keel:renderApiUrl": { value: render.url },
            },
        );
    });

    after(async () => {
        await render?.stop();
        await health?.stop();
    });

    it("deploys 1.0.0 then 1.1.0; --previous puts 1.0.0 back on the service through a deploy followed until live", async () => {
        await rw.deploy("v1");
        rw.edit((c) => (c["keel:backend"].image = image("1.1.0")));
        await rw.deploy("v2");
        assert.equal(service()!.imagePath, image("1.1.0"));
        const r = await rw.rollback("--previous", "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /recovered in/);
        assert.equal(service()!.imagePath, image("1.0.0"));
        const live = render.deploys.filter((d) => d.serviceId === service()!.id && render.status(d) === "live");
        assert.equal(live.at(-1)!.image?.ref, image("1.0.0"));
        const last = (await listDeploys(rw.ws.root, "rbkrender", rw.ws.env)).pop()!;
        assert.equal(last.message, `rollback to version 1 (commit ${rw.commits.v1.slice(0, 12)})`);
        assert.equal(last.outputs.renderDeployId, live.at(-1)!.id);
    });
});
