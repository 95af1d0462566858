/**
 * What the Neon dynamic providers share: the API client made from the
 * provider's configuration, progress lines, lookups by name, find-or-create,
 * the skeleton of read (gone, drift) and delete (refused if protected, gone
 * counts as deleted, Neon's operations waited for), and connection URLs.
 *
 * The API key is read where configure() put it (the stack's config, in the
 * provider's own process), else from NEON_API_KEY, when a client is made.
 */
import type { DataGuardInput } from "../../dataGuard";
import type * as pulumi from "@pulumi/pulumi";
import type { Branch, Database, Endpoint, Operation, ProjectListItem, Role } from "@neondatabase/api-client";
import { KeelError, protectedDeletionFix } from "../../errors";
import { changed, isUnknown, vendorLog } from "../../providerContext";
import {
    Api,
    isNotFound,
    mayHaveBeenProcessed,
    neonClient,
    neonErrorStatus,
    resolveNeonCredentials,
    waitForOperations,
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

/** What every Neon resource's args carry: NeonCommonInputs as Pulumi inputs. */
export interface NeonCommonArgs {
    stack: pulumi.Input<string>;
    protect: pulumi.Input<boolean>;
    allowDelete: pulumi.Input<boolean>;
}

/** The args of an object that lives on a branch (endpoint, role, database). */
export interface NeonOnBranchArgs extends NeonCommonArgs {
    projectId: pulumi.Input<string>;
    branchId: pulumi.Input<string>;
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

/**
 * The diff of an object on a branch (endpoint, role, database): a new project
 * or branch (or one of `replaceAlso`) replaces it, before the new one is made;
 * `inPlace` and the protection inputs change it in place. An unknown project,
 * branch or one of `unknownChanges` at preview counts as a change.
 */
export function diffOnBranch<I extends NeonCommonInputs & { projectId: string; branchId: string }>(
    olds: I,
    news: I,
    o: { replaceAlso?: (keyof I)[]; inPlace: (keyof I)[]; unknownChanges?: (keyof I)[] },
): pulumi.dynamic.DiffResult {
    const replaces = (["projectId", "branchId", ...(o.replaceAlso ?? [])] as (keyof I)[]).filter((k) => changed(olds[k], news[k]));
    const keys: (keyof I)[] = [...o.inPlace, "stack", "protect", "allowDelete"];
    const changes =
        replaces.length > 0 ||
        (["branchId", "projectId", ...(o.unknownChanges ?? [])] as (keyof I)[]).some((k) => isUnknown(news[k])) ||
        keys.some((k) => changed(olds[k], news[k]));
    return { changes, replaces: replaces.map(String), deleteBeforeReplace: true };
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

/**
 * A read's first step: the object as Neon has it, or undefined after warning
 * that refresh drops it from the state (`how` it went; whether the next up
 * makes it again).
 */
export async function readOrGone<T>(
    what: string,
    request: Promise<T>,
    o: { how?: string; recreated?: boolean } = {},
): Promise<T | undefined> {
    const found = await orMissing(request);
    if (found === undefined) {
        const next = o.recreated === false ? "" : " and the next 'pulumi up' creates it again";
        warn(`${what} no longer exists in Neon (${o.how ?? "deleted outside Keel"}); refresh drops it from the state${next}.`);
    }
    return found;
}

/** Warns of the differences a read found, when there are any. */
export function warnDrift(what: string, drift: string[], note = ""): void {
    if (drift.length) warn(`drift in ${what}${note}:\n  ${drift.join("\n  ")}`);
}

/** The end of a delete: the request (an object already gone counts as deleted), then the operations it started. */
export async function deleteAndWait(
    ctx: NeonContext,
    api: Api,
    projectId: string,
    what: string,
    request: () => Promise<{ data?: unknown }>,
): Promise<void> {
    info(`deleting ${what}`);
    const deleted = await orMissing(request());
    await waitForOperations(api, projectId, (deleted?.data as { operations?: Operation[] } | undefined)?.operations, ctx.wait);
}

/** A whole delete of an object on a branch: refused when the stack protects it, then deleteAndWait. */
export async function deleteUnlessProtected(
    ctx: NeonContext,
    what: string,
    props: NeonCommonInputs & { projectId: string },
    request: (api: Api) => Promise<{ data?: unknown }>,
): Promise<void> {
    refuseIfProtected(what, props);
    const api = ctx.client();
    await deleteAndWait(ctx, api, props.projectId, what, () => request(api));
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
