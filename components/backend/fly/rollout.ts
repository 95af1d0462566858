/**
 * How the Fly machines deploy changes machines, given a FlyClient and a log
 * (so each strategy is tested directly against the fake Fly API):
 *
 * - createMachines: creates machines (a create whose response was lost is
 *   looked for by name before it is tried again), waits for each to start and
 *   pass its checks; when one does not, destroys the ones it made and throws.
 * - rollingUpdate: one machine at a time under its lease: update, wait for
 *   the new version to start and pass its checks, release. When a machine
 *   fails, every machine already updated (the failing one included) is put
 *   back on its previous config, again under a lease, and it throws.
 * - bluegreenUpdate: a full new set next to the old one; the old set is
 *   stopped and destroyed only once every new machine is healthy; when one is
 *   not, the new set is destroyed and the old one left untouched.
 * - immediateUpdate: every machine updated at once, no waiting (dev only).
 *
 * Leases are released on every path (FlyClient.withLease).
 */
import { KeelError } from "../../errors";
import { FlyApiError, flyErrorStatus, isFlyNotFound } from "../../vendors/fly";
import type { FlyClient, Machine, MachineConfig } from "../../vendors/fly";
import type { Log } from "../../providerContext";
import { isGone, META, NewMachine } from "./machineConfig";

/** A deploy that did not go through (with what was undone and where to look). */
export class FlyDeployError extends KeelError {
    constructor(message: string) {
        super(message, "FlyDeployError");
    }
}

export interface RolloutOptions {
    client: FlyClient;
    log: Log;
    app: string;
    /** Per machine: start + checks passing. */
    healthTimeoutSeconds: number;
    /** Sent as min_secrets_version on creates and updates. */
    minSecretsVersion?: number;
    /** Checks poll interval (ms); default from the health timeout, between 100 ms and 1 s. */
    pollMs?: number;
    /**
     * Machines stopped by autostop are updated without being started
     * (skip_launch), as flyctl does; false when autostop is off (a stopped
     * machine should run: it is started by its update).
     */
    keepStoppedMachines?: boolean;
}

const LEASE_DESCRIPTION = "keel deploy";

function lookHint(app: string): string {
    return `Look at 'fly logs -a ${app}' and 'fly status -a ${app}' (and 'fly checks list -a ${app}').`;
}

function pollMs(o: RolloutOptions): number {
    return o.pollMs ?? Math.min(1000, Math.max(100, Math.round((o.healthTimeoutSeconds * 1000) / 60)));
}

function leaseTtlS(o: RolloutOptions): number {
    return Math.ceil(o.healthTimeoutSeconds) * 2 + 60;
}

function errorText(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

export function describeMachine(m: Pick<Machine, "id" | "name" | "region">): string {
    return `${m.name ?? m.id} (${m.id}, ${m.region ?? "?"})`;
}

/** `state started, checks: http-health critical (connect: connection refused)`, read now. */
export async function machineStatus(o: RolloutOptions, id: string): Promise<string> {
    try {
        const m = await o.client.getMachine(o.app, id);
        const checks = (m.checks ?? []).map(
            (c) => `${c.name ?? "check"} ${c.status ?? "unknown"}${c.output ? ` (${c.output.slice(0, 200)})` : ""}`,
        );
        return `state ${m.state ?? "unknown"}${checks.length ? `, checks: ${checks.join("; ")}` : ""}`;
    } catch (err) {
        return `state unknown (${errorText(err)})`;
    }
}

/** Waits until the machine runs `instanceId` (when given) and passes every check, within the health timeout. */
export async function waitHealthy(o: RolloutOptions, id: string, instanceId: string | undefined, label: string): Promise<Machine> {
    const deadline = Date.now() + o.healthTimeoutSeconds * 1000;
    const left = () => Math.max(0.001, (deadline - Date.now()) / 1000);
    o.log.info(`${label}: waiting for it to start…`);
    await o.client.waitForState(o.app, id, "started", { instanceId, timeoutS: left(), onProgress: o.log.info });
    o.log.info(`${label}: started, waiting for checks…`);
    const m = await o.client.waitForChecks(o.app, id, { timeoutS: left(), pollMs: pollMs(o), onProgress: o.log.info });
    o.log.info(`${label}: healthy`);
    return m;
}

/**
 * Creates one machine. A create whose response was lost (or that collides
 * with one of that name) is looked for by name and Keel's metadata before it
 * is tried again, so it never makes a duplicate.
 */
export async function createOne(o: RolloutOptions, spec: NewMachine, config: MachineConfig): Promise<Machine> {
    const find = async (): Promise<Machine | undefined> =>
        (await o.client.listMachines(o.app)).find(
            (m) => m.name === spec.name && m.region === spec.region && !isGone(m) && m.config?.metadata?.[META.managed] === "true",
        );
    for (let attempt = 1; ; attempt++) {
        try {
            return await o.client.createMachine(o.app, {
                name: spec.name,
                region: spec.region,
                config,
                ...(o.minSecretsVersion !== undefined ? { min_secrets_version: o.minSecretsVersion } : {}),
            });
        } catch (err) {
            const lost =
                err instanceof FlyApiError ? err.mayHaveBeenProcessed : !!(err as { mayHaveBeenProcessed?: boolean })?.mayHaveBeenProcessed;
            const conflict = flyErrorStatus(err) === 409;
            if ((!lost && !conflict) || attempt >= 3) throw err;
            o.log.info(
                `machine ${spec.name} (${spec.region}): ${lost ? "the response to the create request was lost" : "Fly says a machine of that name exists"}; looking for it before trying again`,
            );
            const found = await find();
            if (found) {
                o.log.info(`machine ${spec.name} (${spec.region}): found it (${found.id}); not creating it again`);
                return found;
            }
        }
    }
}

/** Stops (when graceful) and destroys a machine under its lease; a machine already gone is fine. */
export async function destroyMachine(o: RolloutOptions, m: Machine, options: { graceful?: boolean } = {}): Promise<void> {
    try {
        await o.client.withLease(
            o.app,
            m.id,
            async (nonce) => {
                if (options.graceful && ["started", "starting"].includes(m.state ?? "")) {
                    await o.client.stopMachine(o.app, m.id, undefined, { nonce });
                    try {
                        await o.client.waitForState(o.app, m.id, "stopped", { timeoutS: 30 });
                    } catch {
                        // force below
                    }
                }
                await o.client.deleteMachine(o.app, m.id, { nonce, force: true });
            },
            { ttlS: 120, description: LEASE_DESCRIPTION },
        );
    } catch (err) {
        if (isFlyNotFound(err)) return;
        throw err;
    }
}

/** Destroys machines one after the other; returns the ones that could not be destroyed (with why). */
export async function destroyMachines(o: RolloutOptions, machines: Machine[], options: { graceful?: boolean } = {}): Promise<string[]> {
    const failed: string[] = [];
    for (const m of machines) {
        try {
            await destroyMachine(o, m, options);
        } catch (err) {
            failed.push(`${describeMachine(m)}: ${errorText(err)}`);
        }
    }
    return failed;
}

/**
 * Creates the machines, then waits for each to start and pass its checks.
 * When a create fails or a machine is not healthy in time, destroys every
 * machine this call made and throws a FlyDeployError (`afterFailure` says
 * what else stays as it was).
 */
export async function createMachines(o: RolloutOptions, specs: NewMachine[], config: MachineConfig, afterFailure = ""): Promise<Machine[]> {
    const created: Machine[] = [];
    let current: { spec: NewMachine; index: number; id?: string } | undefined;
    try {
        for (const [index, spec] of specs.entries()) {
            current = { spec, index };
            const m = await createOne(o, spec, config);
            created.push(m);
            o.log.info(`machine ${index + 1} of ${specs.length} (${spec.region}): created ${spec.name} (${m.id}) with ${config.image}`);
        }
        const healthy: Machine[] = [];
        for (const [index, m] of created.entries()) {
            current = { spec: specs[index], index, id: m.id };
            healthy.push(await waitHealthy(o, m.id, m.instance_id, `machine ${index + 1} of ${specs.length} (${specs[index].region})`));
        }
        return healthy;
    } catch (err) {
        const c = current!;
        const status = c.id ? await machineStatus(o, c.id) : "";
        const failedDestroy = await destroyMachines(o, created);
        const what = c.id
            ? `Machine ${c.spec.name} (${c.id}, ${c.spec.region}) of Fly app ${o.app} did not become healthy within ${o.healthTimeoutSeconds}s running ${config.image}: ${status}. (${errorText(err)})`
            : `Creating machine ${c.spec.name} (${c.spec.region}) of Fly app ${o.app} failed: ${errorText(err)}`;
        const undone = created.length
            ? failedDestroy.length
                ? `Destroyed the machines this deploy created except: ${failedDestroy.join("; ")} (destroy them with 'fly machine destroy --force <id> -a ${o.app}').`
                : `Destroyed the ${created.length} machine(s) this deploy created (${created.map((m) => m.name ?? m.id).join(", ")}).`
            : "No machine was created.";
        throw new FlyDeployError(`${what} ${undone}${afterFailure ? ` ${afterFailure}` : ""} ${lookHint(o.app)}`);
    }
}

/** Puts machines back on their previous config (the Machine as listed before the update), each under its lease. */
async function restoreMachines(o: RolloutOptions, previous: Machine[]): Promise<{ restored: string[]; failed: string[] }> {
    const restored: string[] = [];
    const failed: string[] = [];
    for (const prev of previous) {
        const label = `restoring ${describeMachine(prev)}`;
        try {
            const wasStopped = !!o.keepStoppedMachines && ["stopped", "suspended"].includes(prev.state ?? "");
            await o.client.withLease(
                o.app,
                prev.id,
                async (nonce) => {
                    o.log.info(`${label} to ${prev.config?.image ?? "its previous config"}`);
                    const m = await o.client.updateMachine(
                        o.app,
                        prev.id,
                        { config: prev.config ?? {}, ...(wasStopped ? { skip_launch: true } : {}) },
                        { nonce },
                    );
                    if (wasStopped)
                        await o.client.waitForState(o.app, prev.id, "stopped", {
                            instanceId: m.instance_id,
                            timeoutS: o.healthTimeoutSeconds,
                        });
                    else await waitHealthy(o, prev.id, m.instance_id, label);
                },
                { ttlS: leaseTtlS(o), description: LEASE_DESCRIPTION },
            );
            restored.push(prev.name ?? prev.id);
        } catch (err) {
            failed.push(`${describeMachine(prev)}: ${errorText(err)}`);
        }
    }
    return { restored, failed };
}

/**
 * One machine at a time, under its lease: update to `config`, wait for the
 * new version to start and pass its checks, release. A machine that was
 * stopped (autostop) is updated without being started (skip_launch), as
 * flyctl does. On failure every machine already updated is restored.
 */
export async function rollingUpdate(o: RolloutOptions, machines: Machine[], config: MachineConfig): Promise<Machine[]> {
    const touched: Machine[] = [];
    const result: Machine[] = [];
    for (const [index, m] of machines.entries()) {
        const label = `machine ${index + 1} of ${machines.length} (${m.region ?? "?"})`;
        const wasStopped = !!o.keepStoppedMachines && ["stopped", "suspended"].includes(m.state ?? "");
        try {
            const updated = await o.client.withLease(
                o.app,
                m.id,
                async (nonce) => {
                    o.log.info(`${label}: updating ${describeMachine(m)} to ${config.image}`);
                    touched.push(m);
                    const u = await o.client.updateMachine(
                        o.app,
                        m.id,
                        {
                            config,
                            ...(o.minSecretsVersion !== undefined ? { min_secrets_version: o.minSecretsVersion } : {}),
                            ...(wasStopped ? { skip_launch: true } : {}),
                        },
                        { nonce },
                    );
                    if (wasStopped) {
                        await o.client.waitForState(o.app, m.id, "stopped", {
                            instanceId: u.instance_id,
                            timeoutS: o.healthTimeoutSeconds,
                        });
                        o.log.info(`${label}: updated (stopped by autostop; not started)`);
                        return u;
                    }
                    return waitHealthy(o, m.id, u.instance_id, label);
                },
                { ttlS: leaseTtlS(o), description: LEASE_DESCRIPTION },
            );
            result.push(updated);
        } catch (err) {
            const status = await machineStatus(o, m.id);
            o.log.warn(`${label}: ${describeMachine(m)} failed (${status}); restoring the ${touched.length} machine(s) already updated`);
            const { restored, failed } = await restoreMachines(o, [...touched].reverse());
            const restoredText = failed.length
                ? `Restored the previous version on ${restored.length ? restored.join(", ") : "none of them"}; could NOT restore: ${failed.join("; ")}.`
                : `The previous version (${touched[0]?.config?.image ?? "previous config"}) was restored on the ${restored.length} machine(s) already updated (${restored.join(", ")}); ` +
                  `the other ${machines.length - touched.length} machine(s) were not touched.`;
            throw new FlyDeployError(
                `Rolling deploy of Fly app ${o.app} to ${config.image} stopped at machine ${index + 1} of ${machines.length}, ${describeMachine(m)}: ` +
                    `${touched.includes(m) ? `it did not become healthy within ${o.healthTimeoutSeconds}s` : "it could not be updated"} (${status}). (${errorText(err)}) ${restoredText} ${lookHint(o.app)}`,
            );
        }
    }
    return result;
}

/**
 * A full new set of machines next to the old one; the old set is stopped and
 * destroyed once every new machine is healthy. When one is not, the new set is
 * destroyed and the old one left untouched.
 */
export async function bluegreenUpdate(o: RolloutOptions, old: Machine[], fresh: NewMachine[], config: MachineConfig): Promise<Machine[]> {
    o.log.info(`blue-green: creating ${fresh.length} new machine(s) with ${config.image} next to the ${old.length} running ones`);
    const created = await createMachines(
        o,
        fresh,
        config,
        `The ${old.length} machine(s) running the previous version were left untouched.`,
    );
    o.log.info(`blue-green: all ${created.length} new machine(s) are healthy; stopping and destroying the ${old.length} old one(s)`);
    const failed = await destroyMachines(o, old, { graceful: true });
    if (failed.length) {
        o.log.warn(
            `blue-green: could not destroy old machine(s): ${failed.join("; ")}; destroy them with 'fly machine destroy --force <id> -a ${o.app}'`,
        );
    }
    return created;
}

/** Starts machines that are stopped but should run (autostop off), each under its lease, and waits for them to be healthy. */
export async function startMachines(o: RolloutOptions, machines: Machine[]): Promise<Machine[]> {
    const result: Machine[] = [];
    for (const [index, m] of machines.entries()) {
        const label = `machine ${index + 1} of ${machines.length} (${m.region ?? "?"})`;
        o.log.info(`${label}: starting ${describeMachine(m)} (it is ${m.state}; autostop is off)`);
        result.push(
            await o.client.withLease(
                o.app,
                m.id,
                async (nonce) => {
                    await o.client.startMachine(o.app, m.id, { nonce });
                    return waitHealthy(o, m.id, undefined, label);
                },
                { ttlS: leaseTtlS(o), description: LEASE_DESCRIPTION },
            ),
        );
    }
    return result;
}

/** Every machine updated at once, without waiting for health (dev only). */
export async function immediateUpdate(o: RolloutOptions, machines: Machine[], config: MachineConfig): Promise<Machine[]> {
    const result: Machine[] = [];
    for (const [index, m] of machines.entries()) {
        const label = `machine ${index + 1} of ${machines.length} (${m.region ?? "?"})`;
        const updated = await o.client.withLease(
            o.app,
            m.id,
            async (nonce) => {
                o.log.info(`${label}: updating ${describeMachine(m)} to ${config.image} (immediate: not waiting for health)`);
                return o.client.updateMachine(
                    o.app,
                    m.id,
                    { config, ...(o.minSecretsVersion !== undefined ? { min_secrets_version: o.minSecretsVersion } : {}) },
                    { nonce },
                );
            },
            { ttlS: 60, description: LEASE_DESCRIPTION },
        );
        result.push(updated);
    }
    return result;
}
