/**
 * End to end through the real engine: the dev stack as users have it
 * (Pulumi.dev.yaml) with kind external chosen, on an existing PostgreSQL (keel:databaseUrl): preview,
 * up, a new migration, refresh with drift, destroy; and `npm run preview` as a
 * command, with a config error printed as the readable report.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { destroyStack } from "../../scripts/lib/stackGuard";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

describe("end to end: the dev stack through the engine (existing PostgreSQL)", function () {
    this.timeout(10 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;
    let output = "";
    const onOutput = (s: string) => void (output += s);

    before(async function () {
        cli = requireEngine(this);
        url = await freshDatabase("e2e_dev");
        // The dev stack's secrets use the empty passphrase its committed salt was made with.
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // An existing server: kind external, chosen explicitly (the stack file's own kind, local, is test/e2e/local.test.ts's).
        ws.editStackFile("dev", (c) => (c["keel:database"] = { kind: "external" }));
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
    });

    it("preview lists the sample migrations as pending and changes nothing", async () => {
        output = "";
        const preview = await stack.preview({ onOutput, diff: true });
        assert.equal(preview.changeSummary.create, 4, output); // the stack, Database (external: nothing inside), Schema and its resource
        assert.match(output, /1_create_accounts/);
        assert.match(output, /2_accounts_touch_updated_at/);
        assert.doesNotMatch(output, /latestBackup|Undefined value/, "dev takes no backups: no output for them");
        assert.deepEqual(await query(url, "SELECT to_regclass('public.accounts') AS t"), [{ t: null }]);
    });

    it("up applies them; the URL is secret, and no state file holds the password", async () => {
        output = "";
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "2");
        assert.equal(up.outputs.databaseUrl.secret, true);
        assert.equal(up.outputs.latestBackup, undefined);
        assert.doesNotMatch(output, /Undefined value|\[unknown\]/);
        assert.match(ws.checkpointText("dev"), /"databaseUrl":\s*\{\s*"4dabf18193072939515e22adb298388d"/);
        assert.deepEqual(ws.filesHolding([(await testCluster()).password]), []);
        assert.deepEqual(
            (await query(url, "SELECT version FROM keel_schema_history ORDER BY 1")).map((r) => r.version),
            ["1", "2"],
        );
        // The committed stack file is left as it was (its encryption salt is committed).
        assert.equal(fs.readFileSync(path.join(ws.root, "Pulumi.dev.yaml"), "utf8").includes("encryptionsalt"), true);
    });

    it("the state stays small: each dynamic provider is a stand-in of a few hundred bytes", async () => {
        const deployment = JSON.parse(ws.checkpointText("dev")).checkpoint.latest;
        const dynamic = deployment.resources.filter((r: any) => r.type.startsWith("pulumi-nodejs:dynamic/"));
        assert.ok(dynamic.length > 0);
        for (const r of dynamic) {
            const provider: string = r.inputs.__provider;
            assert.ok(provider.length < 2500, `${r.type}: ${provider.length} bytes`);
            assert.doesNotMatch(provider, new RegExp(ROOT.replace(/[/\\]/g, "."), "u"), "no path of this machine");
        }
    });

    it("a second preview shows no change; a new file shows one update, and up applies just it", async () => {
        const same = await stack.preview({ onOutput });
        assert.equal(same.changeSummary.update ?? 0, 0);
        ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        output = "";
        const next = await stack.preview({ onOutput, diff: true });
        assert.equal(next.changeSummary.update, 1, output);
        assert.match(output, /3_notes/);
        // The preview names the pending version and what it does, in a few lines: no file's checksum or lint facts.
        assert.match(output, /"3_notes: ALTER TABLE accounts ADD COLUMN note text"/);
        assert.match(output, /^\s+migrations\s*: \[secret\]/m);
        assert.doesNotMatch(output, /[0-9a-f]{64}/, "no checksum");
        assert.ok(output.split("\n").length <= 40, `${output.split("\n").length} lines:\n${output}`);
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "3");
    });

    it("state written before outputs carried a shape version: no change on preview, refresh stamps the version", async () => {
        const dynamicOf = (d: any) => d.resources.filter((r: any) => r.type.startsWith("pulumi-nodejs:dynamic/"));
        const exported = await stack.exportStack();
        for (const r of dynamicOf(exported.deployment)) {
            assert.equal(r.outputs.stateVersion, 1, r.type);
            delete r.outputs.stateVersion; // as an older Keel wrote it
        }
        await stack.importStack(exported);
        output = "";
        const preview = await stack.preview({ onOutput, diff: true });
        assert.equal((preview.changeSummary.update ?? 0) + (preview.changeSummary.replace ?? 0), 0, output);
        await stack.refresh({ onOutput });
        for (const r of dynamicOf((await stack.exportStack()).deployment)) assert.equal(r.outputs.stateVersion, 1, r.type);
    });

    it("refresh reports a manual change as drift", async () => {
        await query(url, "CREATE INDEX accounts_email_idx ON accounts (email)");
        output = "";
        await stack.refresh({ onOutput });
        const deployment = (await stack.exportStack()).deployment;
        const resource = deployment.resources.find((r: any) => r.type === "pulumi-nodejs:dynamic/keel:SchemaMigrations");
        assert.ok(
            resource.outputs.drift.some((d: string) => d.includes("+ index public.accounts_email_idx")),
            JSON.stringify(resource.outputs.drift),
        );
        assert.match(output, /drift in 127\.0\.0\.1/);
    });

    const run = (args: string[], extra: Record<string, string> = {}) =>
        spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "stack", ...args], {
            cwd: ws.root,
            encoding: "utf8",
            env: { ...ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}`, ...extra } as NodeJS.ProcessEnv,
            timeout: 5 * 60_000,
        });

    it("npm run preview: the same stack, no change, exit 0", () => {
        const res = run(["preview"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /Previewing update \(dev\)/);
        assert.doesNotMatch(res.stdout, /to update|to create/);
    });

    it("a config problem prints the readable report once, without a stack trace or colour codes, and exits 1", () => {
        ws.editStackFile("dev", (c) => (c["keel:migrations"].lockWaitSeconds = -3));
        try {
            const res = run(["preview"]);
            assert.equal(res.status, 1);
            const text = res.stdout + res.stderr;
            assert.equal(text.split("configuration problem").length - 1, 1, text);
            assert.match(
                text,
                /keel:migrations\.lockWaitSeconds: .*\(got -3\)\n\s+fix: npm run pulumi -- config set --path keel:migrations\.lockWaitSeconds/,
            );
            assert.ok(!text.includes("\u001b["), "no colour codes");
            assert.doesNotMatch(text, /^\s+at |ConfigError \{/m);
            assert.match(res.stderr, /pulumi preview of the dev stack failed/);
        } finally {
            ws.editStackFile("dev", (c) => delete c["keel:migrations"].lockWaitSeconds);
        }
    });

    it("a broken migration file is reported with its file and line, without a stack trace, and exits 1", () => {
        ws.writeMigration("0009_broken.sql", "CREATE TABLE broken (id int;\n");
        try {
            const res = run(["preview"]);
            assert.equal(res.status, 1);
            const text = res.stdout + res.stderr;
            assert.match(text, /migrations\/0009_broken\.sql:1:\d+: SQL syntax error/);
            assert.doesNotMatch(text, /^\s+at |MigrationFileError \{/m);
        } finally {
            fs.rmSync(path.join(ws.root, "migrations", "0009_broken.sql"));
        }
    });

    it("npm run pulumi -- stack output databaseUrl --show-secrets: the dev stack's URL, with nothing exported", () => {
        const res = spawnSync(
            process.execPath,
            [path.join(ROOT, "dist/cli/main.js"), "pulumi", "stack", "output", "databaseUrl", "--show-secrets"],
            {
                cwd: ws.root,
                encoding: "utf8",
                // Neither PULUMI_CONFIG_PASSPHRASE nor a selected stack: the command supplies both for dev.
                env: {
                    PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}`,
                    PULUMI_BACKEND_URL: ws.env.PULUMI_BACKEND_URL,
                    HOME: process.env.HOME,
                } as NodeJS.ProcessEnv,
            },
        );
        assert.equal(res.status, 0, res.stderr);
        assert.equal(res.stdout.trim(), url);
    });

    it("--help answers with the usage; a wrong option is a usage error (exit 2)", () => {
        const help = run(["preview", "--help"]);
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^Usage: keel stack preview \[options\] \[stack\]/);
        const wrong = run(["preview", "--nope"]);
        assert.equal(wrong.status, 2);
        assert.match(wrong.stderr, /unknown option '--nope'/);
    });

    it("destroy leaves the schema and data in place", async () => {
        await query(url, "INSERT INTO accounts (email) VALUES ('a@example.com')");
        await destroyStack(stack, { onOutput });
        assert.deepEqual(await query(url, "SELECT email FROM accounts"), [{ email: "a@example.com" }]);
        await stack.workspace.removeStack("dev");
    });
});
