/**
 * A Vercel project's environment variables, as Keel's previews use them: the
 * base stack's project gets one variable per pull request, for the preview
 * target and the PR's git branch, marked as Keel's by its comment
 * (components/previews/naming.ts). Over VercelClient (retries, errors without
 * the token): filter-project-envs GET /v10/projects/{idOrName}/env,
 * create-project-env POST /v10/projects/{idOrName}/env, edit-project-env PATCH
 * /v9/projects/{idOrName}/env/{id}, remove-project-env DELETE
 * /v9/projects/{idOrName}/env/{id} (paths as @vercel/sdk calls them).
 *
 * A variable's value is never read back (no `decrypt`) and never in a message.
 */
import { KeelError } from "../errors";
import { prOfVariableComment } from "../previews/naming";
import { VercelApiError, VercelClient, vercelErrorStatus, VercelProject } from "./vercel";

/** Vercel's variable types; `encrypted` is its default (stored encrypted, readable by the team), `sensitive` is never readable again. */
export type VercelEnvType = "encrypted" | "sensitive" | "plain" | "secret" | "system";
export type VercelEnvTarget = "production" | "preview" | "development";

/** One of filter-project-envs' `envs[]` (the parts Keel reads; `value` is left out on purpose). */
export interface VercelEnvVariable {
    id: string;
    key: string;
    type: VercelEnvType;
    target: VercelEnvTarget[];
    /** Only for target preview: the git branch it applies to; none: every preview branch. */
    gitBranch?: string;
    comment?: string;
    createdAt?: number;
    updatedAt?: number;
}

export interface NewVercelEnv {
    key: string;
    value: string;
    type: VercelEnvType;
    target: VercelEnvTarget[];
    gitBranch?: string;
    comment?: string;
}

/** A Vercel project Keel expected and did not find. */
export class VercelProjectMissingError extends KeelError {
    constructor(message: string) {
        super(message, "VercelProjectMissingError");
    }
}

const seg = encodeURIComponent;

function toVariable(raw: Record<string, unknown>): VercelEnvVariable {
    const target = raw.target;
    return {
        id: String(raw.id),
        key: String(raw.key),
        type: raw.type as VercelEnvType,
        target: (Array.isArray(target) ? target : typeof target === "string" ? [target] : []) as VercelEnvTarget[],
        ...(typeof raw.gitBranch === "string" && raw.gitBranch ? { gitBranch: raw.gitBranch } : {}),
        ...(typeof raw.comment === "string" && raw.comment ? { comment: raw.comment } : {}),
        ...(typeof raw.createdAt === "number" ? { createdAt: raw.createdAt } : {}),
        ...(typeof raw.updatedAt === "number" ? { updatedAt: raw.updatedAt } : {}),
    };
}

/** The project by name or id; a missing one is a VercelProjectMissingError saying where it comes from. */
export async function findVercelProject(client: VercelClient, idOrName: string): Promise<VercelProject> {
    try {
        return await client.getProject(idOrName);
    } catch (err) {
        if (vercelErrorStatus(err) !== 404) throw err;
        throw new VercelProjectMissingError(
            `There is no Vercel project '${idOrName}'${client.teamId ? ` in team ${client.teamId}` : " in the token's personal account"}. ` +
                `A preview's variable goes on the base stack's project (keel:frontend.name), which the base stack's 'pulumi up' creates: ` +
                `deploy the base stack first${client.teamId ? "" : ", or set keel:frontend.teamId when the project belongs to a team"}.`,
        );
    }
}

/** Every variable of the project (values left out); `gitBranch` narrows to one preview branch's. */
export async function listProjectEnv(
    client: VercelClient,
    projectId: string,
    opts: { gitBranch?: string } = {},
): Promise<VercelEnvVariable[]> {
    const out: VercelEnvVariable[] = [];
    const seen = new Set<string>();
    let until: number | undefined;
    for (let page = 1; page <= 100; page++) {
        const { data } = await client.request<{ envs?: Record<string, unknown>[]; pagination?: { next?: number | null } }>(
            "GET",
            `/v10/projects/${seg(projectId)}/env`,
            { operation: "list environment variables", query: { gitBranch: opts.gitBranch, until } },
        );
        for (const raw of Array.isArray(data?.envs) ? data.envs : []) {
            const v = toVariable(raw);
            if (!seen.has(v.id)) out.push(v);
            seen.add(v.id);
        }
        const next = data?.pagination?.next;
        if (typeof next !== "number" || (until !== undefined && next >= until)) break;
        until = next;
    }
    return out;
}

/** Creates one variable (not repeated by the retries: a lost answer is a VercelApiError with mayHaveBeenProcessed). */
export async function createProjectEnv(client: VercelClient, projectId: string, env: NewVercelEnv): Promise<VercelEnvVariable> {
    const { data } = await client.request<{ created?: Record<string, unknown> | Record<string, unknown>[]; failed?: unknown[] }>(
        "POST",
        `/v10/projects/${seg(projectId)}/env`,
        { operation: `create environment variable ${env.key}`, body: env },
    );
    const created = Array.isArray(data?.created) ? data.created[0] : data?.created;
    if (!created || typeof created.id !== "string") {
        const failed = (data?.failed ?? []) as { error?: { code?: string; message?: string } }[];
        const why = failed.map((f) => [f.error?.code, f.error?.message].filter(Boolean).join(": ")).join("; ");
        throw new VercelApiError(
            `Vercel API create environment variable ${env.key} (POST /v10/projects/${projectId}/env): not created${why ? `: ${why}` : ""}`,
            `create environment variable ${env.key}`,
            400,
        );
    }
    return toVariable(created);
}

/** Changes a variable in place (PATCH: absolute values, safe to repeat). */
export async function editProjectEnv(
    client: VercelClient,
    projectId: string,
    id: string,
    patch: Partial<Omit<NewVercelEnv, "gitBranch">> & { gitBranch?: string | null },
): Promise<VercelEnvVariable> {
    const { data } = await client.request<Record<string, unknown>>("PATCH", `/v9/projects/${seg(projectId)}/env/${seg(id)}`, {
        operation: `edit environment variable ${patch.key ?? id}`,
        body: patch,
    });
    return toVariable(data);
}

/** Removes a variable; false when it was already gone (or its project is). */
export async function removeProjectEnv(client: VercelClient, projectId: string, id: string): Promise<boolean> {
    try {
        await client.request("DELETE", `/v9/projects/${seg(projectId)}/env/${seg(id)}`, { operation: "remove environment variable" });
        return true;
    } catch (err) {
        if (vercelErrorStatus(err) === 404) return false;
        throw err;
    }
}

// ---- Keel's preview variables --------------------------------------------------

/** A variable marked as a Keel preview's (its comment is previewVariableComment(pr)). */
export interface VercelPreviewVariableInfo extends VercelEnvVariable {
    pr: number;
}

/** The project's variables that are Keel previews' (by comment), with their pull request; [] when the project is gone. */
export async function listPreviewVariables(client: VercelClient, projectIdOrName: string): Promise<VercelPreviewVariableInfo[]> {
    let vars: VercelEnvVariable[];
    try {
        vars = await listProjectEnv(client, projectIdOrName);
    } catch (err) {
        if (vercelErrorStatus(err) === 404) return [];
        throw err;
    }
    const out: VercelPreviewVariableInfo[] = [];
    for (const v of vars) {
        const pr = prOfVariableComment(v.comment);
        if (pr !== undefined) out.push({ ...v, pr });
    }
    return out;
}

/** Deletes a preview's variable by id; false when it was already gone. */
export async function deletePreviewVariable(client: VercelClient, projectIdOrName: string, id: string): Promise<boolean> {
    return removeProjectEnv(client, projectIdOrName, id);
}
