/**
 * Real object-store servers on 127.0.0.1, for the tests and benchmarks that keep
 * Pulumi state (or anything else) in a bucket: one module, so both start them the
 * same way.
 *
 *   s3      Versity S3 Gateway (versitygw), serving a directory: every directory
 *           under it is a bucket. Built by `npm run stores:build` (tools/versitygw).
 *   gs      fake-gcs-server, a Google Cloud Storage emulator, on a directory.
 *           Built by `npm run stores:build` (tools/fake-gcs-server).
 *   azblob  Azurite's Blob service, from npm (a devDependency).
 *
 * Each server starts on a free port, is polled until it answers, and is killed by
 * stop() or, failing that, when this process exits. Its log is kept in the
 * server's temporary directory; a server that does not come up fails with the
 * log's tail.
 *
 * `backendUrl(bucket)` plus `env` is what the Pulumi CLI needs to keep its state
 * there (PULUMI_BACKEND_URL and the variables its gocloud drivers read); `env`
 * and `endpoint` are what the vendor SDKs need.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { findExecutable } from "./executable";

export type StoreKind = "s3" | "gs" | "azblob";

export interface ObjectStoreServer {
    readonly kind: StoreKind;
    /** PULUMI_BACKEND_URL for a bucket/container on this server (creates nothing). */
    backendUrl(bucket: string): string;
    /** Environment the Pulumi CLI and the vendor SDKs need to reach it (credentials, emulator host...). */
    readonly env: Record<string, string>;
    /**
     * The server's base URL, for a vendor SDK's endpoint option: S3's `endpoint` (with
     * `forcePathStyle: true`), GCS's `apiEndpoint`, Azure's service URL (the account
     * is in the path: `${endpoint}/${env.AZURE_STORAGE_ACCOUNT}`).
     */
    readonly endpoint: string;
    /** Creates a bucket (container). Idempotent. */
    createBucket(name: string): Promise<void>;
    stop(): Promise<void>;
}

export interface StartOptions {
    /** The directory the server keeps its objects in (default: a temporary one, removed by stop()). */
    dir?: string;
    /** The port on 127.0.0.1 (default: a free one). */
    port?: number;
}

/** The command that builds a missing server binary. */
export const BUILD_COMMAND = "npm run stores:build";

/** A server that could not be started: its binary is missing, or it did not come up (with its log's tail). */
export class ObjectStoreError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ObjectStoreError";
    }
}

/** The repository: the directory above this file with Pulumi.yaml (this file also runs built, from dist/tools). */
const ROOT = (() => {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, "Pulumi.yaml")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return dir;
})();

const HOST = "127.0.0.1";

/** A server binary: the one `npm run stores:build` leaves in .keel/bin, else the first on PATH. */
export function findStoreBinary(name: "versitygw" | "fake-gcs-server"): string | undefined {
    return findExecutable(name, [path.join(ROOT, ".keel", "bin"), ...(process.env.PATH ?? "").split(path.delimiter)]);
}

function requireBinary(name: "versitygw" | "fake-gcs-server"): string {
    const bin = findStoreBinary(name);
    if (bin) return bin;
    throw new ObjectStoreError(
        `no ${name} binary (looked in ${path.join(ROOT, ".keel", "bin")} and on PATH): build the pinned one with ${BUILD_COMMAND} (needs Go 1.26)`,
    );
}

/** Azurite's Blob service entry point, from node_modules. */
function azuriteBlobMain(): string {
    let pkg: string;
    try {
        pkg = require.resolve("azurite/package.json", { paths: [ROOT] });
    } catch {
        throw new ObjectStoreError("no azurite package in node_modules: it is a devDependency, install it with npm ci");
    }
    const bin = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { bin?: Record<string, string> }).bin?.["azurite-blob"];
    if (!bin) throw new ObjectStoreError(`${pkg} names no azurite-blob entry point`);
    return path.join(path.dirname(pkg), bin);
}

/**
 * Ports tests hand to servers come from below Linux's ephemeral range (32768-60999 by default):
 * a port the OS picked for port 0 and released can be handed out again at once as some
 * process's outgoing socket (the Pulumi CLI took one before PostgreSQL bound it), while
 * one from this range is never picked by the kernel on its own.
 */
const TEST_PORTS = { first: 20_000, last: 32_000 };

function bindable(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.unref();
        srv.once("error", () => resolve(false));
        srv.listen(port, HOST, () => srv.close(() => resolve(true)));
    });
}

/** A port nobody listens on now, outside the ephemeral range. A server may still lose it to a race: start() retries. */
export async function freePort(): Promise<number> {
    const span = TEST_PORTS.last - TEST_PORTS.first + 1;
    for (let attempt = 0; attempt < 200; attempt++) {
        const port = TEST_PORTS.first + Math.floor(Math.random() * span);
        if (await bindable(port)) return port;
    }
    throw new ObjectStoreError(`no free port between ${TEST_PORTS.first} and ${TEST_PORTS.last} after 200 tries`);
}

/** One HTTP request; resolves with the status and body, whatever the status. */
export function httpRequest(
    url: string,
    options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: options.method ?? "GET", headers: options.headers, timeout: 5_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer from ${url}`)));
        req.on("error", reject);
        req.end(options.body);
    });
}

/** The servers this process started and has not stopped, with their temporary directories: both gone when it exits. */
const running = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function track(child: ChildProcess, work: string): void {
    if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on("exit", () => {
            for (const [c, dir] of running) {
                try {
                    c.kill("SIGKILL");
                } catch {
                    // Gone already.
                }
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }
    running.set(child, work);
}

function logTail(file: string, lines = 30): string {
    try {
        const text = fs.readFileSync(file, "utf8").trimEnd();
        return text ? text.split("\n").slice(-lines).join("\n") : "(empty)";
    } catch {
        return "(no log)";
    }
}

function exited(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
    });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until it answers: bounded attempts, a short pause between them. */
const READY_ATTEMPTS = 300;
const READY_PAUSE_MS = 100;

interface Launch {
    kind: StoreKind;
    name: string;
    command: string;
    args: (port: number, dir: string) => string[];
    env?: Record<string, string>;
    /** True when the server answers as it should once ready. */
    ready: (port: number) => Promise<boolean>;
}

interface Started {
    port: number;
    dir: string;
    stop(): Promise<void>;
}

async function launch(spec: Launch, opts: StartOptions): Promise<Started> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `keel-${spec.kind}-store-`));
    const dir = opts.dir ?? path.join(work, "data");
    fs.mkdirSync(dir, { recursive: true });
    const log = path.join(work, `${spec.name}.log`);
    // A free port can be taken between the probe and the server's bind: try a few.
    const tries = opts.port ? 1 : 3;
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= tries; attempt++) {
        const port = opts.port ?? (await freePort());
        const fd = fs.openSync(log, "a");
        fs.writeSync(fd, `--- ${spec.command} ${spec.args(port, dir).join(" ")}\n`);
        const child = spawn(spec.command, spec.args(port, dir), {
            cwd: work,
            env: { ...process.env, ...spec.env },
            stdio: ["ignore", fd, fd],
        });
        fs.closeSync(fd);
        track(child, work);
        let spawnError: Error | undefined;
        child.once("error", (err) => (spawnError = err));
        let up = false;
        for (let i = 0; i < READY_ATTEMPTS && !up; i++) {
            if (spawnError || child.exitCode !== null || child.signalCode !== null) break;
            up = await spec.ready(port).catch(() => false);
            if (!up) await delay(READY_PAUSE_MS);
        }
        if (up) {
            // The exit hook kills it if stop() is never called; meanwhile it must not keep this process alive.
            child.unref();
            let stopped: Promise<void> | undefined;
            return {
                port,
                dir,
                stop: () =>
                    (stopped ??= (async () => {
                        child.ref();
                        const gone = exited(child);
                        child.kill("SIGTERM");
                        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
                        await gone;
                        clearTimeout(timer);
                        running.delete(child);
                        fs.rmSync(work, { recursive: true, force: true });
                    })()),
            };
        }
        const how = spawnError
            ? `could not be run (${spawnError.message})`
            : child.exitCode !== null || child.signalCode !== null
              ? `exited (${child.exitCode ?? child.signalCode})`
              : `did not answer after ${READY_ATTEMPTS} attempts`;
        if (child.exitCode === null && child.signalCode === null) {
            const gone = exited(child);
            child.kill("SIGKILL");
            await gone;
        }
        // Its log stays for the message below to point at.
        running.delete(child);
        lastError = new ObjectStoreError(`${spec.name} on ${HOST}:${port} ${how}; the end of its log (${log}):\n${logTail(log)}`);
        if (spawnError) break;
    }
    throw lastError;
}

/** Any HTTP answer at all: the server is listening and speaking HTTP. */
async function answers(url: string): Promise<boolean> {
    const res = await httpRequest(url);
    return res.status > 0;
}

const S3_ACCESS_KEY = "keel-test-access";
const S3_SECRET_KEY = "keel-test-secret-key";
const S3_REGION = "us-east-1";

/**
 * Versity S3 Gateway on a directory (its posix backend: each directory under `dir`
 * is a bucket, objects are files; the filesystem must support extended attributes).
 */
export async function startS3Server(opts: StartOptions = {}): Promise<ObjectStoreServer> {
    const bin = requireBinary("versitygw");
    const started = await launch(
        {
            kind: "s3",
            name: "versitygw",
            command: bin,
            args: (port, dir) => ["--port", `${HOST}:${port}`, "--quiet", "posix", dir],
            env: { ROOT_ACCESS_KEY: S3_ACCESS_KEY, ROOT_SECRET_KEY: S3_SECRET_KEY, VGW_REGION: S3_REGION },
            ready: (port) => answers(`http://${HOST}:${port}/`),
        },
        opts,
    );
    const endpoint = `http://${HOST}:${started.port}`;
    return {
        kind: "s3",
        endpoint,
        env: {
            AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
            AWS_REGION: S3_REGION,
            AWS_DEFAULT_REGION: S3_REGION,
            AWS_EC2_METADATA_DISABLED: "true",
        },
        backendUrl: (bucket) => `s3://${bucket}?endpoint=${endpoint}&s3ForcePathStyle=true&region=${S3_REGION}`,
        // A bucket is a directory under the served one.
        createBucket: async (name) => {
            fs.mkdirSync(path.join(started.dir, name), { recursive: true });
        },
        stop: started.stop,
    };
}

/**
 * fake-gcs-server on a directory. Its public host is set to its own address, so
 * that the Go client's downloads (XML API, `GET /<bucket>/<object>`) reach it.
 */
export async function startGcsServer(opts: StartOptions = {}): Promise<ObjectStoreServer> {
    const bin = requireBinary("fake-gcs-server");
    const started = await launch(
        {
            kind: "gs",
            name: "fake-gcs-server",
            command: bin,
            args: (port, dir) => [
                "-scheme",
                "http",
                "-host",
                HOST,
                "-port",
                String(port),
                "-public-host",
                `${HOST}:${port}`,
                "-external-url",
                `http://${HOST}:${port}`,
                "-backend",
                "filesystem",
                "-filesystem-root",
                dir,
                "-log-level",
                "warn",
            ],
            ready: async (port) => (await httpRequest(`http://${HOST}:${port}/storage/v1/b`)).status === 200,
        },
        opts,
    );
    const host = `${HOST}:${started.port}`;
    const endpoint = `http://${host}`;
    return {
        kind: "gs",
        endpoint,
        env: {
            // gocloud's gcsblob (the Pulumi CLI) prefixes http:// itself; the Node SDK would assume https for
            // a bare host, so give it `endpoint` as apiEndpoint.
            STORAGE_EMULATOR_HOST: host,
            // The CLI resolves Google credentials before it opens a gs:// backend, emulator or not: any token does.
            GOOGLE_OAUTH_ACCESS_TOKEN: "keel-test-token",
            GOOGLE_CLOUD_PROJECT: "keel-test",
        },
        backendUrl: (bucket) => `gs://${bucket}`,
        createBucket: async (name) => {
            const res = await httpRequest(`${endpoint}/storage/v1/b?project=keel-test`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ name }),
            });
            if (res.status !== 200 && res.status !== 409) {
                throw new ObjectStoreError(`fake-gcs-server refused bucket ${name}: HTTP ${res.status} ${res.body}`);
            }
        },
        stop: started.stop,
    };
}

/** Azurite's well-known development account (public, in Azurite's documentation). */
const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/**
 * Azurite's Blob service. It refuses API versions newer than it knows unless told
 * not to check, and the Pulumi CLI's Azure SDK is newer: --skipApiVersionCheck.
 */
export async function startAzuriteServer(opts: StartOptions = {}): Promise<ObjectStoreServer> {
    const main = azuriteBlobMain();
    const started = await launch(
        {
            kind: "azblob",
            name: "azurite-blob",
            command: process.execPath,
            args: (port, dir) => [
                main,
                "--blobHost",
                HOST,
                "--blobPort",
                String(port),
                "--location",
                dir,
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            ready: (port) => answers(`http://${HOST}:${port}/${AZURITE_ACCOUNT}?comp=list`),
        },
        opts,
    );
    const host = `${HOST}:${started.port}`;
    const endpoint = `http://${host}`;
    return {
        kind: "azblob",
        endpoint,
        env: {
            AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
            AZURE_STORAGE_KEY: AZURITE_KEY,
            AZURE_STORAGE_DOMAIN: host,
            AZURE_STORAGE_PROTOCOL: "http",
            AZURE_STORAGE_IS_LOCAL_EMULATOR: "true",
            AZURE_STORAGE_CONNECTION_STRING:
                `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
                `BlobEndpoint=${endpoint}/${AZURITE_ACCOUNT};`,
        },
        // Self-contained (the CLI needs only the account and key from env besides).
        backendUrl: (container) => `azblob://${container}?localemu=true&domain=${host}&protocol=http`,
        createBucket: async (name) => {
            // Loaded on demand: only Azurite's users need the SDK (it signs the request with the account key).
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { BlobServiceClient } = require("@azure/storage-blob") as typeof import("@azure/storage-blob");
            const svc = BlobServiceClient.fromConnectionString(
                `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint}/${AZURITE_ACCOUNT};`,
            );
            await svc.getContainerClient(name).createIfNotExists();
        },
        stop: started.stop,
    };
}

/** Starts the server for a kind. */
export function startObjectStore(kind: StoreKind, opts: StartOptions = {}): Promise<ObjectStoreServer> {
    switch (kind) {
        case "s3":
            return startS3Server(opts);
        case "gs":
            return startGcsServer(opts);
        case "azblob":
            return startAzuriteServer(opts);
    }
}
