/**
 * What the Render web service provider sends and compares, as pure functions
 * (no Pulumi, no network): the create body, the update patch that takes a
 * live service to the inputs (and the patch that takes it back), the diff
 * between two sets of inputs, drift between a live service (and its env vars)
 * and the inputs, and a digest of the env var values.
 *
 * Env var VALUES never appear in anything this module returns as text: drift
 * and diffs name keys only.
 */
import { createHash } from "crypto";
import { changed, isUnknown } from "../../providerContext";
import type { EnvVar, EnvVarInput, Service, ServiceCreate, ServiceUpdate } from "../../vendors/render";

export type RenderSource =
    | { kind: "image"; image: string; registryCredentialId?: string }
    | { kind: "repo"; repo: string; branch: string; dockerfilePath?: string; dockerContext?: string };

export interface RenderServiceInputs {
    name: string;
    stack: string;
    protect: boolean;
    allowDelete: boolean;
    ownerId: string;
    source: RenderSource;
    /** starter | standard | pro ... */
    plan: string;
    /** oregon | frankfurt | ohio | virginia | singapore */
    region: string;
    numInstances: number;
    healthCheckPath: string;
    preDeployCommand?: string;
    /** The WHOLE set, including secret values. */
    envVars: Record<string, string>;
    deployTimeoutSeconds: number;
}

export interface RenderServiceOutputs extends RenderServiceInputs {
    serviceId: string;
    /** serviceDetails.url, https://<slug>.onrender.com */
    url: string;
    deployId: string;
    deployStatus: string;
    /** sha256 over the sorted key/value pairs: detects dashboard edits without storing live values. */
    envDigest: string;
    suspended: boolean;
    drift: string[];
}

export const RENDER_PLANS = ["starter", "standard", "pro", "pro_plus", "pro_max", "pro_ultra"];
export const RENDER_REGIONS = ["oregon", "frankfurt", "ohio", "virginia", "singapore"];

/** Inputs whose change replaces the service (deleted first: names are unique per owner). */
export const REPLACE_KEYS = ["name", "ownerId", "source.kind", "region"];

// ---- env vars ------------------------------------------------------------------

/** The env vars as Render's list, sorted by key. */
export function envVarList(envVars: Record<string, string>): EnvVarInput[] {
    return Object.keys(envVars)
        .sort()
        .map((key) => ({ key, value: envVars[key] }));
}

/** Render's list as a record (a key listed twice: the last wins, as Render keeps it). */
export function envVarRecord(list: EnvVar[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const v of list) out[v.key] = v.value;
    return out;
}

/**
 * `sha256:<hex>` over the sorted [key, value] pairs (JSON-encoded, so no value
 * can imitate a separator). Stored in the state instead of the live values.
 */
export function envDigest(envVars: Record<string, string>): string {
    const pairs = Object.keys(envVars)
        .sort()
        .map((k) => [k, envVars[k]]);
    return `sha256:${createHash("sha256").update(JSON.stringify(pairs)).digest("hex")}`;
}

export interface EnvDiff {
    added: string[];
    removed: string[];
    changed: string[];
}

/** Keys only: which keys `live` has that `want` lacks (added), lacks (removed), or holds another value for (changed). */
export function envDiff(want: Record<string, string>, live: Record<string, string>): EnvDiff {
    const has = (o: Record<string, string>, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    return {
        added: Object.keys(live)
            .filter((k) => !has(want, k))
            .sort(),
        removed: Object.keys(want)
            .filter((k) => !has(live, k))
            .sort(),
        changed: Object.keys(want)
            .filter((k) => has(live, k) && live[k] !== want[k])
            .sort(),
    };
}

export function envDiffEmpty(d: EnvDiff): boolean {
    return d.added.length + d.removed.length + d.changed.length === 0;
}

/** `added A, B; removed C; changed D (values not shown)` */
export function describeEnvDiff(d: EnvDiff, addedLabel = "added", removedLabel = "removed"): string {
    const parts: string[] = [];
    if (d.added.length) parts.push(`${addedLabel} ${d.added.join(", ")}`);
    if (d.removed.length) parts.push(`${removedLabel} ${d.removed.join(", ")}`);
    if (d.changed.length) parts.push(`changed ${d.changed.join(", ")}`);
    return `${parts.join("; ")} (values not shown)`;
}

// ---- the live service, read the way the inputs are written ----------------------

export interface LiveSettings {
    plan?: string;
    region?: string;
    numInstances?: number;
    healthCheckPath: string;
    preDeployCommand: string;
    source:
        { kind: "image"; image: string } | { kind: "repo"; repo: string; branch: string; dockerfilePath?: string; dockerContext?: string };
}

/** Render reports `./Dockerfile` and `.` for what was left out. */
const DEFAULT_DOCKERFILE = "./Dockerfile";
const DEFAULT_CONTEXT = ".";

function normDockerfile(p: string | undefined): string {
    if (!p) return DEFAULT_DOCKERFILE;
    return p.startsWith("./") || p.startsWith("/") ? p : `./${p}`;
}

function normContext(p: string | undefined): string {
    if (!p || p === "./") return DEFAULT_CONTEXT;
    return p;
}

function normRepo(r: string | undefined): string {
    return (r ?? "").replace(/\.git$/, "").replace(/\/+$/, "");
}

export function liveSettings(service: Service): LiveSettings {
    const d = service.serviceDetails ?? {};
    const env = (d.envSpecificDetails ?? {}) as Record<string, unknown>;
    const runtime = d.runtime ?? d.env;
    const source: LiveSettings["source"] =
        runtime === "image" || (service.imagePath && !service.repo)
            ? { kind: "image", image: service.imagePath ?? "" }
            : {
                  kind: "repo",
                  repo: service.repo ?? "",
                  branch: service.branch ?? "",
                  dockerfilePath: typeof env.dockerfilePath === "string" ? env.dockerfilePath : undefined,
                  dockerContext: typeof env.dockerContext === "string" ? env.dockerContext : undefined,
              };
    const pre =
        typeof env.preDeployCommand === "string" ? env.preDeployCommand : typeof d.preDeployCommand === "string" ? d.preDeployCommand : "";
    return {
        plan: d.plan,
        region: d.region,
        numInstances: d.numInstances,
        healthCheckPath: typeof d.healthCheckPath === "string" ? d.healthCheckPath : "",
        preDeployCommand: pre,
        source,
    };
}

// ---- bodies ------------------------------------------------------------------------

/** The create-service body: a web service from an image (runtime image) or a repository's Dockerfile (runtime docker), never auto-deployed. */
export function createBody(inputs: RenderServiceInputs): ServiceCreate {
    const src = inputs.source;
    const serviceDetails: Record<string, unknown> = {
        runtime: src.kind === "image" ? "image" : "docker",
        plan: inputs.plan,
        region: inputs.region,
        numInstances: inputs.numInstances,
        healthCheckPath: inputs.healthCheckPath,
        ...(inputs.preDeployCommand ? { preDeployCommand: inputs.preDeployCommand } : {}),
    };
    if (src.kind === "repo" && (src.dockerfilePath || src.dockerContext)) {
        serviceDetails.envSpecificDetails = {
            ...(src.dockerfilePath ? { dockerfilePath: src.dockerfilePath } : {}),
            ...(src.dockerContext ? { dockerContext: src.dockerContext } : {}),
        };
    }
    return {
        type: "web_service",
        name: inputs.name,
        ownerId: inputs.ownerId,
        autoDeploy: "no",
        ...(src.kind === "image"
            ? {
                  image: {
                      ownerId: inputs.ownerId,
                      imagePath: src.image,
                      ...(src.registryCredentialId ? { registryCredentialId: src.registryCredentialId } : {}),
                  },
              }
            : { repo: src.repo, branch: src.branch }),
        envVars: envVarList(inputs.envVars),
        serviceDetails,
    };
}

/**
 * The update-service body that takes the live service to the inputs (only
 * what differs), or undefined when nothing does. numInstances is not in it:
 * Render scales with POST /services/{id}/scale. `olds` adds what the live
 * service does not show (the registry credential).
 */
export function settingsPatch(service: Service, inputs: RenderServiceInputs, olds?: RenderServiceInputs): ServiceUpdate | undefined {
    const live = liveSettings(service);
    const patch: ServiceUpdate = {};
    const details: Record<string, unknown> = {};
    const src = inputs.source;
    // Renamed in the dashboard: Keel finds services by name, so put the name back.
    if (service.name !== inputs.name) patch.name = inputs.name;
    if (service.autoDeploy !== "no") patch.autoDeploy = "no";
    if (src.kind === "image" && live.source.kind === "image") {
        const oldCred = olds?.source.kind === "image" ? olds.source.registryCredentialId : undefined;
        if (live.source.image !== src.image || (olds && (oldCred ?? "") !== (src.registryCredentialId ?? ""))) {
            patch.image = {
                ownerId: inputs.ownerId,
                imagePath: src.image,
                ...(src.registryCredentialId ? { registryCredentialId: src.registryCredentialId } : {}),
            };
        }
    }
    if (src.kind === "repo" && live.source.kind === "repo") {
        if (normRepo(live.source.repo) !== normRepo(src.repo)) patch.repo = src.repo;
        if (live.source.branch !== src.branch) patch.branch = src.branch;
        const env: Record<string, string> = {};
        if (normDockerfile(live.source.dockerfilePath) !== normDockerfile(src.dockerfilePath))
            env.dockerfilePath = src.dockerfilePath || DEFAULT_DOCKERFILE;
        if (normContext(live.source.dockerContext) !== normContext(src.dockerContext))
            env.dockerContext = src.dockerContext || DEFAULT_CONTEXT;
        if (Object.keys(env).length) details.envSpecificDetails = env;
    }
    if (live.plan !== inputs.plan) details.plan = inputs.plan;
    if (live.healthCheckPath !== inputs.healthCheckPath) details.healthCheckPath = inputs.healthCheckPath;
    if (live.preDeployCommand !== (inputs.preDeployCommand ?? "")) details.preDeployCommand = inputs.preDeployCommand ?? "";
    if (Object.keys(details).length) patch.serviceDetails = details;
    return Object.keys(patch).length ? patch : undefined;
}

/** The update-service body that puts back, from `before`, every field `patch` changed (after a failed deploy). */
export function revertPatch(before: Service, patch: ServiceUpdate): ServiceUpdate | undefined {
    const live = liveSettings(before);
    const out: ServiceUpdate = {};
    // autoDeploy stays "no": Keel deploys, also after a failure.
    if (patch.image && live.source.kind === "image") out.image = { ...patch.image, imagePath: live.source.image };
    if (patch.repo !== undefined && before.repo) out.repo = before.repo;
    if (patch.branch !== undefined && before.branch) out.branch = before.branch;
    const d = (patch.serviceDetails ?? {}) as Record<string, any>;
    const details: Record<string, unknown> = {};
    if (d.plan !== undefined && live.plan) details.plan = live.plan;
    if (d.healthCheckPath !== undefined) details.healthCheckPath = live.healthCheckPath;
    if (d.preDeployCommand !== undefined) details.preDeployCommand = live.preDeployCommand;
    if (d.envSpecificDetails && live.source.kind === "repo") {
        const env: Record<string, string> = {};
        if (d.envSpecificDetails.dockerfilePath !== undefined) env.dockerfilePath = live.source.dockerfilePath || DEFAULT_DOCKERFILE;
        if (d.envSpecificDetails.dockerContext !== undefined) env.dockerContext = live.source.dockerContext || DEFAULT_CONTEXT;
        details.envSpecificDetails = env;
    }
    if (Object.keys(details).length) out.serviceDetails = details;
    return Object.keys(out).length ? out : undefined;
}

/** Field names a patch changes, for progress lines (never values of env vars: a patch holds none). */
export function describePatch(patch: ServiceUpdate): string[] {
    const out: string[] = [];
    for (const k of ["name", "autoDeploy", "image", "repo", "branch"] as const) if (patch[k] !== undefined) out.push(k);
    for (const [k, v] of Object.entries(patch.serviceDetails ?? {})) {
        if (k === "envSpecificDetails" && v && typeof v === "object") out.push(...Object.keys(v));
        else out.push(k);
    }
    return out;
}

// ---- diff ------------------------------------------------------------------------

/** Whether any env var value is unknown (preview): nothing can be compared then. */
function envUnknown(envVars: Record<string, string> | undefined): boolean {
    return isUnknown(envVars) || Object.values(envVars ?? {}).some(isUnknown);
}

export interface ServiceDiff {
    changes: boolean;
    replaces: string[];
    /** Inputs that changed (dotted for the source; `envVars` for any key or value), never values. */
    updates: string[];
}

/**
 * What `pulumi up` would do: name, ownerId, the kind of source and region
 * replace; everything else updates. Env vars are compared as values (the
 * whole set), and also against the digest read from Render at the last
 * refresh, so a dashboard edit is put back.
 */
export function diffInputs(olds: RenderServiceOutputs | RenderServiceInputs, news: RenderServiceInputs): ServiceDiff {
    const replaces: string[] = [];
    const updates: string[] = [];
    if (changed(olds.name, news.name)) replaces.push("name");
    if (changed(olds.ownerId, news.ownerId)) replaces.push("ownerId");
    if (changed(olds.region, news.region)) replaces.push("region");
    const os = (olds.source ?? {}) as Partial<Record<string, unknown>>;
    const ns = (news.source ?? {}) as Partial<Record<string, unknown>>;
    if (isUnknown(news.source)) updates.push("source");
    else if (changed(os.kind, ns.kind)) replaces.push("source.kind");
    else
        for (const k of ["image", "registryCredentialId", "repo", "branch", "dockerfilePath", "dockerContext"])
            if (changed(os[k], ns[k])) updates.push(`source.${k}`);
    for (const k of ["plan", "numInstances", "healthCheckPath", "stack", "protect", "allowDelete", "deployTimeoutSeconds"] as const) {
        if (changed(olds[k], news[k])) updates.push(k);
    }
    if (changed(olds.preDeployCommand ?? "", news.preDeployCommand ?? "")) updates.push("preDeployCommand");
    if (envUnknown(news.envVars)) updates.push("envVars");
    else {
        const want = envDigest(news.envVars ?? {});
        const recorded = (olds as Partial<RenderServiceOutputs>).envDigest;
        if (envDigest(olds.envVars ?? {}) !== want || (recorded !== undefined && recorded !== want)) updates.push("envVars");
    }
    return { changes: replaces.length + updates.length > 0, replaces, updates };
}

/** Changes that touch Render only as Keel's bookkeeping (nothing to send). */
export const BOOKKEEPING_KEYS = ["stack", "protect", "allowDelete", "deployTimeoutSeconds"];

// ---- drift -----------------------------------------------------------------------

/**
 * What changed in Render since the inputs were applied: settings (old -> new,
 * safe to show), suspension, and env var keys added, removed or changed in
 * the dashboard (keys only).
 */
export function serviceDrift(props: RenderServiceInputs, service: Service, liveEnv: Record<string, string>): string[] {
    const drift: string[] = [];
    const live = liveSettings(service);
    if (service.name !== props.name)
        drift.push(
            `~ name: '${props.name}' -> '${service.name}' (renamed outside Keel; Keel finds the service by name: the next update renames it back)`,
        );
    if (service.suspended === "suspended") {
        drift.push(
            `~ suspended: by ${service.suspenders?.length ? service.suspenders.join(", ") : "someone"} (resume it in the Render dashboard; deploys fail while it is suspended)`,
        );
    }
    if (live.plan !== undefined && live.plan !== props.plan) drift.push(`~ plan: '${props.plan}' -> '${live.plan}'`);
    if (live.numInstances !== undefined && live.numInstances !== props.numInstances)
        drift.push(`~ numInstances: ${props.numInstances} -> ${live.numInstances}`);
    if (live.healthCheckPath !== props.healthCheckPath)
        drift.push(`~ healthCheckPath: '${props.healthCheckPath}' -> '${live.healthCheckPath}'`);
    if (live.preDeployCommand !== (props.preDeployCommand ?? ""))
        drift.push(`~ preDeployCommand: '${props.preDeployCommand ?? ""}' -> '${live.preDeployCommand}'`);
    const src = props.source;
    if (live.source.kind !== src.kind) drift.push(`~ source: ${src.kind} -> ${live.source.kind}`);
    else if (src.kind === "image" && live.source.kind === "image") {
        if (live.source.image !== src.image) drift.push(`~ source.image: '${src.image}' -> '${live.source.image}'`);
    } else if (src.kind === "repo" && live.source.kind === "repo") {
        if (normRepo(live.source.repo) !== normRepo(src.repo)) drift.push(`~ source.repo: '${src.repo}' -> '${live.source.repo}'`);
        if (live.source.branch !== src.branch) drift.push(`~ source.branch: '${src.branch}' -> '${live.source.branch}'`);
        if (normDockerfile(live.source.dockerfilePath) !== normDockerfile(src.dockerfilePath))
            drift.push(
                `~ source.dockerfilePath: '${normDockerfile(src.dockerfilePath)}' -> '${normDockerfile(live.source.dockerfilePath)}'`,
            );
        if (normContext(live.source.dockerContext) !== normContext(src.dockerContext))
            drift.push(`~ source.dockerContext: '${normContext(src.dockerContext)}' -> '${normContext(live.source.dockerContext)}'`);
    }
    if (service.autoDeploy !== "no")
        drift.push(`~ autoDeploy: 'no' -> '${service.autoDeploy}' (Render now deploys on its own; Keel deploys)`);
    const env = envDiff(props.envVars ?? {}, liveEnv);
    if (!envDiffEmpty(env)) drift.push(`~ envVars: ${describeEnvDiff(env, "added in the dashboard:", "removed in the dashboard:")}`);
    return drift;
}

/**
 * The inputs as Render now has them (for the state after a refresh, so the
 * next `pulumi up` puts back what was changed in the dashboard). Env var
 * values are NOT taken: the state keeps the inputs' set, and the digest of the
 * live set tells the next diff that they differ. Name and region are not taken
 * either: a different value there would replace (delete) the service.
 */
export function inputsFromLive(props: RenderServiceInputs, service: Service): RenderServiceInputs {
    const live = liveSettings(service);
    const out: RenderServiceInputs = { ...props };
    if (live.plan !== undefined) out.plan = live.plan;
    if (live.numInstances !== undefined) out.numInstances = live.numInstances;
    out.healthCheckPath = live.healthCheckPath;
    if (live.preDeployCommand || props.preDeployCommand !== undefined) out.preDeployCommand = live.preDeployCommand;
    if (props.source.kind === "image" && live.source.kind === "image") out.source = { ...props.source, image: live.source.image };
    if (props.source.kind === "repo" && live.source.kind === "repo") {
        out.source = {
            ...props.source,
            repo: normRepo(live.source.repo) === normRepo(props.source.repo) ? props.source.repo : live.source.repo,
            branch: live.source.branch,
            ...(normDockerfile(live.source.dockerfilePath) !== normDockerfile(props.source.dockerfilePath)
                ? { dockerfilePath: live.source.dockerfilePath }
                : {}),
            ...(normContext(live.source.dockerContext) !== normContext(props.source.dockerContext)
                ? { dockerContext: live.source.dockerContext }
                : {}),
        };
    }
    return out;
}

// ---- check ---------------------------------------------------------------------

export interface InputProblem {
    property: string;
    reason: string;
}

/** Input problems; unknown values (preview) are not judged. */
export function checkInputs(inputs: RenderServiceInputs): InputProblem[] {
    const problems: InputProblem[] = [];
    const known = (v: unknown) => v !== undefined && !isUnknown(v);
    const str = (k: "name" | "ownerId" | "stack", what: string) => {
        if (known(inputs[k]) && (typeof inputs[k] !== "string" || !inputs[k])) problems.push({ property: k, reason: `expected ${what}` });
    };
    str("name", "the service's name");
    str("ownerId", "the Render workspace (owner) id, tea-…");
    if (known(inputs.plan) && !RENDER_PLANS.includes(inputs.plan))
        problems.push({ property: "plan", reason: `'${inputs.plan}' is not a Render plan: one of ${RENDER_PLANS.join(", ")}` });
    if (known(inputs.region) && !RENDER_REGIONS.includes(inputs.region))
        problems.push({ property: "region", reason: `'${inputs.region}' is not a Render region: one of ${RENDER_REGIONS.join(", ")}` });
    if (known(inputs.numInstances) && (!Number.isInteger(inputs.numInstances) || inputs.numInstances < 1))
        problems.push({ property: "numInstances", reason: "expected a whole number of instances, at least 1" });
    if (known(inputs.healthCheckPath) && (typeof inputs.healthCheckPath !== "string" || !inputs.healthCheckPath.startsWith("/"))) {
        problems.push({ property: "healthCheckPath", reason: "expected a path starting with '/', for example /healthz" });
    }
    if (known(inputs.deployTimeoutSeconds) && !(typeof inputs.deployTimeoutSeconds === "number" && inputs.deployTimeoutSeconds > 0)) {
        problems.push({ property: "deployTimeoutSeconds", reason: "expected a positive number of seconds" });
    }
    const src = inputs.source as RenderSource | undefined;
    if (known(src)) {
        if (!src || (src.kind !== "image" && src.kind !== "repo"))
            problems.push({ property: "source", reason: "expected { kind: 'image', image } or { kind: 'repo', repo, branch }" });
        else if (src.kind === "image" && known(src.image) && (typeof src.image !== "string" || !src.image))
            problems.push({ property: "source.image", reason: "expected an image reference, for example ghcr.io/acme/api:1.2.3" });
        else if (src.kind === "repo") {
            if (known(src.repo) && (typeof src.repo !== "string" || !/^https:\/\//.test(src.repo)))
                problems.push({ property: "source.repo", reason: "expected the repository's https URL, without the branch" });
            if (known(src.branch) && (typeof src.branch !== "string" || !src.branch))
                problems.push({ property: "source.branch", reason: "expected a branch name" });
        }
    }
    if (known(inputs.envVars)) {
        if (!inputs.envVars || typeof inputs.envVars !== "object")
            problems.push({ property: "envVars", reason: "expected a map of names to values" });
        else {
            for (const [k, v] of Object.entries(inputs.envVars)) {
                if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k))
                    problems.push({ property: "envVars", reason: `'${k}' is not a usable environment variable name` });
                // The value is never named: it may be a secret.
                else if (known(v) && typeof v !== "string")
                    problems.push({ property: "envVars", reason: `the value of ${k} must be a string` });
            }
        }
    }
    return problems;
}

/** The Render dashboard page with a deploy's logs. */
export function deployLogsUrl(serviceId: string, deployId: string): string {
    return `https://dashboard.render.com/web/${serviceId}/deploys/${deployId}`;
}
