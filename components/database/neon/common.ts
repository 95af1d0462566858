/**
 * What the Neon dynamic providers share: the API client made from the
 * provider's configuration, progress lines, lookups by name, find-or-create,
 * the refusal to delete protected objects, and connection URLs.
 *
 * The engine serializes each provider with what it captures. The API key is
 * never captured: configure() stores what it reads from the stack's config in
 * a settings object that only exists filled in the provider's own process
 * (configure runs there, after deserialization); otherwise NEON_API_KEY is
 * read when a client is made.
 */
import type { DataGuardInput } from "../../dataGuard";
import type * as pulumi from "@pulumi/pulumi";
import type { Branch, Database, Endpoint, ProjectListItem, Role } from "@neondatabase/api-client";
import { KeelError, protectedDeletionFix } from "../../errors";
import { vendorLog } from "../../providerContext";
import {
    Api,
    isNotFound,
    mayHaveBeenProcessed,
    neonClient,
    neonErrorStatus,
    resolveNeonCredentials,
    WaitOptions,
} from "../../vendors/neon";

export { changed, isUnknown, UNKNOWN } from "../../providerContext";

/** Inputs every Neon resource carries. */
export interface NeonCommonInputs {
    /** The stack that declares the resource, for messages. */
    stack: string;
    /** Stage-aware (true in prod): the provider refuses to delete, unless allowDelete. */
    protect: boolean;
    /** `keel:database.neon.allowDelete`: deleting protected Neon objects is meant. */
    allowDelete: boolean;
    /** On the resources that hold data: the data guard's name and whether it may go (components/dataGuard.ts). */
    dataGuard?: DataGuardInput;
}

/** Refused deletion of a protected Neon object. */
export class NeonProtectedError extends KeelError {
    constructor(message: string) {
        super(message, "NeonProtectedError");
    }
}

export interface NeonContext {
    /** Reads provider config: keel:neonApiKey (and keel:neonApiUrl). */
    configure(req: pulumi.dynamic.ConfigureRequest): Promise<void>;
    /** A client with the key resolved now; throws a NeonCredentialsError saying how to set one. */
    client(): Api;
    wait: WaitOptions;
}

const log = vendorLog("neon");

export function info(message: string): void {
    log.info(message);
}

export function warn(message: string): void {
    log.warn(message);
}

/**
 * One per provider. The settings object starts empty and is filled only by
 * configure(), which the engine calls in the provider's process.
 */
export function neonContext(): NeonContext {
    const settings: { apiKey?: string; apiUrl?: string } = {};
    const wait: WaitOptions = { onProgress: info };
    return {
        async configure(req) {
            settings.apiKey = req.config.get("neonApiKey");
            settings.apiUrl = req.config.get("neonApiUrl");
        },
        client() {
            const creds = resolveNeonCredentials({ configApiKey: settings.apiKey, configApiUrl: settings.apiUrl, env: process.env });
            return neonClient({ apiKey: creds.apiKey, baseUrl: creds.baseUrl, onProgress: info });
        },
        wait,
    };
}

/** undefined for a 404; everything else is thrown. */
export async function orMissing<T>(request: Promise<T>): Promise<T | undefined> {
    try {
        return await request;
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}

/** Every project named exactly `name` (in `orgId`), across pages. */
export async function findProjects(api: Api, name: string, orgId?: string): Promise<ProjectListItem[]> {
    const found: ProjectListItem[] = [];
    const limit = 100;
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
        const { data } = await api.listProjects({
            search: name,
            limit,
            ...(orgId ? { org_id: orgId } : {}),
            ...(cursor ? { cursor } : {}),
        });
        const projects = data.projects ?? [];
        found.push(...projects.filter((p) => p.name === name));
        const next = data.pagination?.cursor;
        if (projects.length < limit || !next || next === cursor) break;
        cursor = next;
    }
    return found;
}

/** Branches named exactly `name`, across pages. */
export async function findBranches(api: Api, projectId: string, name?: string): Promise<Branch[]> {
    const found: Branch[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
        const { data } = await api.listProjectBranches({ projectId, ...(name ? { search: name } : {}), ...(cursor ? { cursor } : {}) });
        found.push(...(data.branches ?? []).filter((b) => name === undefined || b.name === name));
        const next = data.pagination?.next;
        if (!next || next === cursor) break;
        cursor = next;
    }
    return found;
}

/** The branch named `name`, if there is one; several is an error (Keel finds branches by name). */
export async function findBranch(api: Api, projectId: string, name: string): Promise<Branch | undefined> {
    const found = await findBranches(api, projectId, name);
    if (found.length > 1) {
        throw new KeelError(
            `Neon project ${projectId} has ${found.length} branches named '${name}' (${found.map((b) => b.id).join(", ")}); ` +
                `Keel finds branches by name, so rename or delete the extra ones in the Neon console, then run 'pulumi up' again.`,
        );
    }
    return found[0];
}

export async function defaultBranch(api: Api, projectId: string): Promise<Branch> {
    const branch = (await findBranches(api, projectId)).find((b) => b.default);
    if (!branch)
        throw new KeelError(`Neon project ${projectId} has no default branch; set one in the Neon console, then run 'pulumi up' again.`);
    return branch;
}

export async function readWriteEndpoint(api: Api, projectId: string, branchId: string): Promise<Endpoint | undefined> {
    const { data } = await api.listProjectBranchEndpoints(projectId, branchId);
    return (data.endpoints ?? []).find((e) => e.type === "read_write");
}

export async function findRole(api: Api, projectId: string, branchId: string, name: string): Promise<Role | undefined> {
    const { data } = await api.listProjectBranchRoles(projectId, branchId);
    return (data.roles ?? []).find((r) => r.name === name);
}

export async function findDatabase(api: Api, projectId: string, branchId: string, name: string): Promise<Database | undefined> {
    const { data } = await api.listProjectBranchDatabases(projectId, branchId);
    return (data.databases ?? []).find((d) => d.name === name);
}

export interface Found<T> {
    value: T;
    /** It existed before this create (a previous run, the console, or a parent branch made it). */
    adopted: boolean;
    /** This create made it, but the response was lost: found it afterwards. */
    recovered: boolean;
}

/**
 * Finds by name first, creates only when nothing is found, and when a create's
 * response is lost (or it collides with a concurrent one) looks again instead
 * of creating twice.
 */
export async function findOrCreate<T>(what: string, find: () => Promise<T | undefined>, create: () => Promise<T>): Promise<Found<T>> {
    for (let attempt = 1; ; attempt++) {
        const found = await find();
        if (found !== undefined) return { value: found, adopted: attempt === 1, recovered: attempt > 1 };
        try {
            return { value: await create(), adopted: false, recovered: false };
        } catch (err) {
            const lost = mayHaveBeenProcessed(err);
            const conflict = neonErrorStatus(err) === 409;
            if ((!lost && !conflict) || attempt >= 3) throw err;
            info(
                `${what}: ${lost ? "the response to the create request was lost" : "Neon says it exists already"}; looking for it before trying again`,
            );
        }
    }
}

/** Throws, saying how to delete on purpose, when the inputs protect the object. */
export function refuseIfProtected(what: string, props: NeonCommonInputs): void {
    if (!props.protect || props.allowDelete) return;
    const stack = props.stack;
    throw new NeonProtectedError(
        `Refusing to delete ${what}: the ${stack} stack protects its Neon database, which holds its data. ` +
            protectedDeletionFix(stack, "keel:database.neon.allowDelete"),
    );
}

/** `ep-x.region.aws.neon.tech` -> `ep-x-pooler.region.aws.neon.tech` */
export function poolerHost(host: string): string {
    const dot = host.indexOf(".");
    if (dot <= 0) return `${host}-pooler`;
    const first = host.slice(0, dot);
    return first.endsWith("-pooler") ? host : `${first}-pooler${host.slice(dot)}`;
}

export function postgresUrl(user: string, password: string, host: string, database: string): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}/${encodeURIComponent(database)}?sslmode=require`;
}
