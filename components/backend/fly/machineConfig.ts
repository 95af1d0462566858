/**
 * The pure half of the Fly machines deploy (no Pulumi, no HTTP): the inputs'
 * shape, the fly MachineConfig built from them (with the metadata flyctl needs
 * to recognize the machines: `fly status`, `fly logs` and `fly deploy` still
 * work on them), the comparison of a live machine's config with the desired
 * one (drift), and the plan of which machines to keep, create and destroy per
 * region.
 */
import type { Machine, MachineConfig, MachineService } from "../../vendors/fly";

export interface FlyMachinesInputs {
    app: string;
    stack: string;
    /** metadata fly_process_group, e.g. "app". */
    processGroup: string;
    image: string;
    regions: { region: string; count: number }[];
    guest: { cpuKind: "shared" | "performance"; cpus: number; memoryMb: number };
    /** Plain env (secrets go through app secrets, not here). */
    env: Record<string, string>;
    service: {
        internalPort: number;
        autostop: "off" | "stop" | "suspend";
        autostart: boolean;
        minMachinesRunning: number;
        forceHttps: boolean;
    };
    healthCheck: { path: string; intervalSeconds: number; timeoutSeconds: number; gracePeriodSeconds: number };
    restart: { policy: "no" | "always" | "on-failure"; maxRetries?: number };
    strategy: "rolling" | "bluegreen" | "immediate";
    /** From FlySecrets; sent as min_secrets_version; a change rolls the machines. */
    secretsVersion?: number;
    /** Per machine: start + checks passing. */
    healthTimeoutSeconds: number;
}

export interface FlyMachineRecord {
    id: string;
    name: string;
    region: string;
    instanceId: string;
    state: string;
}

/** The metadata keys Keel sets (the fly_* ones are flyctl's). */
export const META = {
    platformVersion: "fly_platform_version",
    processGroup: "fly_process_group",
    releaseVersion: "fly_release_version",
    stack: "keel_stack",
    managed: "keel_managed",
} as const;

/** The name of the machine's top-level health check. */
export const HEALTH_CHECK = "http-health";

/** Inputs that go into the machine config (and so roll the machines when they change). */
export const CONFIG_INPUTS: (keyof FlyMachinesInputs)[] = [
    "app",
    "stack",
    "processGroup",
    "image",
    "guest",
    "env",
    "service",
    "healthCheck",
    "restart",
    "secretsVersion",
];

/** `15s` */
export function seconds(n: number): string {
    return `${n}s`;
}

/** `app-iad-1` */
export function machineName(processGroup: string, region: string, n: number): string {
    return `${processGroup}-${region}-${n}`;
}

/** The n of `<processGroup>-<region>-<n>`, if the name has that form. */
export function machineNumber(name: string | undefined, processGroup: string, region: string): number | undefined {
    const prefix = `${processGroup}-${region}-`;
    if (!name || !name.startsWith(prefix)) return undefined;
    const rest = name.slice(prefix.length);
    return /^[1-9]\d*$/.test(rest) ? Number(rest) : undefined;
}

/** The fly MachineConfig for these inputs at this release. */
export function buildMachineConfig(inputs: FlyMachinesInputs, releaseVersion: number): MachineConfig {
    const hc = inputs.healthCheck;
    const port = inputs.service.internalPort;
    const service: MachineService = {
        protocol: "tcp",
        internal_port: port,
        ports: [
            { port: 80, handlers: ["http"], force_https: inputs.service.forceHttps },
            { port: 443, handlers: ["tls", "http"] },
        ],
        autostop: inputs.service.autostop,
        autostart: inputs.service.autostart,
        min_machines_running: inputs.service.minMachinesRunning,
        // The proxy's own check: it routes only to machines that pass it.
        checks: [
            {
                type: "http",
                interval: seconds(hc.intervalSeconds),
                timeout: seconds(hc.timeoutSeconds),
                grace_period: seconds(hc.gracePeriodSeconds),
                method: "GET",
                path: hc.path,
                protocol: "http",
            },
        ],
    };
    return {
        image: inputs.image,
        env: { ...inputs.env },
        guest: { cpu_kind: inputs.guest.cpuKind, cpus: inputs.guest.cpus, memory_mb: inputs.guest.memoryMb },
        services: [service],
        checks: {
            [HEALTH_CHECK]: {
                type: "http",
                port,
                method: "GET",
                path: hc.path,
                interval: seconds(hc.intervalSeconds),
                timeout: seconds(hc.timeoutSeconds),
                grace_period: seconds(hc.gracePeriodSeconds),
            },
        },
        restart: {
            policy: inputs.restart.policy,
            ...(inputs.restart.maxRetries !== undefined && inputs.restart.policy === "on-failure"
                ? { max_retries: inputs.restart.maxRetries }
                : {}),
        },
        metadata: {
            [META.platformVersion]: "v2",
            [META.processGroup]: inputs.processGroup,
            [META.releaseVersion]: String(releaseVersion),
            [META.stack]: inputs.stack,
            [META.managed]: "true",
        },
    };
}

/** Machines that are gone or going. */
export function isGone(machine: Pick<Machine, "state">): boolean {
    return machine.state === "destroyed" || machine.state === "destroying";
}

/** A live machine of the process group (whoever made it). */
export function inProcessGroup(machine: Machine, processGroup: string): boolean {
    return !isGone(machine) && machine.config?.metadata?.[META.processGroup] === processGroup;
}

/** A live machine Keel deployed (keel_managed) in the process group. */
export function isManaged(machine: Machine, processGroup: string): boolean {
    return inProcessGroup(machine, processGroup) && machine.config?.metadata?.[META.managed] === "true";
}

/** The release a machine was deployed at (0 when it carries none). */
export function releaseOf(machine: Machine): number {
    const n = Number(machine.config?.metadata?.[META.releaseVersion]);
    return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** "off" | "stop" | "suspend" from the API's string or its older booleans. */
export function normalizeAutostop(value: unknown): string {
    if (value === true) return "stop";
    if (value === false || value === undefined || value === null) return "off";
    return String(value);
}

const q = (v: unknown): string => (v === undefined ? "(none)" : typeof v === "string" ? `'${v}'` : JSON.stringify(v));

function compare(out: string[], what: string, want: unknown, have: unknown): void {
    if (JSON.stringify(want ?? null) !== JSON.stringify(have ?? null)) out.push(`${what}: ${q(want)} -> ${q(have)}`);
}

/**
 * How a live machine's config differs from the desired one, as
 * `image: 'wanted' -> 'live'` lines; empty when it matches. The release
 * version is left out (every rollout changes it), and so is what Fly adds by
 * itself (FLY_* env, defaults of other keys).
 */
export function configDrift(live: MachineConfig | undefined, desired: MachineConfig): string[] {
    const out: string[] = [];
    const l = live ?? {};
    compare(out, "image", desired.image, l.image);
    compare(out, "guest.cpu_kind", desired.guest?.cpu_kind, l.guest?.cpu_kind);
    compare(out, "guest.cpus", desired.guest?.cpus, l.guest?.cpus);
    compare(out, "guest.memory_mb", desired.guest?.memory_mb, l.guest?.memory_mb);
    const wantEnv = desired.env ?? {};
    const haveEnv = l.env ?? {};
    for (const k of Object.keys(wantEnv).sort()) compare(out, `env.${k}`, wantEnv[k], haveEnv[k]);
    for (const k of Object.keys(haveEnv).sort())
        if (!(k in wantEnv) && !k.startsWith("FLY_")) compare(out, `env.${k}`, undefined, haveEnv[k]);
    const ws = desired.services?.[0];
    const hs = l.services?.find((s) => s.internal_port === ws?.internal_port) ?? l.services?.[0];
    if (ws) {
        compare(out, "services[0].internal_port", ws.internal_port, hs?.internal_port);
        compare(out, "services[0].autostop", normalizeAutostop(ws.autostop), hs ? normalizeAutostop(hs.autostop) : undefined);
        compare(out, "services[0].autostart", ws.autostart ?? false, hs ? (hs.autostart ?? false) : undefined);
        compare(out, "services[0].min_machines_running", ws.min_machines_running ?? 0, hs ? (hs.min_machines_running ?? 0) : undefined);
        const forceHttps = (s: MachineService | undefined) => s?.ports?.find((p) => p.port === 80)?.force_https ?? false;
        compare(out, "services[0].force_https", forceHttps(ws), hs ? forceHttps(hs) : undefined);
    }
    for (const name of Object.keys(desired.checks ?? {})) {
        const w = desired.checks![name];
        const h = l.checks?.[name];
        for (const key of ["type", "port", "path", "interval", "timeout", "grace_period"] as const)
            compare(out, `checks.${name}.${key}`, w[key], h?.[key]);
    }
    compare(out, "restart.policy", desired.restart?.policy, l.restart?.policy);
    if (desired.restart?.max_retries !== undefined)
        compare(out, "restart.max_retries", desired.restart.max_retries, l.restart?.max_retries);
    for (const key of [META.processGroup, META.managed, META.stack])
        compare(out, `metadata.${key}`, desired.metadata?.[key], l.metadata?.[key]);
    return out;
}

/** The inputs that changed in a way that rolls the machines (config or secrets version). */
export function rolloutChanges(olds: FlyMachinesInputs, news: FlyMachinesInputs): string[] {
    return CONFIG_INPUTS.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
}

export interface NewMachine {
    name: string;
    region: string;
}

export interface RegionPlan {
    /** Existing machines that stay (at most `count` per region), in region order then by name. */
    keep: Machine[];
    /** Machines to create so every region has its count. */
    create: NewMachine[];
    /** Surplus: beyond a region's count, or in a region no longer listed. */
    destroy: Machine[];
}

/** Machines by name number (then name, then id): `app-iad-2` before `app-iad-10`. */
function byName(processGroup: string): (a: Machine, b: Machine) => number {
    return (a, b) => {
        const na = machineNumber(a.name, processGroup, a.region ?? "") ?? Number.MAX_SAFE_INTEGER;
        const nb = machineNumber(b.name, processGroup, b.region ?? "") ?? Number.MAX_SAFE_INTEGER;
        if (na !== nb) return na - nb;
        return (a.name ?? "").localeCompare(b.name ?? "") || a.id.localeCompare(b.id);
    };
}

/**
 * Per region: keeps up to `count` of the existing machines (those in `prefer`
 * first: the ones this resource deployed), creates the rest with the first
 * unused `<group>-<region>-<n>` names, and marks the surplus for destruction.
 */
export function planRegions(
    existing: Machine[],
    regions: { region: string; count: number }[],
    processGroup: string,
    prefer: string[] = [],
): RegionPlan {
    const plan: RegionPlan = { keep: [], create: [], destroy: [] };
    const wanted = new Map<string, number>();
    for (const r of regions) wanted.set(r.region, (wanted.get(r.region) ?? 0) + Math.max(0, Math.floor(r.count)));
    const live = existing.filter((m) => !isGone(m));
    const usedNames = new Set(live.map((m) => m.name ?? ""));
    const sort = byName(processGroup);
    for (const [region, count] of wanted) {
        const here = live.filter((m) => m.region === region);
        const preferred = here.filter((m) => prefer.includes(m.id)).sort(sort);
        const others = here.filter((m) => !prefer.includes(m.id)).sort(sort);
        const ordered = [...preferred, ...others];
        plan.keep.push(...ordered.slice(0, count));
        plan.destroy.push(...ordered.slice(count));
        let n = 1;
        for (let i = ordered.length; i < count; i++) {
            while (usedNames.has(machineName(processGroup, region, n))) n++;
            const name = machineName(processGroup, region, n);
            usedNames.add(name);
            plan.create.push({ name, region });
        }
    }
    for (const m of live) if (!wanted.has(m.region ?? "")) plan.destroy.push(m);
    return plan;
}

/** New machines for a whole set (bluegreen): every region's count, with names not in use by `existing`. */
export function planFreshSet(existing: Machine[], regions: { region: string; count: number }[], processGroup: string): NewMachine[] {
    const used = new Set(existing.filter((m) => !isGone(m)).map((m) => m.name ?? ""));
    const out: NewMachine[] = [];
    for (const r of regions) {
        let n = 1;
        for (let i = 0; i < Math.max(0, Math.floor(r.count)); i++) {
            while (used.has(machineName(processGroup, r.region, n))) n++;
            const name = machineName(processGroup, r.region, n);
            used.add(name);
            out.push({ name, region: r.region });
        }
    }
    return out;
}

/** The record Keel keeps of a machine. */
export function machineRecord(m: Machine): FlyMachineRecord {
    return { id: m.id, name: m.name ?? "", region: m.region ?? "", instanceId: m.instance_id ?? "", state: m.state ?? "" };
}

/** Records in a stable order: region, then name. */
export function sortRecords(records: FlyMachineRecord[]): FlyMachineRecord[] {
    return [...records].sort(
        (a, b) =>
            a.region.localeCompare(b.region) || a.name.localeCompare(b.name, undefined, { numeric: true }) || a.id.localeCompare(b.id),
    );
}

/** A machine stopped that should run: only when autostop is off (otherwise Fly's proxy stops and starts it). */
export function shouldBeRunning(machine: Machine, autostop: string): boolean {
    return normalizeAutostop(autostop) === "off" && ["stopped", "suspended", "failed"].includes(machine.state ?? "");
}

/**
 * What `pulumi refresh` reports: managed machines destroyed or changed by
 * hand, machines of the process group Keel did not deploy, and machines
 * stopped that should run.
 */
export function machinesDrift(
    live: Machine[],
    props: FlyMachinesInputs & { machines: FlyMachineRecord[]; releaseVersion: number },
): string[] {
    const drift: string[] = [];
    const desired = buildMachineConfig(props, props.releaseVersion);
    const byId = new Map(live.filter((m) => !isGone(m)).map((m) => [m.id, m]));
    for (const rec of props.machines ?? []) {
        const m = byId.get(rec.id);
        const label = `machine ${rec.name} (${rec.id}, ${rec.region})`;
        if (!m) {
            drift.push(`- ${label}: destroyed outside Keel`);
            continue;
        }
        for (const line of configDrift(m.config, desired)) drift.push(`~ ${label}: ${line} (changed outside Keel)`);
        if (shouldBeRunning(m, props.service.autostop)) drift.push(`~ ${label}: ${m.state}, but it should run (autostop is off)`);
    }
    const known = new Set((props.machines ?? []).map((r) => r.id));
    for (const m of live) {
        if (known.has(m.id) || !inProcessGroup(m, props.processGroup)) continue;
        drift.push(
            `+ machine ${m.name ?? m.id} (${m.id}, ${m.region ?? "?"}): in process group '${props.processGroup}' but not deployed by Keel (added outside Keel)`,
        );
    }
    return drift;
}
