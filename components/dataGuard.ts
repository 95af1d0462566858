/**
 * The data guard: what holds a stack's data, and the one way to say that it may
 * go. On every stage, a data-holding resource is Pulumi-`protect`ed (the engine
 * refuses to delete or replace it, in preview and in up) unless the stack's
 * `keel:allowDataLoss` names it; Keel's data-holding providers also refuse a
 * replacement themselves in their diff, naming the property that asks for it.
 * `npm run destroy` lifts the guard for the whole stack (scripts/stack.ts).
 * Pure: no Pulumi imports.
 */
import { KeelError } from "./errors";

export const ALLOW_DATA_LOSS_KEY = "keel:allowDataLoss";

/** A resource that holds data, by its name in the stack (the last part of its URN). */
export interface DataHolder {
    name: string;
    /** For messages: "the local PostgreSQL data directory". */
    what: string;
}

/**
 * Every data-holding resource Keel declares, by database kind (the schema
 * resource is one on every kind: it records which migrations ran). The names
 * are the resources' own, as `pulumi preview` shows them.
 */
export function dataHolders(kind: "local" | "docker" | "external" | "neon"): DataHolder[] {
    const schema = { name: "schema-migrations", what: "the schema's migration history and backups" };
    switch (kind) {
        case "local":
            return [{ name: "database-local", what: "the local PostgreSQL server and its data directory" }, schema];
        case "docker":
            return [{ name: "database-docker-data", what: "the Docker volume that holds the database's files" }, schema];
        case "external":
            // A pull request's preview makes a database of its own on the base's server (components/previews/database.ts).
            return [{ name: "database-preview", what: "the preview's database on its base's server" }, schema];
        case "neon":
            return [
                { name: "database-neon-project", what: "the Neon project and every branch in it" },
                { name: "database-neon-branch", what: "the stack's Neon branch and its data" },
                { name: "database-neon-role", what: "the Neon role that owns the database" },
                { name: "database-neon-db", what: "the Neon database" },
                schema,
            ];
    }
}

/** Every data holder, whatever the kind, once each (the schema resource is in every kind's list). */
const ALL_DATA_HOLDERS: readonly DataHolder[] = (["local", "docker", "external", "neon"] as const)
    .flatMap((k) => dataHolders(k))
    .filter((h, i, all) => all.findIndex((o) => o.name === h.name) === i);

/** Every name the guard knows, whatever the kind: what `keel:allowDataLoss` may name. */
export const DATA_HOLDER_NAMES: readonly string[] = ALL_DATA_HOLDERS.map((h) => h.name);

/** The URN's last part: `urn:pulumi:dev::keel::a$b::database-local` -> `database-local`. */
export function nameOfUrn(urn: string): string {
    const at = urn.lastIndexOf("::");
    return at < 0 ? urn : urn.slice(at + 2);
}

export function isDataHolderName(name: string): boolean {
    return DATA_HOLDER_NAMES.includes(name);
}

/** The data holder a resource name stands for, whatever the kind; undefined for anything else. */
export function dataHolderNamed(name: string): DataHolder | undefined {
    return ALL_DATA_HOLDERS.find((h) => h.name === name);
}

/** The two ways out, for every refusal. */
export function dataLossWaysOut(stack: string, name: string): string {
    return (
        `If losing it is meant: npm run pulumi -- config set --path '${ALLOW_DATA_LOSS_KEY}[0]' ${name} --stack ${stack}, ` +
        `then npm run up -- ${stack} (remove the key again afterwards: npm run pulumi -- config rm ${ALLOW_DATA_LOSS_KEY} --stack ${stack}); ` +
        `or remove the whole stack with npm run destroy -- ${stack}.`
    );
}

export interface DataLossRefusal {
    stack: string;
    /** The resource's name in the stack. */
    name: string;
    action: "replace" | "delete";
    /** For a replace: the inputs whose change asks for it. */
    properties?: string[];
}

/** Keel refused to delete or replace a resource that holds data. */
export class DataLossRefusedError extends KeelError {
    constructor(readonly refusal: DataLossRefusal) {
        super(dataLossMessage(refusal), "DataLossRefusedError");
    }
}

export function dataLossMessage(r: DataLossRefusal): string {
    const holder = dataHolderNamed(r.name);
    const what = holder ? `${r.name} (${holder.what})` : r.name;
    const why =
        r.action === "replace"
            ? `the engine would replace it (delete it and create an empty one)${r.properties?.length ? ` because its ${r.properties.join(", ")} changed` : ""}`
            : `the program no longer declares it, so the engine would delete it`;
    const undo =
        r.action === "replace" && r.properties?.length
            ? ` To keep it, change ${r.properties.length === 1 ? "that setting" : "those settings"} back.`
            : r.action === "delete"
              ? " To keep it, declare it again (undo the config change that removed it)."
              : "";
    return `Keel refused to ${r.action} ${what} on the ${r.stack} stack: ${why}, and it holds data; it is left as it is.${undo} ${dataLossWaysOut(r.stack, r.name)}`;
}

/**
 * The data-holding resource an update was refused for, from its error text: Keel's own
 * refusal (a provider's diff) or the engine's (`protect`). Undefined for any other error.
 */
export function dataLossRefusalIn(message: string): { name: string; action: "replace" | "delete" } | undefined {
    const keel = /Keel refused to (replace|delete) (\S+)/.exec(message);
    if (keel && isDataHolderName(keel[2])) return { name: keel[2], action: keel[1] as "replace" | "delete" };
    const engine = protectRefusalIn(message);
    return engine ? { name: nameOfUrn(engine.urn), action: engine.action } : undefined;
}

/**
 * Reads the engine's own refusal of a protected resource (a diagnostic of the
 * update) as Keel's: which resource, deleted or replaced. Undefined for any
 * other message.
 */
export function protectRefusalIn(message: string): { urn: string; action: "replace" | "delete" } | undefined {
    const replace = /unable to replace resource "([^"]+)"/.exec(message);
    if (replace) return { urn: replace[1], action: "replace" };
    const del = /resource "([^"]+)" cannot be deleted/.exec(message);
    if (del) return { urn: del[1], action: "delete" };
    return undefined;
}

/** The input every data-holding dynamic resource carries: its name in the guard, and whether it may go. */
export interface DataGuardInput {
    name: string;
    allowed: boolean;
}

interface DiffResult {
    changes?: boolean;
    replaces?: string[];
}

/**
 * A data-holding provider whose diff refuses a replacement the stack has not
 * allowed: before any step, in preview and in up, naming the properties. (Pulumi's
 * `protect` refuses it too, later and in its own words; this says why and what to do.)
 */
export function guardsData<P extends { diff?: (id: string, olds: any, news: any) => Promise<DiffResult> }>(provider: P): P {
    const diff = provider.diff;
    if (!diff) return provider;
    return {
        ...provider,
        diff: async (id: string, olds: any, news: any) => {
            const result = await diff(id, olds, news);
            const guard = news?.dataGuard as DataGuardInput | undefined;
            if (result.replaces?.length && guard && !guard.allowed) {
                throw new DataLossRefusedError({
                    stack: String(news.stack ?? ""),
                    name: guard.name,
                    action: "replace",
                    properties: result.replaces,
                });
            }
            return result;
        },
    };
}

/** A resource's guard input, from the names the stack allows to go. */
export function dataGuardFor(name: string, allowDataLoss: readonly string[]): DataGuardInput {
    return { name, allowed: allowDataLoss.includes(name) };
}
