/**
 * End to end through the real engine: `npm run drift` (a refresh preview of
 * every stack), `npm run refresh` making the schemaDrift output show what it
 * found at once, and `npm run schema:diff` with a stack as a side, on the dev
 * stack (the project's Pulumi.dev.yaml on an existing PostgreSQL, as
 * test/e2e/dev.test.ts has it). Staging and prod are in the copy too, without
 * the credentials they need: they are reported as not checked. Resources
 * changed outside Keel at a vendor: test/e2e/staging.test.ts (fake Fly and Neon).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { describeTarget } from "../../components/postgres/connection";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";
import { destroyStack } from "../../scripts/lib/stackGuard";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

const SCHEMA_TYPE = "pulumi-nodejs:dynamic/keel:SchemaMigrations";

describe("end to end: npm run drift, refresh's schemaDrift output and schema:diff of a stack (dev, existing PostgreSQL)", function () {
    this.timeout(10 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;

    /** The shell as a developer has it: no passphrase exported (dev's is empty), no vendor keys. */
    const shell = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
        const env: Record<string, string | undefined> = {
            ...ws.env,
            PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}`,
            ...extra,
        };
        if (!("PULUMI_CONFIG_PASSPHRASE" in extra)) delete env.PULUMI_CONFIG_PASSPHRASE;
        return env as NodeJS.ProcessEnv;
    };
    const run = (args: string[], extra: Record<string, string | undefined> = {}) =>
        spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], {
            cwd: ws.root,
            encoding: "utf8",
            env: shell(extra),
            timeout: 5 * 60_000,
        });
    const drift = (args: string[] = [], extra: Record<string, string | undefined> = {}) => run(["drift", ...args], extra);
    const driftJson = (args: string[] = [], extra: Record<string, string | undefined> = {}) => {
        const res = drift(["--json", ...args], extra);
        return { res, json: JSON.parse(res.stdout) };
    };
    const schemaResource = async () => (await stack.exportStack()).deployment.resources.find((r: any) => r.type === SCHEMA_TYPE);

    before(async function () {
        cli = requireEngine(this);
        url = await freshDatabase("e2e_drift");
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // An existing server: the dev stack file's kind (local) switched to external, as a user would.
        ws.editStackFile("dev", (c) => (c["keel:database"] = { kind: "external" }));
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
    });

    it("stacks never deployed (staging and prod of a fresh checkout, a new stack file) are 'not deployed', not failures: exit 0, nothing asked, nothing created", () => {
        const res = drift(["--stack", "staging", "--stack", "prod"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /^staging: not deployed$/m);
        assert.match(res.stdout, /^staging +not deployed: no state in file:\/\/\S+ yet \(npm run up -- staging deploys it\)$/m);
        assert.match(res.stdout, /^prod +not deployed: /m);
        assert.doesNotMatch(res.stdout, /PULUMI_CONFIG_PASSPHRASE|NEON_API_KEY/);
        const stacks = fs.readdirSync(path.join(ws.state, ".pulumi", "stacks", "keel"));
        assert.deepEqual(
            stacks.filter((f) => /^(staging|prod)\.json/.test(f)),
            [],
            "no stack was created",
        );
        const json = driftJson(["--stack", "staging"]).json;
        assert.equal(json.exitCode, 0);
        assert.equal(json.stacks[0].status, "not-deployed");
        // A stack with a stack file but no state yet (never deployed): reported, not created.
        ws.editStackFile("sandbox", (c) => {
            c["keel:stage"] = "dev";
            c["keel:migrations"] = { dir: "migrations" };
        });
        const fresh = drift(["--stack", "sandbox"]);
        assert.equal(fresh.status, 0, fresh.stderr + fresh.stdout);
        assert.match(fresh.stdout, /^sandbox +not deployed: no state in file:\/\/\S+ yet \(npm run up -- sandbox deploys it\)$/m);
        assert.equal(fs.existsSync(path.join(ws.state, ".pulumi", "stacks", "keel", "sandbox.json")), false);
        fs.rmSync(path.join(ws.root, "Pulumi.sandbox.yaml"));
        const nowhere = drift(["--stack", "nosuch"]);
        assert.equal(nowhere.status, 2);
        assert.match(nowhere.stdout, /nosuch +not checked: no Pulumi\.nosuch\.yaml/);
    });

    it("after up: the dev stack is clean (exit 0), with progress lines and the table", async () => {
        const up = await stack.up({});
        assert.equal(up.outputs.schemaVersion.value, "2");
        const res = drift(["--stack", "dev"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        const lines = res.stdout.split("\n");
        assert.equal(lines[0], "dev: refreshing in preview mode (nothing is changed)...");
        assert.equal(lines[1], "dev: clean");
        assert.match(res.stdout, /^stack +changed outside Keel +schema drift +migrations pending +settle$/m);
        assert.match(res.stdout, /^dev +0 +none +0 +clean$/m);
    });

    it("an index made by hand and a migration file not yet applied: drift, with the object, the pending version and how to settle; the state is left as it was", async () => {
        await query(url, "CREATE INDEX accounts_email_idx ON accounts (email)");
        ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        const checkpoint = ws.checkpointText("dev");
        const markdownFile = path.join(tempDir("keel-drift-md-"), "drift.md");

        const res = drift(["--markdown", markdownFile]);
        assert.equal(res.status, 1, "drift");
        assert.match(res.stdout, /^dev +0 +1 added +1 +code wins: npm run up -- dev$/m);
        assert.match(res.stdout, /^staging +not deployed/m);
        assert.match(
            res.stdout,
            /schema objects changed outside migrations:\n +\+ index public\.accounts_email_idx: CREATE INDEX accounts_email_idx ON public\.accounts USING btree \(email\) \(added outside migrations\)/,
        );
        assert.match(res.stdout, /migrations pending: 3_notes/);
        assert.match(res.stdout, /npm run up does not undo schema changes made by hand/);
        assert.equal(ws.checkpointText("dev"), checkpoint, "a refresh preview writes no state");
        assert.deepEqual(await query(url, "SELECT version::text AS v FROM keel_schema_history ORDER BY 1"), [{ v: "1" }, { v: "2" }]);

        const md = fs.readFileSync(markdownFile, "utf8");
        assert.match(md, /^\| stack \| changed outside Keel \| schema drift \| migrations pending \| settle \|$/m);
        assert.match(md, /^- `\+ index public\.accounts_email_idx: CREATE INDEX .*`$/m);
        assert.match(md, /Migrations pending: `3_notes`/);

        const { res: jsonRes, json } = driftJson(["--stack", "dev"]);
        assert.equal(jsonRes.status, 1);
        assert.match(jsonRes.stderr, /^dev: refreshing in preview mode/m, "progress on stderr with --json");
        assert.equal(json.exitCode, 1);
        const dev = json.stacks[0];
        assert.equal(dev.status, "drift");
        assert.deepEqual(dev.pending, ["3_notes"]);
        assert.deepEqual(dev.resources, []);
        assert.equal(dev.schemaDrift.length, 1);
        assert.deepEqual(dev.settle, { codeWins: "npm run up -- dev" });
    });

    it("npm run refresh: the schemaDrift stack output shows the drift at once", async () => {
        assert.deepEqual((await stack.outputs()).schemaDrift.value, [], "before: nothing recorded");
        const res = run(["stack", "refresh"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /~ schemaDrift\s*: \[\s*\+ \[0\]: "\+ index public\.accounts_email_idx/);
        const drift = (await stack.outputs()).schemaDrift.value as string[];
        assert.equal(drift.length, 1);
        assert.match(drift[0], /^\+ index public\.accounts_email_idx: .*\(added outside migrations\)$/);
        // The refresh ran the program but kept the inputs of the last up: the new file is still pending.
        const preview = await stack.preview({});
        assert.equal(preview.changeSummary.update, 1);
    });

    it("after the refresh, npm run drift and the schemaDrift output agree: the index is still drift (a refresh does not make it the norm), the pending file still pending", async () => {
        const { res, json } = driftJson(["--stack", "dev"]);
        assert.equal(res.status, 1);
        assert.deepEqual(json.stacks[0].schemaDrift, (await stack.outputs()).schemaDrift.value);
        assert.equal(json.stacks[0].schemaDrift.length, 1);
        assert.deepEqual(json.stacks[0].pending, ["3_notes"]);
        assert.deepEqual(json.stacks[0].settle, { codeWins: "npm run up -- dev" }, JSON.stringify(json.stacks[0], null, 1));
    });

    it("npm run refresh -- --skip-program refreshes the state without running the program: the output keeps its old value", async () => {
        await query(url, "DROP INDEX accounts_email_idx");
        const res = run(["stack", "refresh", "--skip-program"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.deepEqual((await schemaResource()).outputs.drift, [], "undone by hand: the schema is what the migrations made");
        assert.match(
            ((await stack.outputs()).schemaDrift.value as string[])[0],
            /^\+ index public\.accounts_email_idx/,
            "not the program's to update",
        );
        const again = run(["stack", "refresh"]);
        assert.equal(again.status, 0, again.stderr + again.stdout);
        assert.deepEqual((await stack.outputs()).schemaDrift.value, [], "the refresh that runs the program: nothing new since");
    });

    it("schema:diff with a stack as a side: its databaseUrl through the engine; --sql output applied makes the objects equal", async () => {
        const other = await freshDatabase("e2e_drift_other");
        const diff = run(["schema", "diff", "dev", other]);
        assert.equal(diff.status, 1, diff.stderr);
        const target = describeTarget(other);
        assert.match(diff.stdout, /^dev: the dev stack's database, 127\.0\.0\.1:\d+\/e2e_drift_/m);
        assert.match(
            diff.stdout,
            new RegExp(`^  table accounts \\(\\d+ columns?.*\\): on dev, missing on ${target.replace(/[.]/g, "\\.")}$`, "m"),
        );
        assert.match(
            diff.stdout,
            new RegExp(`^  version 1 \\(create_accounts\\): applied on dev, missing on ${target.replace(/[.]/g, "\\.")}$`, "m"),
        );
        const sql = run(["schema", "diff", "dev", other, "--sql"]);
        assert.equal(sql.status, 1);
        assert.match(sql.stdout, /^CREATE TABLE public\.accounts \(/m);
        await withClient(other, async (c) => void (await c.query(sql.stdout)));
        const after = run(["schema", "diff", "dev", other]);
        assert.match(after.stdout, /^schema objects: the same on both \(\d+\)$/m, after.stdout);
        assert.equal(after.status, 1, "the histories still differ");
        assert.deepEqual(
            await query(other, "SELECT to_regclass('public.keel_schema_history') AS t"),
            [{ t: null }],
            "nothing but the script touched it",
        );
        assert.equal(diff.stdout.includes((await testCluster()).password), false);
    });

    it("a stack whose refresh fails is not checked, with the engine's reason; the others go on", async () => {
        const db = new URL(url).pathname.slice(1);
        const cluster = await testCluster();
        await cluster.sql("postgres", `ALTER DATABASE "${db}" RENAME TO "${db}_away"`);
        try {
            const res = drift(["--stack", "dev", "--stack", "prod"]);
            assert.equal(res.status, 2, res.stdout);
            assert.match(res.stdout, /^dev +not checked: the refresh failed: .*database "[^"]+" does not exist/m);
            assert.match(res.stdout, /^prod +not deployed/m);
        } finally {
            await cluster.sql("postgres", `ALTER DATABASE "${db}_away" RENAME TO "${db}"`);
        }
    });

    it("up applies the pending file: clean again", async () => {
        await stack.up({});
        const res = drift(["--stack", "dev"]);
        assert.equal(res.status, 0, res.stdout);
        await destroyStack(stack);
        await stack.workspace.removeStack("dev");
    });
});
