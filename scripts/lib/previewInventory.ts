/**
 * What exists of the previews, for `keel pr reap` (scripts/prReap.ts): the
 * stacks in the state backend, and per vendor, the objects there with the
 * pull request their name marks them for (naming.ts's prOf* functions; an
 * object no function recognizes is listed with pr undefined, so the plan
 * never touches it), and how to remove one. One PreviewInventory per vendor,
 * so another implementation (the vendors' own list/delete helpers) can take
 * the place of one. Removal treats an object already gone as removed.
 */
import { gunzipSync } from "zlib";
import { Octokit } from "@octokit/rest";
import { parse } from "yaml";
import * as fs from "fs";
import * as path from "path";
import { deleteBranch } from "../../components/backup/neonBranches";
import { findBranches } from "../../components/database/neon/common";
import { KeelError } from "../../components/errors";
import { prOfEnvironment, prOfNeonBranch, prOfService, prOfStack, prOfVariableComment } from "../../components/previews/naming";
import type { PreviewVendor, VendorObject } from "../../components/previews/reap";
import { FlyAppsClient, isFlyNotFound } from "../../components/vendors/fly";
import { githubApiUrl, withGithubRetry } from "../../components/vendors/github";
import { Api, isNotFound } from "../../components/vendors/neon";
import type { RenderClient } from "../../components/vendors/render";
import { VercelClient, vercelErrorStatus } from "../../components/vendors/vercel";
import { listDeploys, selfManagedState } from "./stackHistory";
import { runEngineCli } from "./stackDatabase";
import { listPreviewStacks, plainOutputs } from "./previewStacks";
import type { StateStore } from "./stateStore";

export class PreviewInventoryError extends KeelError {
    constructor(message: string) {
        super(message, "PreviewInventoryError");
    }
}

/** One vendor's preview objects: list them all (marked or not), remove one. */
export interface PreviewInventory {
    readonly vendor: PreviewVendor;
    /** Where it looks, for messages: `Neon project keel-app`. */
    readonly where: string;
    list(): Promise<VendorObject[]>;
    remove(o: VendorObject): Promise<void>;
}

/** A stack in the state backend, with what its state holds (the ids of its resources) when it is a preview. */
export interface BackendStack {
    name: string;
    /** keel:preview.expiresAt of its last update. */
    expiresAt?: string;
    /** The ids (and names) of the resources its latest state holds; only read for preview stacks. */
    holds: Set<string>;
}

/** Absent is removed: 404 from a delete is success. */
async function gone(remove: () => Promise<unknown>, notFound: (err: unknown) => boolean): Promise<void> {
    try {
        await remove();
    } catch (err) {
        if (!notFound(err)) throw err;
    }
}

/** The base's Neon project: its branches, `preview/pr-<n>` marked. */
export function neonBranchInventory(
    api: Api,
    projectId: string,
    projectName: string,
    onProgress?: (line: string) => void,
): PreviewInventory {
    return {
        vendor: "neon-branch",
        where: `Neon project ${projectName}`,
        async list() {
            return (await findBranches(api, projectId)).map((b) => ({
                vendor: "neon-branch",
                id: b.id,
                name: b.name,
                pr: prOfNeonBranch(b.name),
                ...(b.expires_at ? { expiresAt: b.expires_at } : {}),
            }));
        },
        async remove(o) {
            await gone(() => deleteBranch(api, projectId, o.id, { onProgress }), isNotFound);
        },
    };
}

/** The base's Fly organization: its apps, `<base app>-pr-<n>` marked. */
export function flyAppInventory(client: FlyAppsClient, org: string, baseApp: string): PreviewInventory {
    return {
        vendor: "fly-app",
        where: `Fly organization ${org}`,
        async list() {
            const { apps } = await client.listApps(org);
            return (apps ?? [])
                .filter((a) => typeof a.name === "string")
                .map((a) => ({ vendor: "fly-app", id: a.name!, name: a.name!, pr: prOfService(baseApp, a.name!) }));
        },
        async remove(o) {
            await gone(() => client.deleteApp(o.id), isFlyNotFound);
        },
    };
}

/** The base's Render workspace: its services, `<base service>-pr-<n>` marked. */
export function renderServiceInventory(client: RenderClient, ownerId: string, baseService: string): PreviewInventory {
    return {
        vendor: "render-service",
        where: `Render workspace ${ownerId}`,
        async list() {
            return (await client.listServices({ ownerId })).map((s) => ({
                vendor: "render-service",
                id: s.id,
                name: s.name,
                pr: prOfService(baseService, s.name),
            }));
        },
        async remove(o) {
            // false: it was gone already.
            await client.deleteService(o.id);
        },
    };
}

export interface GithubRepoTarget {
    owner: string;
    repository: string;
    token: string;
    /** Default GITHUB_API_URL, else api.github.com. */
    baseUrl?: string;
}

function octokitFor(target: GithubRepoTarget): Octokit {
    return new Octokit({ auth: target.token, baseUrl: githubApiUrl(target), userAgent: "keel" });
}

const statusOf = (err: unknown) => (err as { status?: number })?.status;

/** The repository's deployment environments, `preview-pr-<n>` marked. */
export function githubEnvironmentInventory(target: GithubRepoTarget): PreviewInventory {
    const repository = `${target.owner}/${target.repository}`;
    const ctx = (action: string) => ({ action, repository, token: target.token });
    return {
        vendor: "github-environment",
        where: `GitHub repository ${repository}`,
        async list() {
            const octokit = octokitFor(target);
            const found: VendorObject[] = [];
            for (let page = 1; page <= 100; page++) {
                const { data } = await withGithubRetry(ctx("listing the deployment environments"), () =>
                    octokit.request("GET /repos/{owner}/{repo}/environments", {
                        owner: target.owner,
                        repo: target.repository,
                        per_page: 100,
                        page,
                    }),
                );
                const envs = data.environments ?? [];
                found.push(
                    ...envs.map((e) => ({ vendor: "github-environment" as const, id: e.name, name: e.name, pr: prOfEnvironment(e.name) })),
                );
                if (envs.length < 100 || found.length >= (data.total_count ?? 0)) break;
            }
            return found;
        },
        async remove(o) {
            const octokit = octokitFor(target);
            await withGithubRetry(ctx(`deleting the environment ${o.name}`), () =>
                gone(
                    () =>
                        octokit.request("DELETE /repos/{owner}/{repo}/environments/{environment_name}", {
                            owner: target.owner,
                            repo: target.repository,
                            environment_name: o.name,
                        }),
                    (err) => statusOf(err) === 404,
                ),
            );
        },
    };
}

/** The repository's open pull requests' numbers. */
export async function openPullRequests(target: GithubRepoTarget): Promise<number[]> {
    const octokit = octokitFor(target);
    const repository = `${target.owner}/${target.repository}`;
    const open: number[] = [];
    for (let page = 1; page <= 100; page++) {
        const { data } = await withGithubRetry({ action: "listing the open pull requests", repository, token: target.token }, () =>
            octokit.request("GET /repos/{owner}/{repo}/pulls", {
                owner: target.owner,
                repo: target.repository,
                state: "open",
                per_page: 100,
                page,
            }),
        );
        open.push(...data.map((p) => p.number));
        if (data.length < 100) break;
    }
    return open;
}

interface VercelEnv {
    id: string;
    key: string;
    target?: string[] | string;
    gitBranch?: string;
    comment?: string;
}

/** The base's Vercel project's environment variables, `keel preview pr-<n>` in the comment marked. */
export function vercelVariableInventory(client: VercelClient, project: string): PreviewInventory {
    const p = encodeURIComponent(project);
    return {
        vendor: "vercel-variable",
        where: `Vercel project ${project}`,
        async list() {
            const { data } = await client.request<{ envs?: VercelEnv[] }>("GET", `/v10/projects/${p}/env`, {
                operation: "list environment variables",
            });
            return (data.envs ?? []).map((e) => ({
                vendor: "vercel-variable" as const,
                id: e.id,
                name: e.gitBranch ? `${e.key}@${e.gitBranch}` : e.key,
                pr: prOfVariableComment(e.comment),
            }));
        },
        async remove(o) {
            await gone(
                () =>
                    client.request("DELETE", `/v9/projects/${p}/env/${encodeURIComponent(o.id)}`, {
                        operation: "delete environment variable",
                    }),
                (err) => vercelErrorStatus(err) === 404,
            );
        },
    };
}

/** Where a self-managed backend lists a project's stacks: the project-scoped layout (meta.yaml version 1 and later), or the legacy one. */
async function stacksDir(store: StateStore, project: string): Promise<string> {
    const meta = await store.read(".pulumi/meta.yaml");
    const projectScoped = meta ? (parse(meta.toString("utf8"))?.version ?? 0) >= 1 : false;
    return projectScoped ? `.pulumi/stacks/${project}/` : ".pulumi/stacks/";
}

const STACK_FILE = /^([^/]+)\.json(\.gz)?$/;

/**
 * The stacks of this project in the state backend (not the stack files of the
 * checkout: a preview's Pulumi.pr-<n>.yaml is never committed). Read from a
 * self-managed backend's objects; Pulumi Cloud is not read here yet.
 */
export async function listBackendStacks(root: string, env: Record<string, string | undefined>): Promise<BackendStack[]> {
    const state = selfManagedState(root, env);
    if (!state)
        throw new PreviewInventoryError("not a self-managed state backend: list the stacks through the engine (stacksThroughEngine)");
    const { store, project } = state;
    const dir = await stacksDir(store, project);
    const stacks: BackendStack[] = [];
    for (const o of await store.list(dir)) {
        const m = STACK_FILE.exec(o.key.slice(dir.length));
        if (!m) continue;
        const name = m[1];
        if (prOfStack(name) === undefined) {
            stacks.push({ name, holds: new Set() });
            continue;
        }
        const bytes = await store.read(o.key);
        const checkpoint = bytes ? JSON.parse((m[2] ? gunzipSync(bytes) : bytes).toString("utf8")) : undefined;
        const expiresAt = (await lastPreviewConfig(root, name, env))?.expiresAt ?? stackFilePreview(root, name)?.expiresAt;
        stacks.push({ name, holds: resourcesHeld(checkpoint), ...(typeof expiresAt === "string" ? { expiresAt } : {}) });
    }
    return stacks.sort((a, b) => a.name.localeCompare(b.name));
}

/** The ids of the resources a checkpoint holds (Keel's providers use the vendor's id: branch id, app name, service id...). */
export function resourcesHeld(checkpoint: any): Set<string> {
    const resources: any[] = checkpoint?.checkpoint?.latest?.resources ?? [];
    const held = new Set<string>();
    for (const r of resources) {
        if (typeof r?.id === "string" && r.id) held.add(r.id);
        const name = r?.outputs?.name;
        if (typeof name === "string" && name) held.add(name);
    }
    return held;
}

/** keel:preview as a stack's last update ran with it (its history entry's config). */
async function lastPreviewConfig(
    root: string,
    stack: string,
    env: Record<string, string | undefined>,
): Promise<{ expiresAt?: unknown } | undefined> {
    try {
        const deploys = await listDeploys(root, stack, env, { historyOnly: true });
        return previewSection(deploys[deploys.length - 1]?.config?.["keel:preview"]);
    } catch {
        // No history to read: the stack file (below) or no expiry.
        return undefined;
    }
}

function stackFilePreview(root: string, stack: string): { expiresAt?: unknown } | undefined {
    try {
        return previewSection(parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"))?.config?.["keel:preview"]);
    } catch {
        return undefined;
    }
}

function previewSection(value: unknown): { expiresAt?: unknown } | undefined {
    if (typeof value === "string") {
        try {
            value = JSON.parse(value);
        } catch {
            return undefined;
        }
    }
    return value && typeof value === "object" ? (value as { expiresAt?: unknown }) : undefined;
}

/** Whether a stack's state holds the object (by its vendor id: an environment's is its name). */
export function heldBy(stack: BackendStack | undefined, o: VendorObject): boolean {
    return !!stack && stack.holds.has(o.id);
}

/**
 * The stacks as the engine's CLI lists them, on any backend (Pulumi Cloud's too): each preview's resources from
 * `stack export`, its expiry from its outputs. `base` is the stack whose environment opens the backend.
 */
export async function stacksThroughEngine(root: string, env: Record<string, string | undefined>, base: string): Promise<BackendStack[]> {
    // Only previews: a stack of another name is never in the reaper's plan.
    const stacks: BackendStack[] = [];
    for (const { stack: name } of await listPreviewStacks({ root, stack: base, env })) {
        const exported = await runEngineCli({ root, stack: name, env }, ["stack", "export", "--stack", name]);
        const deployment = exported.code === 0 ? JSON.parse(exported.out || "{}")?.deployment : undefined;
        const preview = (await plainOutputs({ root, stack: name, env })).preview as { expiresAt?: unknown } | undefined;
        stacks.push({
            name,
            holds: resourcesHeld({ checkpoint: { latest: deployment } }),
            ...(typeof preview?.expiresAt === "string" ? { expiresAt: preview.expiresAt } : {}),
        });
    }
    return stacks.sort((a, b) => a.name.localeCompare(b.name));
}

/** The stacks: read from a self-managed store directly, else through the engine. */
export async function previewBackendStacks(root: string, env: Record<string, string | undefined>, base: string): Promise<BackendStack[]> {
    return selfManagedState(root, env) ? listBackendStacks(root, env) : stacksThroughEngine(root, env, base);
}
