/**
 * End to end through the Automation API: the real program, the real engine and
 * a real PostgreSQL. Runs only where `pulumi version` answers; otherwise one
 * skip line is printed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { freshDatabase, testCluster } from "../support/postgres";
import { findPulumiCli } from "../support/pulumiCli";
import { withClient } from "../support/migrationsDir";
import { tempDir } from "../support/tempDir";

const ROOT = path.resolve(__dirname, "../..");

/** A copy of the program (sharing node_modules) so stack files never land in the repository. */
function programCopy(): string {
    const dir = tempDir("keel-e2e-program-");
    for (const entry of ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json"]) {
        fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

describe("end to end: pulumi preview, up, refresh and destroy with the schema", function () {
    this.timeout(10 * 60_000);
    let stack: Stack;
    let url: string;
    let migrations: string;
    let output = "";
    let state: string;
    let workDir: string;
    const onOutput = (s: string) => void (output += s);

    before(async function () {
        const cli = findPulumiCli();
        if (!cli) {
            console.log("    skip: end-to-end tests need the Pulumi CLI on PATH (no `pulumi version` answered)");
            this.skip();
        }
        url = await freshDatabase("e2e");
        migrations = tempDir("keel-e2e-migrations-");
        fs.writeFileSync(path.join(migrations, "0001_accounts.sql"), "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL);");
        fs.writeFileSync(path.join(migrations, "0002_orders.sql"), "CREATE TABLE orders (id int PRIMARY KEY, account_id int REFERENCES accounts);");
        workDir = programCopy();
        state = tempDir("keel-e2e-state-");
        const binDir = path.dirname(cli.bin);
        const envVars = {
            // The language host and the dynamic provider plugin sit beside the CLI.
            PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
        };
        const pulumiCommand =
            path.basename(binDir) === "bin" ? await PulumiCommand.get({ root: path.dirname(binDir), skipVersionCheck: true }) : undefined;
        stack = await LocalWorkspace.createOrSelectStack({ stackName: "staging", workDir }, { workDir, envVars, pulumiCommand });
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
        await stack.setConfig("keel:migrations", { value: JSON.stringify({ dir: migrations, lockWaitSeconds: 5 }) });
    });

    it("preview lists the pending migrations and changes nothing", async () => {
        output = "";
        const preview = await stack.preview({ onOutput, diff: true });
        assert.equal(preview.changeSummary.create, 4, output); // the stack, Database (external: nothing inside), Schema and its resource
        assert.match(output, /1_accounts/);
        assert.match(output, /2_orders/);
        assert.deepEqual(await query(url, "SELECT to_regclass('public.accounts') AS t"), [{ t: null }]);
    });

    it("up applies them, and the state holds the URL only as a secret", async () => {
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "2");
        assert.equal(up.outputs.databaseUrl.secret, true);
        // The checkpoint as the backend stores it (exportStack would decrypt secrets).
        const checkpoints = fs.readdirSync(path.join(state, ".pulumi", "stacks"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("staging.json"));
        assert.equal(checkpoints.length, 1);
        const stored = fs.readFileSync(path.join(state, ".pulumi", "stacks", checkpoints[0]), "utf8");
        assert.match(stored, /"databaseUrl":\s*\{\s*"4dabf18193072939515e22adb298388d"/);
        assert.ok(!stored.includes((await testCluster()).password), "the password must not be in plain state");
        assert.deepEqual((await query(url, "SELECT version FROM keel_schema_history ORDER BY 1")).map((r) => r.version), ["1", "2"]);
        // Staging takes a backup before migrating, and the stack output names it.
        const backup = up.outputs.latestBackup.value;
        assert.equal(backup.kind, "pg_dump");
        assert.equal(backup.beforeVersion, "1");
        assert.equal(backup.schemaVersion, "");
        assert.ok(fs.existsSync(path.join(workDir, "backups", "staging", backup.id)), backup.location);
        assert.match(output, /keel schema: backup .*_before_1\.dump: /);
    });

    it("a second preview shows no change; a new file shows one update", async () => {
        const same = await stack.preview({ onOutput });
        assert.equal(same.changeSummary.update ?? 0, 0);
        fs.writeFileSync(path.join(migrations, "0003_notes.sql"), "ALTER TABLE accounts ADD COLUMN note text;");
        output = "";
        const next = await stack.preview({ onOutput, diff: true });
        assert.equal(next.changeSummary.update, 1, output);
        assert.match(output, /3_notes/);
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "3");
        assert.equal(up.outputs.latestBackup.value.schemaVersion, "2");
        assert.equal(up.outputs.latestBackup.value.beforeVersion, "3");
    });

    it("refresh reports a manual change as drift", async () => {
        await query(url, "CREATE INDEX accounts_email_idx ON accounts (email)");
        output = "";
        await stack.refresh({ onOutput });
        // Refresh updates the resource's state (stack outputs change only on the next up).
        const deployment = (await stack.exportStack()).deployment;
        const resource = deployment.resources.find((r: any) => r.type === "pulumi-nodejs:dynamic/keel:SchemaMigrations");
        const drift: string[] = resource.outputs.drift;
        assert.ok(drift.some((d) => d.includes("+ index public.accounts_email_idx")), JSON.stringify(drift));
        assert.match(output, /drift in 127\.0\.0\.1/);
    });

    it("destroy leaves the schema and data in place", async () => {
        await query(url, "INSERT INTO accounts VALUES (1, 'a@example.com')");
        await stack.destroy({ onOutput });
        assert.deepEqual(await query(url, "SELECT email FROM accounts"), [{ email: "a@example.com" }]);
        await stack.workspace.removeStack("staging");
    });
});
