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
 * zstd-compressed. Keel reads those for file:// backends and numbers the
 * updates itself, oldest first, as Pulumi Cloud numbers its versions.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { parse } from "yaml";
import { KeelError } from "../../components/errors";
import { engineEnv, stateBackend } from "./engine";
import { pulumiCliOrBuild } from "./pulumiCli";

export class StackHistoryError extends KeelError {
    constructor(message: string) {
        super(message, "StackHistoryError");
    }
}

/** A secret output: present, encrypted in the state, never read here. */
export const SECRET = Symbol("secret");
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

function readMaybeCompressed(file: string): any {
    const bytes = fs.readFileSync(file);
    if (file.endsWith(".gz")) return JSON.parse(gunzipSync(bytes).toString("utf8"));
    if (file.endsWith(".zst")) {
        throw new StackHistoryError(
            `${file} is zstd-compressed, which this Node.js cannot read; unset PULUMI_DIY_BACKEND_COMPRESSION (or use gzip) for new updates`,
        );
    }
    return JSON.parse(bytes.toString("utf8"));
}

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

/** The directory a file backend keeps a stack's history in (project-scoped layout, or the legacy one). */
function historyDir(stateDir: string, project: string, stack: string): string {
    let projectScoped = true;
    try {
        projectScoped = (parse(fs.readFileSync(path.join(stateDir, ".pulumi", "meta.yaml"), "utf8"))?.version ?? 0) >= 1;
    } catch {
        // A backend without meta.yaml predates the project-scoped layout.
        projectScoped = false;
    }
    return projectScoped ? path.join(stateDir, ".pulumi", "history", project, stack) : path.join(stateDir, ".pulumi", "history", stack);
}

/** Every update of the stack, oldest first. */
export function listDeploys(root: string, stack: string, env: Record<string, string | undefined> = process.env): Deploy[] {
    const backend = stateBackend(root, env);
    if (/^https?:\/\//.test(backend)) return serviceDeploys(root, stack, env);
    if (!backend.startsWith("file://")) {
        throw new StackHistoryError(
            `reading earlier deploys of '${stack}' from ${backend.replace(/\/\/[^@/]*@/, "//")} is not supported yet: ` +
                `Keel reads file:// backends and Pulumi Cloud (https://); for an object store, copy its .pulumi/history to a directory and point PULUMI_BACKEND_URL at it with file://`,
        );
    }
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"))?.name;
    const dir = historyDir(backend.slice("file://".length), project, stack);
    let files: string[];
    try {
        files = fs.readdirSync(dir);
    } catch (err: any) {
        if (err.code === "ENOENT") return [];
        throw err;
    }
    const entry = new RegExp(`^${stack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)\\.history\\.json(\\.gz|\\.zst)?$`);
    const updates = files
        .map((f) => ({ file: f, m: entry.exec(f) }))
        .filter((x): x is { file: string; m: RegExpExecArray } => !!x.m)
        .sort((a, b) => (BigInt(a.m[1]) < BigInt(b.m[1]) ? -1 : 1));
    return updates.map(({ file }, i) => {
        const info = readMaybeCompressed(path.join(dir, file));
        const checkpointFile = path.join(dir, file.replace(".history.", ".checkpoint."));
        const checkpoint = fs.existsSync(checkpointFile) ? readMaybeCompressed(checkpointFile) : undefined;
        const environment: Record<string, string> = info.environment ?? {};
        return {
            version: i + 1,
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
    });
}

/**
 * The locks a running update holds on the stack, described (who, where, since
 * when); empty when none. A file backend keeps them as
 * `.pulumi/locks/<organization/project/stack>/<id>.json` (pkg/backend/diy).
 */
export function stackLocks(root: string, stack: string, env: Record<string, string | undefined> = process.env): string[] {
    const backend = stateBackend(root, env);
    if (!backend.startsWith("file://")) return [];
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"))?.name;
    const state = backend.slice("file://".length);
    const dirs = [path.join(state, ".pulumi", "locks", "organization", project, stack), path.join(state, ".pulumi", "locks", stack)];
    const found: string[] = [];
    for (const dir of dirs) {
        let files: string[] = [];
        try {
            files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
        } catch {
            continue;
        }
        for (const f of files) {
            try {
                const lock = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
                found.push(`pid ${lock.pid} of ${lock.username ?? "?"}@${lock.hostname ?? "?"} since ${lock.timestamp ?? "?"}`);
            } catch {
                found.push(path.join(dir, f));
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
 * for successful updates only: the others leave no state to go back to).
 */
export function deploysFromHistory(entries: HistoryEntryJson[], exportVersion: (version: number) => any): Deploy[] {
    return [...entries]
        .sort((a, b) => a.version - b.version)
        .map((e) => {
            const environment = e.environment ?? {};
            const config = Object.fromEntries(
                Object.entries(e.config ?? {}).map(([k, v]) => [k, v.secret ? SECRET : (v.objectValue ?? v.value)]),
            );
            const exported = e.kind === "update" && e.result === "succeeded" ? exportVersion(e.version) : undefined;
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

/** Pulumi Cloud (or a self-hosted service): its own API, through the CLI. */
function serviceDeploys(root: string, stack: string, env: Record<string, string | undefined>): Deploy[] {
    const cli = pulumiCliOrBuild(root, env);
    const vars = engineEnv(root, stack, cli, env);
    const run = (args: string[]) => {
        const r = spawnSync(cli.bin, [...args, "--stack", stack], { cwd: root, env: vars, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
        if (r.status !== 0)
            throw new StackHistoryError(`pulumi ${args.slice(0, 2).join(" ")} of '${stack}' failed: ${(r.stderr || r.stdout).trim()}`);
        return JSON.parse(r.stdout);
    };
    return deploysFromHistory(run(["stack", "history", "--json"]) as HistoryEntryJson[], (version) =>
        run(["stack", "export", "--version", String(version)]),
    );
}
