/**
 * keel dev start|stop|logs [--stack <stack>] (npm run dev:start, …): the stack's own
 * database on this machine, between `npm run up`s.
 *
 *   dev:start   local: start the server (on a dev stack with none yet, create it
 *               with the engine's `up`: initdb, start, migrations); docker:
 *               `docker start <container>`. Prints host, port and database,
 *               never the password.
 *   dev:stop    stop it; the data is kept.
 *   dev:logs    print the server log (`-f` follows it, `-n <lines>` the last lines).
 *
 * The kind comes from the stack file (Pulumi.<stack>.yaml); an `external` or
 * `neon` database is not Keel's to start. Server control for `local` is
 * components/database/local/server.ts.
 */
import { spawn, spawnSync } from "child_process";
import * as path from "path";
import type { DockerDatabaseConfig, KeelConfig, LocalDatabaseConfig } from "../components/config";
import { KeelError } from "../components/errors";
import { UsageError } from "./lib/usageError";
import { readStackConfig } from "./lib/stackConfig";

export type DevCommand = "start" | "stop" | "logs";

export class DevCommandError extends KeelError {
    constructor(message: string) {
        super(message, "DevCommandError");
    }
}

export interface DevOptions {
    /** The stack whose database it is. */
    stack: string;
    /** logs: keep printing what the server writes, until Ctrl-C. */
    follow?: boolean;
    /** logs: only the last <lines> lines. */
    lines?: string;
}

export interface DevIo {
    /** The project's root (Pulumi.yaml, the stack files, .keel/). */
    root: string;
    env: Record<string, string | undefined>;
    out(text: string): void;
    /** `npm run up` of a stack (the verb passes the engine's, as keel stack up runs it). */
    up(stack: string): Promise<void>;
    /** dev:logs -f stops when this aborts (default: Ctrl-C). */
    signal?: AbortSignal;
}

function linesArg(options: DevOptions): number | undefined {
    const v = options.lines;
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--lines needs a positive number of lines, got '${v}'`);
    return Number(v);
}

/** `npm run <script>`, with `-- --stack <s>` when the stack is not dev. */
function npmRun(script: string, stack: string): string {
    return stack === "dev" ? `npm run ${script}` : `npm run ${script} -- --stack ${stack}`;
}

export async function runDevCommand(command: DevCommand, options: DevOptions, io: DevIo): Promise<number> {
    const stack = options.stack;
    const lines = command === "logs" ? linesArg(options) : undefined;
    const config = readStackConfig(io.root, stack, io.env);
    const db = config.database;
    switch (db.kind) {
        case "local":
            return local(command, config, db, { follow: options.follow === true, lines }, io);
        case "docker":
            return docker(command, config, db, { follow: options.follow === true, lines }, io);
        default:
            throw new DevCommandError(
                `the ${stack} stack's database is '${db.kind}': Keel does not run it on this machine, so there is nothing to ${command === "logs" ? "show" : command}. ` +
                    `dev:start, dev:stop and dev:logs work on the kinds local and docker (keel:database.kind in Pulumi.${stack}.yaml).`,
            );
    }
}

// ---- local ----------------------------------------------------------------------

async function local(
    command: DevCommand,
    config: KeelConfig,
    db: LocalDatabaseConfig,
    o: { follow: boolean; lines?: number },
    io: DevIo,
): Promise<number> {
    // Loaded here: only the local kind needs the binaries' module.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const server = require("../components/database/local/server") as typeof import("../components/database/local/server");
    const { stack } = config;
    const paths = server.localPaths(io.root, stack);
    const shown = (p: string) => path.relative(io.root, p) || ".";
    const say = (line: string) => io.out(`${line}\n`);

    if (command === "logs") {
        const text = server.readLog(paths, o.lines);
        if (!text && !o.follow) {
            say(
                `no server log yet at ${shown(paths.logFile)} (the ${stack} stack's local database has not been started: ${npmRun("dev:start", stack)})`,
            );
            return 0;
        }
        io.out(text);
        if (o.follow) await server.followLog(paths.logFile, io.out, io.signal ?? interrupted());
        return 0;
    }

    if (command === "stop") {
        const status = server.serverStatus(paths);
        if (status.state === "missing") {
            say(`the ${stack} stack has no local database in ${shown(paths.dataDir)}: nothing to stop`);
            return 0;
        }
        if (await server.stopServer(paths, { log: say }))
            say(`stopped; the data is kept in ${shown(paths.dataDir)} (${npmRun("dev:start", stack)} starts it again)`);
        else say(`the ${stack} stack's local database was not running; its data is in ${shown(paths.dataDir)}`);
        return 0;
    }

    let status = server.serverStatus(paths);
    if (status.state === "missing") {
        if (config.stage !== "dev") {
            throw new DevCommandError(
                `the ${stack} stack has no local database in ${shown(paths.dataDir)} yet; create it with npm run up -- --stack ${stack} (dev:start creates one only on a dev stack: up deploys the whole stack)`,
            );
        }
        say(`the ${stack} stack has no local database yet: creating it with npm run up (initdb, start, migrations)`);
        await io.up(stack);
        status = server.serverStatus(paths);
        if (status.state === "missing") throw new DevCommandError(`npm run up finished but ${shown(paths.dataDir)} holds no database`);
    }
    let started = false;
    if (status.state === "stopped") {
        const result = await server.startServer(paths, { stack, log: say });
        started = result.started;
        status = result;
    }
    const port = status.port ?? db.port;
    say(
        `${started ? "started" : "running"}: the ${stack} stack's PostgreSQL on host ${server.LOCAL_HOST}, port ${port}, database ${db.databaseName} (user ${db.user})`,
    );
    if (port !== db.port) {
        say(
            `note: keel:database.local.port is ${db.port} but the server was set up on ${port}; npm run up${stack === "dev" ? "" : ` -- --stack ${stack}`} moves it`,
        );
    }
    say(`  its URL, with the password: npm run -s db:url${stack === "dev" ? "" : ` -- --stack ${stack}`}`);
    say(`  the server log: ${shown(paths.logFile)} (${npmRun("dev:logs", stack)}); stop it: ${npmRun("dev:stop", stack)}`);
    return 0;
}

function interrupted(): AbortSignal {
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    process.once("SIGTERM", () => controller.abort());
    return controller.signal;
}

// ---- docker ---------------------------------------------------------------------

/** What `docker info` says when no engine answers, in one line; undefined when one does. Pure but for the process call. */
export function dockerUnavailable(env: Record<string, string | undefined>): string | undefined {
    const res = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
        encoding: "utf8",
        env: env as NodeJS.ProcessEnv,
        timeout: 20_000,
    });
    if (res.error && (res.error as NodeJS.ErrnoException).code === "ENOENT") {
        return "no Docker engine answers: the docker command is not installed (or not on PATH). Install and start Docker, or use the local kind: npm run pulumi -- config set --path keel:database.kind local";
    }
    if (res.status === 0) return undefined;
    const why = (res.stderr || res.stdout || String(res.error ?? "")).trim().split("\n").filter(Boolean).pop() ?? "docker info failed";
    return `no Docker engine answers (${why}): start Docker, then run this again`;
}

async function docker(
    command: DevCommand,
    config: KeelConfig,
    db: DockerDatabaseConfig,
    o: { follow: boolean; lines?: number },
    io: DevIo,
): Promise<number> {
    const { stack } = config;
    const down = dockerUnavailable(io.env);
    if (down) throw new DevCommandError(down);
    const container = db.containerName;
    if (command === "logs") {
        const args = ["logs", ...(o.follow ? ["-f"] : []), ...(o.lines ? ["--tail", String(o.lines)] : []), container];
        return new Promise((resolve, reject) => {
            const child = spawn("docker", args, { env: io.env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
            child.stdout.setEncoding("utf8").on("data", io.out);
            child.stderr.setEncoding("utf8").on("data", io.out);
            io.signal?.addEventListener("abort", () => child.kill("SIGINT"));
            child.on("error", reject);
            child.on("close", (code) => resolve(code ?? 1));
        });
    }
    const res = spawnSync("docker", [command, container], { encoding: "utf8", env: io.env as NodeJS.ProcessEnv, timeout: 120_000 });
    const text = (res.stderr || res.stdout || "").trim();
    if (res.status !== 0) {
        if (/no such container/i.test(text)) {
            if (command === "stop") {
                io.out(`the ${stack} stack has no container ${container}: nothing to stop\n`);
                return 0;
            }
            if (config.stage !== "dev")
                throw new DevCommandError(`there is no container ${container} yet; create it with npm run up -- --stack ${stack}`);
            io.out(`the ${stack} stack has no container ${container} yet: creating it with npm run up\n`);
            await io.up(stack);
            return docker(command, config, db, o, io);
        }
        throw new DevCommandError(`docker ${command} ${container} failed: ${text.split("\n").pop()}`);
    }
    if (command === "stop") io.out(`stopped container ${container}; the data is kept in the volume ${db.volumeName}\n`);
    else
        io.out(
            `running: the ${stack} stack's PostgreSQL in container ${container}, on host 127.0.0.1, port ${db.port}, database ${db.databaseName} (user ${db.user})\n`,
        );
    return 0;
}
