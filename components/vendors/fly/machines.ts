/**
 * The whole Fly client: the app-level calls (apps.ts) plus machines, their
 * leases, and the waits built on `Machines_wait` (which blocks at most 60 s
 * server-side, so they loop). The lease nonce goes in the
 * `fly-machine-lease-nonce` header on every mutation of a machine, although the
 * spec declares it only on the lease operations.
 */
import { formatDelay, sleep } from "../retry";
import { FlyAppsClient } from "./apps";
import { FlyApiError, flyErrorStatus, FlyWaitError } from "./errors";
import { FlyClientOptions, machinePath, seg } from "./transport";
import type { CreateMachineRequest, Lease, Machine, MachineState, UpdateMachineRequest, WaitResponse } from "./types";

export interface MutationOptions {
    /** The lease nonce when the machine is leased. */
    nonce?: string;
}

export interface WaitForStateOptions {
    /** Wait for this version of the machine (Machines_update's instance_id). */
    instanceId?: string;
    version?: string;
    /** Total time to wait (seconds); default 300. */
    timeoutS?: number;
    onProgress?: (message: string) => void;
}

export interface WaitForChecksOptions {
    timeoutS?: number;
    /** Poll interval (ms); default 1000. */
    pollMs?: number;
    onProgress?: (message: string) => void;
}

export class FlyClient extends FlyAppsClient {
    listMachines(
        app: string,
        query: { include_deleted?: boolean; region?: string; state?: string; summary?: boolean } = {},
    ): Promise<Machine[]> {
        return this.data("GET", `/apps/${seg(app)}/machines`, { query });
    }

    createMachine(app: string, body: CreateMachineRequest): Promise<Machine> {
        return this.data("POST", `/apps/${seg(app)}/machines`, { body });
    }

    updateMachine(app: string, id: string, body: UpdateMachineRequest, o: MutationOptions = {}): Promise<Machine> {
        return this.data("POST", machinePath(app, id), { body, nonce: o.nonce });
    }

    getMachine(app: string, id: string): Promise<Machine> {
        return this.data("GET", machinePath(app, id));
    }

    async deleteMachine(app: string, id: string, o: MutationOptions & { force?: boolean } = {}): Promise<void> {
        await this.request("DELETE", machinePath(app, id), { nonce: o.nonce, query: { force: o.force || undefined } });
    }

    /** One Machines_wait call (at most 60 s); see waitForState for a longer wait. */
    waitMachine(
        app: string,
        id: string,
        q: { state?: MachineState; instanceId?: string; version?: string; timeoutS?: number; fromEventId?: string },
    ): Promise<WaitResponse> {
        const timeoutS = Math.max(1, Math.min(60, Math.ceil(q.timeoutS ?? 60)));
        return this.data("GET", `${machinePath(app, id)}/wait`, {
            query: { state: q.state, instance_id: q.instanceId, version: q.version, from_event_id: q.fromEventId, timeout: timeoutS },
            timeoutMs: (timeoutS + 15) * 1000,
        });
    }

    async startMachine(app: string, id: string, o: MutationOptions = {}): Promise<void> {
        await this.request("POST", `${machinePath(app, id)}/start`, { nonce: o.nonce, idempotent: true });
    }

    async stopMachine(app: string, id: string, body?: { signal?: string; timeout?: string }, o: MutationOptions = {}): Promise<void> {
        await this.request("POST", `${machinePath(app, id)}/stop`, { body, nonce: o.nonce, idempotent: true });
    }

    getLease(app: string, id: string): Promise<Lease> {
        return this.data("GET", `${machinePath(app, id)}/lease`);
    }

    /** A new lease, or (with nonce) a refresh of ours. */
    createLease(app: string, id: string, body: { ttl?: number; description?: string }, o: MutationOptions = {}): Promise<Lease> {
        return this.data("POST", `${machinePath(app, id)}/lease`, { body, nonce: o.nonce });
    }

    async releaseLease(app: string, id: string, nonce: string): Promise<void> {
        await this.request("DELETE", `${machinePath(app, id)}/lease`, { nonce });
    }

    /** Loops Machines_wait until the machine is in `state` (at `instanceId`, if given) or the deadline passes. */
    async waitForState(app: string, id: string, state: MachineState, o: WaitForStateOptions = {}): Promise<WaitResponse> {
        const timeoutS = o.timeoutS ?? 300;
        const deadline = Date.now() + timeoutS * 1000;
        const what = `machine ${id} of app ${app} to be ${state}${o.instanceId || o.version ? ` at version ${o.instanceId ?? o.version}` : ""}`;
        for (;;) {
            const left = Math.ceil((deadline - Date.now()) / 1000);
            if (left <= 0) break;
            try {
                return await this.waitMachine(app, id, {
                    state,
                    instanceId: o.instanceId,
                    version: o.version,
                    timeoutS: Math.min(60, left),
                });
            } catch (e) {
                // 408: Fly's wait ran out of its (at most 60 s) time; ask again until our deadline.
                if (flyErrorStatus(e) !== 408) throw e;
                o.onProgress?.(`still waiting for ${what}`);
            }
        }
        let current = "";
        try {
            const m = await this.getMachine(app, id);
            current = ` (it is ${m.state ?? "in an unknown state"}${m.instance_id ? ` at version ${m.instance_id}` : ""})`;
        } catch {
            // the message below is enough
        }
        throw new FlyWaitError(
            `Gave up waiting for ${what} after ${formatDelay(timeoutS * 1000)}${current}. Look at 'fly machine status ${id} -a ${app}' and 'fly logs -a ${app}'.`,
        );
    }

    /** Polls Machines_show until every check of the machine is passing. */
    async waitForChecks(app: string, id: string, o: WaitForChecksOptions = {}): Promise<Machine> {
        const timeoutS = o.timeoutS ?? 300;
        const deadline = Date.now() + timeoutS * 1000;
        let lastReport = Date.now();
        for (;;) {
            const m = await this.getMachine(app, id);
            const failing = (m.checks ?? []).filter((c) => c.status !== "passing");
            if (!failing.length) return m;
            if (Date.now() >= deadline) {
                throw new FlyWaitError(
                    `Machine ${id} of app ${app} did not pass its health checks within ${formatDelay(timeoutS * 1000)}: ` +
                        failing
                            .map((c) => `${c.name ?? "check"} ${c.status ?? "unknown"}${c.output ? ` (${c.output.slice(0, 200)})` : ""}`)
                            .join("; ") +
                        `. Look at 'fly checks list -a ${app}' and 'fly logs -a ${app}'.`,
                );
            }
            if (Date.now() - lastReport >= 15_000) {
                lastReport = Date.now();
                o.onProgress?.(`waiting for machine ${id} of app ${app}: ${failing.map((c) => `${c.name} ${c.status}`).join(", ")}`);
            }
            await sleep(Math.min(o.pollMs ?? 1000, Math.max(0, deadline - Date.now())));
        }
    }

    /**
     * Takes a lease on the machine (waiting out someone else's within the lease
     * conflict budget), runs fn with its nonce, and releases it, also when fn throws.
     */
    async withLease<T>(
        app: string,
        id: string,
        fn: (nonce: string) => Promise<T>,
        o: { ttlS?: number; description?: string } = {},
    ): Promise<T> {
        const lease = await this.createLease(app, id, { ttl: o.ttlS ?? 120, description: o.description ?? "keel" });
        if (!lease.nonce) throw new FlyApiError(`Fly API POST ${machinePath(app, id)}/lease: the lease came back without a nonce`);
        try {
            return await fn(lease.nonce);
        } finally {
            try {
                await this.releaseLease(app, id, lease.nonce);
            } catch (e) {
                // Gone with its machine, or expired and taken by someone else: nothing of ours to release.
                if (![404, 409].includes(flyErrorStatus(e) ?? 0))
                    this.onProgress?.(
                        `could not release the lease on machine ${id} of app ${app} (it expires by itself): ${(e as Error).message}`,
                    );
            }
        }
    }
}

/** A Fly Machines API client (the same as `new FlyClient(options)`). */
export function flyClient(options: FlyClientOptions): FlyClient {
    return new FlyClient(options);
}
