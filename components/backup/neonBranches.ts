/**
 * The Neon branch steps that backups, restores, drills and db:reset are made
 * of: branches found by name, a branch made with its own compute, a branch
 * restored in place keeping its state under another name, a direct connection
 * URI, a branch removed. Each step awaits Neon's operations, and a create or
 * restore whose response was lost is looked for before anything is repeated.
 *
 * Survives Pulumi's closure serialization, as neon.ts does (the Schema
 * provider takes backups through it): no npm module at load time, no module
 * state, no secret in a message (URIs go back to the caller only).
 */
import type { Branch, Operation } from "@neondatabase/api-client";
import { Api, isNotFound, mayHaveBeenProcessed, waitForOperations, waitForRunningOperations, WaitOptions } from "../vendors/neon";

/** A branch with the annotation Neon keeps beside it (Keel's backup facts). */
export interface AnnotatedBranch {
    branch: Branch;
    annotation?: Record<string, string>;
}

/** Branches whose name contains `search`, with their annotations, across pages. */
export async function searchBranches(api: Api, projectId: string, search: string): Promise<AnnotatedBranch[]> {
    const found: AnnotatedBranch[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
        const { data } = await api.listProjectBranches({ projectId, search, ...(cursor ? { cursor } : {}) });
        const annotations = (data as { annotations?: Record<string, { value?: Record<string, string> }> }).annotations ?? {};
        for (const branch of data.branches ?? []) found.push({ branch, annotation: annotations[branch.id]?.value });
        const next = data.pagination?.next;
        if (!next || next === cursor) break;
        cursor = next;
    }
    return found;
}

/** The branch named exactly `name` (the first, if several are). */
export async function branchNamed(api: Api, projectId: string, name: string): Promise<Branch | undefined> {
    return (await searchBranches(api, projectId, name)).find((b) => b.branch.name === name)?.branch;
}

/** A branch by id; undefined when Neon has none. */
export async function getBranch(api: Api, projectId: string, branchId: string): Promise<AnnotatedBranch | undefined> {
    try {
        const { data } = await api.getProjectBranch(projectId, branchId);
        return { branch: data.branch, annotation: (data as { annotation?: { value?: Record<string, string> } }).annotation?.value };
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/**
 * Creates a branch of `parentId` with its own read-write compute and awaits it.
 * `created` hears the branch's id as soon as it exists (also when awaiting it
 * then fails, or when the create's response was lost and the branch is found
 * by its name), so the caller can remove it whatever happens next.
 */
export async function createBranchWithCompute(
    api: Api,
    projectId: string,
    branch: { parentId: string; name: string; expiresAt?: string },
    wait: WaitOptions,
    created: (branchId: string) => void,
): Promise<string> {
    let id: string | undefined;
    try {
        const { data } = await api.createProjectBranch(projectId, {
            branch: { parent_id: branch.parentId, name: branch.name, ...(branch.expiresAt ? { expires_at: branch.expiresAt } : {}) },
            endpoints: [{ type: "read_write" as never }],
        });
        id = data.branch.id;
        created(id);
        await waitForOperations(api, projectId, data.operations as Operation[], wait);
        return id;
    } catch (err) {
        if (!id && mayHaveBeenProcessed(err)) {
            const found = await branchNamed(api, projectId, branch.name).catch(() => undefined);
            if (found) created(found.id);
        }
        throw err;
    }
}

/** A direct (unpooled) connection URI of a branch's compute. It holds a password: never print it. */
export async function directConnectionUri(
    api: Api,
    projectId: string,
    branchId: string,
    as: { databaseName: string; roleName: string },
): Promise<string> {
    const { data } = await api.getConnectionUri({
        projectId,
        branch_id: branchId,
        database_name: as.databaseName,
        role_name: as.roleName,
        pooled: false,
    });
    return data.uri;
}

/** A restore of a branch in place from another, its state before kept as a new branch (db:restore's plan, db:reset's last step). */
export interface InPlaceRestore {
    projectId: string;
    /** Restored in place: same id, same endpoint. */
    target: { id: string; name: string };
    source: { id: string; name: string };
    /** The branch that will keep the target's state before the restore. */
    preservedName: string;
}

/**
 * Restores the target from the source with Neon's preserve_under_name and
 * awaits it. A restore whose response was lost happened if the preserved
 * branch exists: it is never sent twice. Returns the preserved branch, when
 * Neon lists it.
 */
export async function restoreInPlace(
    api: Api,
    r: InPlaceRestore,
    wait: WaitOptions,
    progress?: (line: string) => void,
): Promise<Branch | undefined> {
    progress?.(`restoring '${r.target.name}' from '${r.source.name}'; its current state is kept as '${r.preservedName}'`);
    try {
        const { data } = await api.restoreProjectBranch(r.projectId, r.target.id, {
            source_branch_id: r.source.id,
            preserve_under_name: r.preservedName,
        });
        await waitForOperations(api, r.projectId, data.operations as Operation[], wait);
    } catch (err) {
        if (!mayHaveBeenProcessed(err)) throw err;
        if (!(await branchNamed(api, r.projectId, r.preservedName))) throw err;
        progress?.(
            `the response to the restore was lost, but '${r.preservedName}' exists: the restore happened; waiting for its operations`,
        );
        await waitForRunningOperations(api, r.projectId, { branchId: r.target.id }, wait);
    }
    return branchNamed(api, r.projectId, r.preservedName);
}

/** Deletes a branch once the operations running on it are done, and awaits the deletion. */
export async function deleteBranch(api: Api, projectId: string, branchId: string, wait: WaitOptions): Promise<void> {
    await waitForRunningOperations(api, projectId, { branchId }, wait);
    const { data } = await api.deleteProjectBranch({ projectId, branchId });
    await waitForOperations(api, projectId, data.operations as Operation[], wait);
}
