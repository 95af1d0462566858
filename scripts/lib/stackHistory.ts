/**
 * A stack's deploys with what each one left behind: when, how it ended, the git
 * commit it ran from, its config, and the stack outputs after it (schema
 * version, backend image, the backup taken before migrating), as rollback needs.
 *
 * Pulumi's self-managed (DIY) backends report version 0 for every entry of
 * `pulumi stack history` and refuse `pulumi stack export --version`, but they
 * keep every update: pkg/backend/diy's addToHistory writes
 * `<backend>/.pulumi/history/<project>/<stack>/<stack>-<unix nanoseconds>.history.json`
 * (the entry `pulumi stack history` shows) and, with the same prefix,
 * `.checkpoint.json` (the state right after the update), optionally gzip- or
 * zstd-compressed. Keel reads those from any self-managed backend (a directory,
 * S3, Google Cloud Storage, Azure Blob: scripts/lib/stateStore) and numbers the
 * updates itself, oldest first, as Pulumi Cloud numbers its versions.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import { gunzipSync, gzipSync } from "zlib";
import { parse } from "yaml";
import { KeelError } from "../../components/errors";
import { stateRoot } from "../../components/stateRoot";
import { DeployCache, SECRET } from "./deployCache";
import { engineEnv, stateBackend } from "./engine";
import { pulumiCliOrBuild } from "./pulumiCli";
import { openStateStore, parseStateBackend, redactBackendUrl, StateStore, StoredObject } from "./stateStore";

export class StackHistoryError extends KeelError {
    constructor(message: string) {
        super(message, "StackHistoryError");
    }
}

/** A secret output: present, encrypted in the state, never read here. */
export { SECRET };
export type OutputValue = unknown;

export interface Deploy {
    /** 1 for the stack's first update, counting every kind, as Pulumi Cloud numbers versions. */
    version: number;
    /** update, refresh, destroy, import, rename... */
    kind: string;
    /** succeeded, failed, in-progress. */
    result: string;
    startTime: Date;
    endTime?: Date;
    message: string;
    /** The git commit the update ran from (`git.head`), when the project was a git checkout. */
    commit?: string;
    /** True when the working tree had changes the commit does not hold. */
    dirty: boolean;
    /** `refs/heads/main` and the like. */
    branch?: string;
    /** The stack's config at the time, as the stack file held it; secret values are SECRET. */
    config: Record<string, unknown>;
    /** Stack outputs after the update; secret ones are SECRET. Empty when the update left no checkpoint. */
    outputs: Record<string, OutputValue>;
    /** Resource changes the update made, as `pulumi stack history` counts them. */
    resourceChanges: Record<string, number>;
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

function outputsOf(checkpoint: any): Record<string, OutputValue> {
    const resources: any[] = checkpoint?.checkpoint?.latest?.resources ?? [];
    const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const hideSecrets = (v: any): OutputValue => {
        if (v && typeof v === "object" && !Array.isArray(v)) {
            if (SECRET_SIG_KEY in v) return SECRET;
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hideSecrets(x)]));
        }
        return Array.isArray(v) ? v.map(hideSecrets) : v;
    };
    return hideSecrets(stack?.outputs ?? {}) as Record<string, OutputValue>;
}

/** Config as a stack file holds it: `{ secure: <ciphertext> }` leaves are secrets. */
function configOf(raw: any): Deploy["config"] {
    const hideSecure = (v: any): unknown => {
        if (v && typeof v === "object" && !Array.isArray(v)) {
            if (Object.keys(v).length === 1 && typeof v.secure === "string") return SECRET;
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hideSecure(x)]));
        }
        return Array.isArray(v) ? v.map(hideSecure) : v;
    };
    return hideSecure(raw ?? {}) as Deploy["config"];
}

/** Where a self-managed backend keeps a stack's history: the project-scoped layout (meta.yaml version 1 and later), or the legacy one. */
async function historyDir(store: StateStore, project: string, stack: string): Promise<string> {
    let projectScoped = false;
    const meta = await store.read(".pulumi/meta.yaml");
    // A backend without meta.yaml predates the project-scoped layout.
    if (meta) projectScoped = (parse(meta.toString("utf8"))?.version ?? 0) >= 1;
    return projectScoped ? `.pulumi/history/${project}/${stack}/` : `.pulumi/history/${stack}/`;
}

function projectOf(root: string): string {
    return parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"))?.name;
}

/** The checkout's self-managed state backend and project, or undefined on Pulumi Cloud (no objects to read). */
export function selfManagedState(
    root: string,
    env: Record<string, string | undefined>,
): { store: StateStore; project: string } | undefined {
    const backend = parseStateBackend(stateBackend(root, env));
    return backend.kind === "service" ? undefined : { store: openStateStore(backend, env), project: projectOf(root) };
}

/** How many objects are read at once: enough to hide a bucket's latency, few enough for its rate limits. */
const PARALLEL_READS = 16;

/** Maps with at most `limit` calls in flight, keeping the order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i], i);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}

export interface ListOptions {
    /** Progress for a command the user waits on (reading N deploys). */
    say?: (line: string) => void;
    /** Where parsed deploys are kept between runs; default .keel/cache/deploys under the state root. */
    cacheDir?: string;
    /**
     * Read the history entries only, not the checkpoints beside them: each deploy's `outputs` is then
     * empty. Half the objects, for a reader that needs no outputs (the metrics, on a bucket).
     */
    historyOnly?: boolean;
}

/** The deploys read before from this backend's stack: .keel/cache/deploys under the state root, unless the caller names a directory. */
function deployCache(root: string, env: Record<string, string | undefined>, options: ListOptions, scope: string): DeployCache {
    return new DeployCache(options.cacheDir ?? path.join(stateRoot(env, path.resolve(root)), ".keel", "cache", "deploys"), scope);
}

/** Every update of the stack, oldest first, from wherever its state is. */
export async function listDeploys(
    root: string,
    stack: string,
    env: Record<string, string | undefined> = process.env,
    options: ListOptions = {},
): Promise<Deploy[]> {
    const backend = parseStateBackend(stateBackend(root, env));
    if (backend.kind === "service") return serviceDeploys(root, stack, env, options);
    const store = openStateStore(backend, env);
    const project = projectOf(root);
    const dir = await historyDir(store, project, stack);
    const entry = new RegExp(`^${stack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)\\.(history|checkpoint)\\.json(\\.gz|\\.zst)?$`);
    const objects = await store.list(dir);
    const byName = new Map(objects.map((o) => [o.key.slice(dir.length), o]));
    const updates = objects
        .map((o) => ({ object: o, m: entry.exec(o.key.slice(dir.length)) }))
        .filter((x): x is { object: StoredObject; m: RegExpExecArray } => !!x.m && x.m[2] === "history")
        .sort((a, b) => (BigInt(a.m[1]) < BigInt(b.m[1]) ? -1 : 1));
    // Entries read without their checkpoints are kept apart: they lack the outputs the others have.
    const cache = deployCache(root, env, options, `${backend.display} ${project}/${stack}${options.historyOnly ? " history-only" : ""}`);
    const checkpointFor = (o: StoredObject) => (options.historyOnly ? undefined : checkpointOf(o, byName));
    let missing = updates.filter(({ object }) => !cache.has(object, checkpointFor(object)));
    // A fresh machine (a CI runner) starts from the digest the last reader left beside the state: one object, not thousands.
    const shared = options.historyOnly && missing.length > DIGEST_MIN ? await readDigest(store, project, stack, cache) : 0;
    if (shared) missing = updates.filter(({ object }) => !cache.has(object, checkpointFor(object)));
    if (missing.length > 20)
        options.say?.(
            `reading ${missing.length} deploys of '${stack}' from ${backend.display} (${updates.length - missing.length} cached)`,
        );
    const deploys = await mapLimit(updates, PARALLEL_READS, async ({ object }) => {
        const checkpoint = checkpointFor(object);
        const cached = cache.get<Deploy>(object, checkpoint);
        if (cached) return cached;
        const [info, state] = await Promise.all([
            readObject(store, object.key),
            checkpoint ? readObject(store, checkpoint.key) : undefined,
        ]);
        const record = deployOf(info, state);
        cache.set(object, checkpoint, record);
        return record;
    });
    cache.save();
    if (options.historyOnly && missing.length > DIGEST_MIN) await writeDigest(store, project, stack, cache, updates.length);
    return deploys.map((d, i) => ({ ...d, version: i + 1 }));
}

/** Entries read one by one before a digest is worth reading or writing. */
const DIGEST_MIN = 50;

const digestDir = (project: string, stack: string) => `.keel/cache/${project}/${stack}/`;
const DIGEST_NAME = /^history-(\d+)-[0-9a-f]+\.json\.gz$/;

/**
 * The history entries already parsed, shared beside the state as one gzipped object
 * (`.keel/cache/<project>/<stack>/history-<count>-<random>.json.gz`): the local cache's
 * entries, keyed by each history object's key and tag, so a changed object is read again.
 * It holds what the history entries hold, secrets still hidden. The fullest digest is
 * read; a digest that cannot be read only makes the reading slower.
 */
async function readDigest(store: StateStore, project: string, stack: string, cache: DeployCache): Promise<number> {
    try {
        const digests = (await store.list(digestDir(project, stack)))
            .map((o) => ({ o, m: DIGEST_NAME.exec(o.key.slice(o.key.lastIndexOf("/") + 1)) }))
            .filter((x) => x.m)
            .sort((a, b) => Number(b.m![1]) - Number(a.m![1]));
        if (!digests.length) return 0;
        const bytes = await store.read(digests[0].o.key);
        return bytes ? cache.mergeEntries(gunzipSync(bytes).toString("utf8")) : 0;
    } catch {
        return 0;
    }
}

/** Leaves the cache's entries as the new digest and removes the older ones; never fails the reading. */
async function writeDigest(store: StateStore, project: string, stack: string, cache: DeployCache, count: number): Promise<void> {
    const dir = digestDir(project, stack);
    try {
        const name = `history-${String(count).padStart(9, "0")}-${randomBytes(4).toString("hex")}.json.gz`;
        if (!(await store.createIfAbsent(`${dir}${name}`, gzipSync(cache.entriesJson())))) return;
        for (const o of await store.list(dir))
            if (DIGEST_NAME.test(o.key.slice(dir.length)) && !o.key.endsWith(name)) await store.remove(o.key);
    } catch {
        // A read-only credential: the next reader reads the objects again.
    }
}

/** The checkpoint written beside a history entry (same name, .checkpoint.), if the update left one. */
function checkpointOf(history: StoredObject, byName: Map<string, StoredObject>): StoredObject | undefined {
    const name = history.key.slice(history.key.lastIndexOf("/") + 1).replace(".history.", ".checkpoint.");
    return byName.get(name);
}

async function readObject(store: StateStore, key: string): Promise<any> {
    const bytes = await store.read(key);
    if (!bytes) return undefined;
    if (key.endsWith(".gz")) return JSON.parse(gunzipSync(bytes).toString("utf8"));
    if (key.endsWith(".zst")) {
        throw new StackHistoryError(
            `${key} in ${store.display} is zstd-compressed, which this Node.js cannot read; unset PULUMI_DIY_BACKEND_COMPRESSION (or use gzip) for new updates`,
        );
    }
    return JSON.parse(bytes.toString("utf8"));
}

/** A deploy from its history entry and checkpoint (version set by the caller, from the order). */
function deployOf(info: any, checkpoint: any): Deploy {
    const environment: Record<string, string> = info?.environment ?? {};
    return {
        version: 0,
        kind: info.kind,
        result: info.result,
        startTime: new Date(info.startTime * 1000),
        ...(info.endTime ? { endTime: new Date(info.endTime * 1000) } : {}),
        message: info.message ?? "",
        ...(environment["git.head"] ? { commit: environment["git.head"] } : {}),
        dirty: environment["git.dirty"] === "true",
        ...(environment["git.headName"] ? { branch: environment["git.headName"] } : {}),
        config: configOf(info.config),
        outputs: outputsOf(checkpoint),
        resourceChanges: info.resourceChanges ?? {},
    };
}

/**
 * The locks a running update holds on the stack, described (who, where, since
 * when); empty when none. A self-managed backend keeps them as
 * `.pulumi/locks/<organization/project/stack>/<id>.json` (pkg/backend/diy).
 */
export async function stackLocks(root: string, stack: string, env: Record<string, string | undefined> = process.env): Promise<string[]> {
    const state = selfManagedState(root, env);
    if (!state) return [];
    const { store, project } = state;
    const found: string[] = [];
    for (const dir of [`.pulumi/locks/organization/${project}/${stack}/`, `.pulumi/locks/${stack}/`]) {
        for (const o of (await store.list(dir)).filter((x) => x.key.endsWith(".json"))) {
            try {
                const lock = JSON.parse((await store.read(o.key))?.toString("utf8") ?? "");
                found.push(`pid ${lock.pid} of ${lock.username ?? "?"}@${lock.hostname ?? "?"} since ${lock.timestamp ?? "?"}`);
            } catch {
                found.push(`${store.display}/${o.key}`);
            }
        }
    }
    return found;
}

/** One entry of `pulumi stack history --json`, as the CLI prints it. */
export interface HistoryEntryJson {
    version: number;
    kind: string;
    result: string;
    startTime: string;
    endTime?: string;
    message?: string;
    environment?: Record<string, string>;
    config?: Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
    resourceChanges?: Record<string, number>;
}

/**
 * Deploys from a backend that numbers its versions and exports each one (Pulumi
 * Cloud): the entries `pulumi stack history --json` prints and, for each, the
 * stack outputs of `pulumi stack export --version N` (`exportVersion`, called
 * for successful updates only, several at once: the others leave no state to go back to).
 */
export async function deploysFromHistory(entries: HistoryEntryJson[], exportVersion: (version: number) => Promise<any>): Promise<Deploy[]> {
    const sorted = [...entries].sort((a, b) => a.version - b.version);
    const exports = await mapLimit(sorted, PARALLEL_EXPORTS, (e) =>
        e.kind === "update" && e.result === "succeeded" ? exportVersion(e.version) : Promise.resolve(undefined),
    );
    return sorted.map((e, i) => {
        const environment = e.environment ?? {};
        const config = Object.fromEntries(
            Object.entries(e.config ?? {}).map(([k, v]) => [k, v.secret ? SECRET : (v.objectValue ?? v.value)]),
        );
        const exported = exports[i];
        return {
            version: e.version,
            kind: e.kind,
            result: e.result,
            startTime: new Date(e.startTime),
            ...(e.endTime ? { endTime: new Date(e.endTime) } : {}),
            message: e.message ?? "",
            ...(environment["git.head"] ? { commit: environment["git.head"] } : {}),
            dirty: environment["git.dirty"] === "true",
            ...(environment["git.headName"] ? { branch: environment["git.headName"] } : {}),
            config,
            outputs: exported ? outputsOf({ checkpoint: { latest: exported.deployment ?? exported } }) : {},
            resourceChanges: e.resourceChanges ?? {},
        };
    });
}

/** `pulumi stack export` runs at once against Pulumi Cloud: each is a CLI process and an API call. */
const PARALLEL_EXPORTS = 6;

/** Pulumi Cloud (or a self-hosted service): its own API, through the CLI; each version's export is kept in the cache (versions never change). */
async function serviceDeploys(
    root: string,
    stack: string,
    env: Record<string, string | undefined>,
    options: ListOptions,
): Promise<Deploy[]> {
    const cli = pulumiCliOrBuild(root, env);
    const vars = engineEnv(root, stack, cli, env);
    const run = (args: string[]) =>
        new Promise<any>((resolve, reject) => {
            const child = spawn(cli.bin, [...args, "--stack", stack], {
                cwd: root,
                env: vars as NodeJS.ProcessEnv,
                stdio: ["ignore", "pipe", "pipe"],
            });
            const out: Buffer[] = [];
            const err: Buffer[] = [];
            child.stdout.on("data", (b: Buffer) => out.push(b));
            child.stderr.on("data", (b: Buffer) => err.push(b));
            child.on("error", reject);
            child.on("close", (code) => {
                const stdout = Buffer.concat(out).toString("utf8");
                if (code !== 0) {
                    const text = (Buffer.concat(err).toString("utf8") || stdout).trim();
                    reject(new StackHistoryError(`pulumi ${args.slice(0, 2).join(" ")} of '${stack}' failed: ${text}`));
                } else {
                    resolve(JSON.parse(stdout));
                }
            });
        });
    const entries = (await run(["stack", "history", "--json"])) as HistoryEntryJson[];
    const cache = deployCache(root, env, options, `${redactBackendUrl(stateBackend(root, env))} ${stack}`);
    const toExport = entries.filter((e) => e.kind === "update" && e.result === "succeeded" && !cache.hasExport(e.version, e.startTime));
    if (toExport.length > 5) options.say?.(`exporting ${toExport.length} versions of '${stack}' from ${stateBackend(root, env)}`);
    const deploys = await deploysFromHistory(entries, async (version) => {
        const startTime = entries.find((e) => e.version === version)!.startTime;
        const cached = cache.getExport(version, startTime);
        if (cached) return cached;
        const exported = await run(["stack", "export", "--version", String(version)]);
        // Only the Stack resource's outputs are kept: they are all a deploy row reads.
        const resources = (exported.deployment ?? exported)?.resources ?? [];
        const kept = { resources: resources.filter((r: any) => r.type === "pulumi:pulumi:Stack") };
        cache.setExport(version, startTime, kept);
        return kept;
    });
    cache.save();
    return deploys;
}
