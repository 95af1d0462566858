/**
 * What of prod a preview must never reach, as the project's stack files tell
 * it: each prod-stage stack's Fly app, Render service, Neon branch (with its
 * project) and, where the file holds it in plain text, its database server.
 * Read from Pulumi.<stack>.yaml with the program's own defaults for unset
 * names. Secret values stay encrypted in the files, so a prod database URL set
 * as a secret (the usual case) is not known here: the policy config's
 * `prodDatabaseServers` names such servers. Absent or unreadable files give
 * nothing rather than an error: the rule then checks what it can without them.
 * No Pulumi imports.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { stacksIn } from "../components/config/context";
import { stageOf } from "../components/config/stage";
import { physicalName } from "../components/naming";

export interface ProdStack {
    stack: string;
    flyApps: string[];
    renderServices: string[];
    /** The stack's Neon branch and the project it is in. */
    neonBranches: { project: string; branch: string }[];
    /** `host:port` of a database URL given in plain text. */
    databaseServers: string[];
}

/** `host:port` (port 5432 when the URL names none) of a PostgreSQL URL; undefined when it is not one. */
export function databaseServer(url: unknown): string | undefined {
    if (typeof url !== "string") return undefined;
    try {
        const u = new URL(url);
        if (!/^postgres(ql)?:$/.test(u.protocol) || !u.hostname) return undefined;
        return `${u.hostname.toLowerCase()}:${u.port || "5432"}`;
    } catch {
        return undefined;
    }
}

/** A server as the policy config names it: `host`, `host:port` or a URL. */
export function normalizeServer(server: string): string | undefined {
    if (server.includes("://")) return databaseServer(server);
    const m = /^([^:/\s]+)(?::(\d+))?$/.exec(server.trim());
    return m ? `${m[1].toLowerCase()}:${m[2] ?? "5432"}` : undefined;
}

function readYaml(file: string): any {
    try {
        return parseYaml(fs.readFileSync(file, "utf8")) ?? {};
    } catch {
        return undefined;
    }
}

const obj = (v: unknown): Record<string, any> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as any) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export function projectNameIn(root: string): string {
    return str(readYaml(path.join(root, "Pulumi.yaml"))?.name) ?? "keel";
}

/** A stack file's config, undefined when the file is absent or unreadable. */
export function stackFileConfig(root: string, stack: string): Record<string, any> | undefined {
    for (const ext of ["yaml", "yml"]) {
        const file = path.join(root, `Pulumi.${stack}.${ext}`);
        if (!fs.existsSync(file)) continue;
        const doc = readYaml(file);
        return doc === undefined ? undefined : obj(doc.config);
    }
    return undefined;
}

/** The Neon project a stack's database is in (its configured name or the program's default); undefined when not Neon. */
export function neonProjectOf(config: Record<string, any>, project: string): string | undefined {
    const db = obj(config["keel:database"]);
    if (db.kind !== "neon") return undefined;
    return str(obj(obj(db.neon).project).name) ?? physicalName("neonProject", project);
}

/** What one stack file names (the program's defaults as components/config gives them). */
export function namesOf(stack: string, stage: string, config: Record<string, any>, project: string): ProdStack {
    const out: ProdStack = { stack, flyApps: [], renderServices: [], neonBranches: [], databaseServers: [] };
    const backend = obj(config["keel:backend"]);
    if (backend.kind === "fly" || backend.fly) out.flyApps.push(str(obj(backend.fly).app) ?? physicalName("flyApp", project, stack));
    if (backend.kind === "render" || backend.render)
        out.renderServices.push(str(obj(backend.render).name) ?? physicalName("renderService", project, stack));
    const neonProject = neonProjectOf(config, project);
    if (neonProject) {
        const neon = obj(obj(config["keel:database"]).neon);
        const owned = (str(obj(neon.project).ownedBy) ?? "prod") === stage;
        out.neonBranches.push({ project: neonProject, branch: str(obj(neon.branch).name) ?? (owned ? "main" : stack) });
    }
    // A secret URL is `{ secure: ... }` in the file: not readable, so not known.
    const server = databaseServer(config["keel:databaseUrl"]);
    if (server) out.databaseServers.push(server);
    return out;
}

/**
 * The prod-stage stacks of the project at `root`: keel:stage prod, or named prod,
 * or (as the policy pack judges them) of no stage at all; never a preview.
 */
export function prodStacksIn(root: string): ProdStack[] {
    let stacks: string[];
    try {
        stacks = stacksIn(root);
    } catch {
        return [];
    }
    const project = projectNameIn(root);
    const out: ProdStack[] = [];
    for (const stack of stacks) {
        const config = stackFileConfig(root, stack);
        if (!config) continue;
        const configured = config["keel:stage"];
        const stage = stageOf(stack, typeof configured === "string" ? configured : undefined) ?? "prod";
        if (stage === "prod") out.push(namesOf(stack, stage, config, project));
    }
    return out;
}
