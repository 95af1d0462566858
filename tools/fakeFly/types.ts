/** The fake Fly Machines API's state, as tests see and change it. */
import type { FakeClock } from "../fakeClock";
import type { Fault, LoggedRequest } from "../fakeHttp";

export interface FakeFlyMachine {
    id: string;
    app: string;
    name: string;
    region: string;
    state: string;
    instance_id: string;
    config: any;
    private_ip: string;
    created_at: string;
    updated_at: string;
    /** Later states in order, each reached once `polls` more reads have seen the one before (Infinity: never). */
    pending: { state: string; polls: number }[];
    /** Reads since the machine last reached `started` (its checks pass after checksPolls of them). */
    startedReads: number;
    events: { id: string; type: string; status: string; source: string; timestamp: number }[];
    /** expiresMs on the fake's clock; releaseAfterConflicts: the holder lets go after refusing that many requests. */
    lease?: {
        nonce: string;
        owner: string;
        description: string;
        expiresMs: number;
        version: string;
        releaseAfterConflicts?: number;
        conflicts: number;
    };
    /** The app's secrets version the machine was created or last updated with. */
    secretsVersion: number;
}

export interface FakeFlyApp {
    id: string;
    name: string;
    org_slug: string;
    network: string;
    internal_numeric_id: number;
    secrets: Map<string, { value: string; created_at: string; updated_at: string }>;
    secretsVersion: number;
    ips: { ip: string; type: string; region: string; service_name: string; shared: boolean; created_at: string }[];
    /** Overrides the status computed from machines (e.g. "suspended"); for tests. */
    status?: string;
    /** TLS certificates by hostname; tests may change `status` (e.g. to "active"). */
    certificates: Map<string, FakeFlyCertificate>;
}

export interface FakeFlyCertificate {
    hostname: string;
    /** pending_validation until checkCertificate finds DNS configured (dnsConfigured), then active. */
    status: string;
    dnsConfigured: boolean;
    acmeTarget: string;
    created_at: string;
    updated_at: string;
}

export interface LoggedFlyRequest extends LoggedRequest {
    nonce?: string;
}

export interface FlyFault extends Fault {
    /** Fly's error text; a default per status otherwise. */
    error?: string;
}

export interface FakeFlyOptions {
    token?: string;
    /** Reads that see a launching machine `starting` before it is `started`; default 1. */
    startPolls?: number;
    /** Reads of a started machine whose checks are still `critical`; default 1. */
    checksPolls?: number;
    /** Reads that see `stopping`/`destroying` before `stopped`/`destroyed`; default 1. */
    stopPolls?: number;
    /** The fake's time (shared with other fakes, or with a tickPerRequestMs); a new FakeClock by default. */
    clock?: FakeClock;
    /** The owner leases made with the fake's token get. */
    owner?: string;
    /** Enforce Fly's rate limit: about 1 request/s per action per machine, burst 3 (429 with Retry-After). */
    rateLimit?: boolean;
}
