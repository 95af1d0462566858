/**
 * FlyMachines: the app's machines of one process group, per region and count,
 * deployed with the metadata flyctl needs (so `fly status`, `fly logs` and
 * `fly deploy` still recognize them) and rolled out safely on every change
 * (rolling, bluegreen or, in dev, immediate; see rollout.ts).
 *
 * - create adopts machines of the app that carry keel_managed and the process
 *   group, creates what is missing and waits for each to be healthy.
 * - update never replaces: a change of config (or secrets version) rolls the
 *   machines with the strategy, region/count changes scale up (new machines)
 *   and down (surplus destroyed after the rollout). releaseVersion counts the
 *   rollouts.
 * - read reports drift (machines destroyed, changed, added or stopped by
 *   hand) without failing; the next `pulumi up` puts things back.
 * - delete destroys the managed machines (an app already gone is fine).
 */
import * as pulumi from "@pulumi/pulumi";
import { isFlyNotFound } from "../../vendors/fly";
import type { FlyClient, Machine } from "../../vendors/fly";
import { changed, dynamicType, isUnknown, KeelDynamicResource, Log, UNKNOWN, versioned } from "../../providerContext";
import { flyContext } from "./context";
import {
    buildMachineConfig,
    configDrift,
    FlyMachineRecord,
    FlyMachinesInputs,
    inProcessGroup,
    isManaged,
    machineRecord,
    machinesDrift,
    normalizeAutostop,
    planFreshSet,
    planRegions,
    releaseOf,
    rolloutChanges,
    shouldBeRunning,
    sortRecords,
} from "./machineConfig";
import {
    bluegreenUpdate,
    createMachines,
    destroyMachines,
    FlyDeployError,
    immediateUpdate,
    rollingUpdate,
    RolloutOptions,
    startMachines,
} from "./rollout";

export type { FlyMachineRecord, FlyMachinesInputs } from "./machineConfig";
export { FlyDeployError } from "./rollout";

export interface FlyMachinesOutputs extends FlyMachinesInputs {
    machines: FlyMachineRecord[];
    machineIds: string[];
    /** Counts the rollouts (metadata fly_release_version of the machines). */
    releaseVersion: number;
    /** What the last refresh found changed outside Keel (empty after create/update). */
    drift: string[];
}

const ctx = flyContext();

const INPUT_KEYS: (keyof FlyMachinesInputs)[] = [
    "app",
    "stack",
    "processGroup",
    "image",
    "regions",
    "guest",
    "env",
    "service",
    "healthCheck",
    "restart",
    "strategy",
    "secretsVersion",
    "healthTimeoutSeconds",
];

function what(inputs: Pick<FlyMachinesInputs, "app" | "processGroup">): string {
    return `the '${inputs.processGroup}' machines of Fly app ${inputs.app}`;
}

function rolloutOptions(client: FlyClient, log: Log, inputs: FlyMachinesInputs): RolloutOptions {
    return {
        client,
        log,
        app: inputs.app,
        healthTimeoutSeconds: inputs.healthTimeoutSeconds,
        minSecretsVersion: inputs.secretsVersion,
        keepStoppedMachines: normalizeAutostop(inputs.service?.autostop) !== "off",
    };
}

/** The inputs part of outputs (so outputs do not carry stale keys). */
function inputsOf(x: FlyMachinesInputs): FlyMachinesInputs {
    const out: Record<string, unknown> = {};
    for (const k of INPUT_KEYS) if (x[k] !== undefined) out[k] = x[k];
    return out as unknown as FlyMachinesInputs;
}

async function listOrEmpty(client: FlyClient, app: string): Promise<Machine[] | undefined> {
    try {
        return await client.listMachines(app);
    } catch (err) {
        if (isFlyNotFound(err)) return undefined;
        throw err;
    }
}

/**
 * Brings the process group to the inputs: adopts, rolls, scales. `previous`
 * is the state on update (undefined on create).
 */
async function deploy(client: FlyClient, log: Log, news: FlyMachinesInputs, previous?: FlyMachinesOutputs): Promise<FlyMachinesOutputs> {
    const o = rolloutOptions(client, log, news);
    const all = await client.listMachines(news.app);
    const prevIds = previous && previous.app === news.app ? (previous.machineIds ?? []) : [];
    const group = all.filter((m) => inProcessGroup(m, news.processGroup));
    const candidates = group.filter((m) => isManaged(m, news.processGroup) || prevIds.includes(m.id));
    const foreign = group.filter((m) => !candidates.includes(m));
    if (foreign.length) {
        log.warn(
            `${what(news)}: leaving ${foreign.map((m) => `${m.name ?? m.id} (${m.id})`).join(", ")} alone: in the process group but not deployed by Keel (no keel_managed metadata)`,
        );
    }
    if (!previous && candidates.length) {
        log.info(
            `${what(news)}: adopting ${candidates.length} machine(s) already deployed by Keel: ${candidates.map((m) => `${m.name ?? m.id} (${m.id}, ${m.region})`).join(", ")}`,
        );
    }
    const plan = planRegions(candidates, news.regions, news.processGroup, prevIds);
    const base = previous ? (previous.releaseVersion ?? 0) : Math.max(0, ...candidates.map(releaseOf));
    const inputsChanged = previous ? rolloutChanges(previous, news) : [];
    const next = buildMachineConfig(news, base + 1);
    const stale = plan.keep.filter((m) => configDrift(m.config, next).length > 0);
    const rollout = inputsChanged.length > 0 || stale.length > 0;
    const releaseVersion = rollout || !previous ? base + 1 : base;
    const config = buildMachineConfig(news, releaseVersion);
    const toRoll = inputsChanged.length > 0 ? plan.keep : stale;
    if (rollout) {
        const why = inputsChanged.length
            ? `${inputsChanged.join(", ")} changed`
            : `${stale.length} machine(s) differ from the desired config`;
        log.info(
            `${what(news)}: release ${releaseVersion} (${why}); ${news.strategy} rollout of ${toRoll.length} machine(s) to ${news.image}`,
        );
    }

    let final: Machine[];
    if (rollout && news.strategy === "bluegreen" && toRoll.length > 0) {
        const fresh = planFreshSet(all, news.regions, news.processGroup);
        const created = await bluegreenUpdate(o, [...plan.keep, ...plan.destroy], fresh, config);
        final = created;
    } else {
        const kept = new Map(plan.keep.map((m) => [m.id, m]));
        if (rollout && toRoll.length) {
            if (news.strategy === "immediate") {
                log.warn(
                    `${what(news)}: immediate rollout: updating ${toRoll.length} machine(s) at once without waiting for health checks (meant for dev stacks only)`,
                );
                for (const m of await immediateUpdate(o, toRoll, config)) kept.set(m.id, m);
            } else {
                for (const m of await rollingUpdate(o, toRoll, config)) kept.set(m.id, m);
            }
        }
        // Stopped by hand although autostop is off (and not started by a rollout above).
        const down = [...kept.values()].filter((m) => shouldBeRunning(m, news.service.autostop));
        if (down.length) for (const m of await startMachines(o, down)) kept.set(m.id, m);
        let created: Machine[] = [];
        if (plan.create.length) {
            log.info(
                `${what(news)}: creating ${plan.create.length} machine(s): ${plan.create.map((c) => `${c.name} (${c.region})`).join(", ")}`,
            );
            created = await createMachines(o, plan.create, config);
        }
        if (plan.destroy.length) {
            log.info(
                `${what(news)}: scaling down: destroying ${plan.destroy.map((m) => `${m.name ?? m.id} (${m.id}, ${m.region})`).join(", ")}`,
            );
            const failed = await destroyMachines(o, plan.destroy, { graceful: true });
            if (failed.length)
                throw new FlyDeployError(
                    `${what(news)}: could not destroy surplus machine(s): ${failed.join("; ")}. Run 'pulumi up' again, or 'fly machine destroy --force <id> -a ${news.app}'.`,
                );
        }
        final = [...kept.values(), ...created];
    }

    // The app or process group changed: the machines deployed before are no longer part of this one.
    if (previous && (previous.app !== news.app || previous.processGroup !== news.processGroup) && previous.machineIds?.length) {
        const old = (await listOrEmpty(client, previous.app)) ?? [];
        const leftovers = old.filter((m) => previous.machineIds.includes(m.id) && !final.some((f) => f.id === m.id));
        if (leftovers.length) {
            log.info(`${what(previous)}: destroying the ${leftovers.length} machine(s) deployed before the change to ${what(news)}`);
            await destroyMachines({ ...o, app: previous.app }, leftovers, { graceful: true });
        }
    }

    // Fresh states (and instance ids) for the records.
    const live = new Map((await client.listMachines(news.app)).map((m) => [m.id, m]));
    const machines = sortRecords(final.map((m) => machineRecord(live.get(m.id) ?? m)));
    return { ...inputsOf(news), machines, machineIds: machines.map((m) => m.id), releaseVersion, drift: [] };
}

function checkInputs(news: FlyMachinesInputs): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const known = (v: unknown) => v !== undefined && !isUnknown(v);
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    for (const k of ["app", "stack", "processGroup", "image"] as const) {
        if (known(news[k]) && (typeof news[k] !== "string" || !news[k])) fail(k, `expected a non-empty string`);
    }
    if (known(news.processGroup) && typeof news.processGroup === "string" && !/^[a-z][a-z0-9_-]*$/.test(news.processGroup)) {
        fail("processGroup", `'${news.processGroup}' is not a process group name (lowercase letters, digits, - and _)`);
    }
    if (known(news.regions)) {
        if (!Array.isArray(news.regions) || news.regions.length === 0) fail("regions", "expected at least one { region, count }");
        else {
            const seen = new Set<string>();
            for (const r of news.regions) {
                if (isUnknown(r)) continue;
                if (known(r.region) && (typeof r.region !== "string" || !/^[a-z]{3}$/.test(r.region)))
                    fail("regions", `'${r.region}' is not a Fly region code (like iad, fra)`);
                if (known(r.count) && (!Number.isInteger(r.count) || r.count < 0))
                    fail("regions", `count ${r.count} of region ${r.region} must be a whole number >= 0`);
                if (seen.has(r.region)) fail("regions", `region ${r.region} is listed twice`);
                seen.add(r.region);
            }
        }
    }
    if (known(news.strategy) && !["rolling", "bluegreen", "immediate"].includes(news.strategy))
        fail("strategy", `'${news.strategy}' is not rolling, bluegreen or immediate`);
    if (known(news.healthTimeoutSeconds) && !(typeof news.healthTimeoutSeconds === "number" && news.healthTimeoutSeconds > 0))
        fail("healthTimeoutSeconds", "expected a number of seconds > 0");
    if (known(news.service) && !isUnknown(news.service.internalPort)) {
        const p = news.service.internalPort;
        if (!Number.isInteger(p) || p < 1 || p > 65535) fail("service", `internalPort ${p} is not a port number`);
    }
    if (
        known(news.healthCheck) &&
        known(news.healthCheck.path) &&
        typeof news.healthCheck.path === "string" &&
        !news.healthCheck.path.startsWith("/")
    ) {
        fail("healthCheck", `path '${news.healthCheck.path}' must start with /`);
    }
    return failures;
}

export const flyMachinesProvider = versioned<FlyMachinesInputs, FlyMachinesOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            return { inputs: news, failures: checkInputs(news) };
        },

        async diff(_id, olds, news) {
            const changes =
                JSON.stringify(news).includes(UNKNOWN) ||
                INPUT_KEYS.some((k) => changed(olds[k], news[k])) ||
                (Array.isArray(olds.drift) && olds.drift.length > 0);
            // Never replaced: machines are updated in place (rolled) and scaled.
            return { changes, replaces: [], deleteBeforeReplace: false };
        },

        async create(inputs) {
            const outs = await deploy(ctx.client(), ctx.log, inputs);
            return { id: `${inputs.app}/${inputs.processGroup}`, outs };
        },

        async update(_id, olds, news) {
            if (news.strategy === "immediate" && olds.strategy !== "immediate") {
                ctx.log.warn(
                    `${what(news)}: the immediate strategy updates every machine at once without waiting for health checks; it is meant for dev stacks`,
                );
            }
            return { outs: await deploy(ctx.client(), ctx.log, news, olds) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const client = ctx.client();
            const live = await listOrEmpty(client, props.app);
            const records = props.machines ?? [];
            if (!live) {
                const drift = [`- app ${props.app}: not found (deleted outside Keel); its ${records.length} machine(s) are gone`];
                ctx.log.warn(`drift in ${what(props)}:\n  ${drift.join("\n  ")}`);
                return { id, props: { ...props, machines: records.map((r) => ({ ...r, state: "destroyed" })), machineIds: [], drift } };
            }
            const drift = machinesDrift(live, props);
            if (drift.length) ctx.log.warn(`drift in ${what(props)} (the next 'pulumi up' puts it back):\n  ${drift.join("\n  ")}`);
            const byId = new Map(live.map((m) => [m.id, m]));
            // Records of machines destroyed by hand stay (state destroyed), so the drift is still reported until an update.
            const machines = records.map((r) => {
                const m = byId.get(r.id);
                return m && m.state !== "destroyed" ? machineRecord(m) : { ...r, state: "destroyed" };
            });
            return {
                id,
                props: { ...props, machines, machineIds: machines.filter((m) => m.state !== "destroyed").map((m) => m.id), drift },
            };
        },

        async delete(_id, props) {
            const client = ctx.client();
            const live = await listOrEmpty(client, props.app);
            if (!live) return;
            const ids = props.machineIds ?? [];
            const targets = live.filter(
                (m) =>
                    m.state !== "destroyed" &&
                    (ids.includes(m.id) || (isManaged(m, props.processGroup) && m.config?.metadata?.keel_stack === props.stack)),
            );
            if (!targets.length) return;
            ctx.log.info(`destroying ${what(props)}: ${targets.map((m) => `${m.name ?? m.id} (${m.id})`).join(", ")}`);
            const failed = await destroyMachines(rolloutOptions(client, ctx.log, props), targets);
            if (failed.length) {
                throw new FlyDeployError(
                    `Could not destroy ${what(props)}: ${failed.join("; ")}. Run 'pulumi destroy' again, or 'fly machine destroy --force <id> -a ${props.app}'.`,
                );
            }
        },
    },
);

export interface FlyMachinesArgs {
    app: pulumi.Input<string>;
    stack: pulumi.Input<string>;
    processGroup: pulumi.Input<string>;
    image: pulumi.Input<string>;
    regions: pulumi.Input<pulumi.Input<{ region: pulumi.Input<string>; count: pulumi.Input<number> }>[]>;
    guest: pulumi.Input<{ cpuKind: pulumi.Input<"shared" | "performance">; cpus: pulumi.Input<number>; memoryMb: pulumi.Input<number> }>;
    env: pulumi.Input<Record<string, pulumi.Input<string>>>;
    service: pulumi.Input<{
        internalPort: pulumi.Input<number>;
        autostop: pulumi.Input<"off" | "stop" | "suspend">;
        autostart: pulumi.Input<boolean>;
        minMachinesRunning: pulumi.Input<number>;
        forceHttps: pulumi.Input<boolean>;
    }>;
    healthCheck: pulumi.Input<{
        path: pulumi.Input<string>;
        intervalSeconds: pulumi.Input<number>;
        timeoutSeconds: pulumi.Input<number>;
        gracePeriodSeconds: pulumi.Input<number>;
    }>;
    restart: pulumi.Input<{ policy: pulumi.Input<"no" | "always" | "on-failure">; maxRetries?: pulumi.Input<number> }>;
    strategy: pulumi.Input<"rolling" | "bluegreen" | "immediate">;
    secretsVersion?: pulumi.Input<number>;
    healthTimeoutSeconds: pulumi.Input<number>;
}

export class FlyMachines extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("FlyMachines");
    declare readonly app: pulumi.Output<string>;
    declare readonly processGroup: pulumi.Output<string>;
    declare readonly image: pulumi.Output<string>;
    declare readonly machines: pulumi.Output<FlyMachineRecord[]>;
    declare readonly machineIds: pulumi.Output<string[]>;
    declare readonly releaseVersion: pulumi.Output<number>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: FlyMachinesArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            flyMachinesProvider,
            FlyMachines.__pulumiType,
            name,
            { ...args, machines: undefined, machineIds: undefined, releaseVersion: undefined, drift: undefined },
            opts,
        );
    }
}
