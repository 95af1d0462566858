/** The fake Fly Machines API's server: routes, the machines' states, leases, secrets and IPs (see index.ts). */
import type * as http from "http";
import { randomBytes } from "crypto";
import { type Answer, FakeHttpServer, HttpError, type LoggedRequest, setEnv } from "../fakeHttp";
import { routeCertificates } from "./certificates";
import { routeIps } from "./ips";
import { routeSecrets } from "./secrets";
import type { FakeFlyApp, FakeFlyMachine, FakeFlyOptions, FlyFault, LoggedFlyRequest } from "./types";
import { appView, iso, leaseView, ulid } from "./views";

const FAULT_TEXT: Record<number, string> = {
    409: "lease currently held by someone else",
    429: "rate limit exceeded",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
};

export class FakeFly extends FakeHttpServer<LoggedFlyRequest, FlyFault> {
    readonly apps = new Map<string, FakeFlyApp>();
    readonly machines = new Map<string, FakeFlyMachine>();
    token: string;
    startPolls: number;
    checksPolls: number;
    stopPolls: number;
    owner: string;
    rateLimit: boolean;
    /** Token buckets per `METHOD action machine`, refilled by the fake's clock. */
    private buckets = new Map<string, { tokens: number; atMs: number }>();
    private unhealthyImages = new Set<string>();
    /** Machines whose next launch ends in `failed` instead of `started` (failNextStart). */
    private failingLaunches = new Set<string>();
    private seq = 1;
    protected unauthorizedMessage = "You must be authenticated to view this.";

    private constructor(options: FakeFlyOptions) {
        super("/v1", options.clock);
        this.token = options.token ?? `fo1_fake_${randomBytes(16).toString("hex")}`;
        this.startPolls = options.startPolls ?? 1;
        this.checksPolls = options.checksPolls ?? 1;
        this.stopPolls = options.stopPolls ?? 1;
        this.owner = options.owner ?? "keel@example.com";
        this.rateLimit = options.rateLimit ?? false;
    }

    static async start(options: FakeFlyOptions = {}): Promise<FakeFly> {
        const fake = new FakeFly(options);
        await fake.listen();
        return fake;
    }

    /** Forgets every app, machine, fault, unhealthy image and logged request. */
    reset(): void {
        this.apps.clear();
        this.machines.clear();
        this.resetHttp();
        this.unhealthyImages.clear();
        this.failingLaunches.clear();
        this.buckets.clear();
    }

    /** Machines running this image never pass their checks (they stay critical). */
    neverHealthy(image: string): void {
        this.unhealthyImages.add(image);
    }

    /** The machine's next launch (an update, a start) goes starting -> failed instead of started; once. */
    failNextStart(machineId: string): void {
        this.failingLaunches.add(machineId);
    }

    /** Creates an app as POST /apps would; for setup. */
    seedApp(name: string, orgSlug = "personal"): FakeFlyApp {
        return this.createApp({ name, org_slug: orgSlug });
    }

    /** Creates a started machine directly, running long enough to pass its checks; for setup. */
    seedMachine(
        app: string,
        config: any = { image: "registry.fly.io/app:v1" },
        options: { region?: string; name?: string } = {},
    ): FakeFlyMachine {
        const m = this.createMachine(this.app(app), { config, region: options.region, name: options.name });
        m.pending = [];
        this.transition(m, "started");
        m.startedReads = this.checksPolls;
        return m;
    }

    /**
     * Someone else (flyctl, another deploy) takes a lease on a machine, for
     * ttlS seconds of the fake's clock, or until it has refused
     * releaseAfterConflicts requests (409) when that is given.
     */
    leaseAsOther(
        machineId: string,
        options: { owner?: string; ttlS?: number; description?: string; releaseAfterConflicts?: number } = {},
    ): string {
        const m = this.machine(machineId);
        const nonce = randomBytes(8).toString("hex");
        m.lease = {
            nonce,
            owner: options.owner ?? "someone@else.example",
            description: options.description ?? "fly deploy",
            expiresMs: this.clock.now() + (options.ttlS ?? 30) * 1000,
            version: m.instance_id,
            releaseAfterConflicts: options.releaseAfterConflicts,
            conflicts: 0,
        };
        return nonce;
    }

    /** The machine as it is (looking here does not move it). */
    machine(id: string): FakeFlyMachine {
        const m = this.machines.get(id);
        if (!m) throw new HttpError(404, "machine not found");
        return m;
    }

    /** Machines holding a lease that has not expired on the fake's clock. */
    leasedMachines(): FakeFlyMachine[] {
        return [...this.machines.values()].filter((m) => this.liveLease(m));
    }

    // ---- HTTP ---------------------------------------------------------------

    protected logEntry(entry: LoggedRequest, req: http.IncomingMessage): LoggedFlyRequest {
        const nonceHeader = req.headers["fly-machine-lease-nonce"];
        return { ...entry, nonce: typeof nonceHeader === "string" ? nonceHeader : undefined };
    }

    protected authorized(authorization: string | undefined): boolean {
        const auth = authorization ?? "";
        return auth === `Bearer ${this.token}` || auth === `FlyV1 ${this.token}`;
    }

    protected errorBody(_status: number, message: string): unknown {
        return { error: message };
    }

    protected faultBody(fault: FlyFault): unknown {
        return { error: fault.error ?? FAULT_TEXT[fault.status] ?? "error" };
    }

    protected intercept(method: string, path: string): Answer | undefined {
        const limited = this.rateLimited(method, path);
        return limited === undefined ? undefined : [429, { error: "rate limit exceeded" }, { "retry-after": String(limited) }];
    }

    /**
     * Seconds to wait when the request passes the per-machine, per-action
     * rate limit; undefined when it may go. The bucket refills by the fake's
     * clock, and a refusal credits it with the wait it asks for: the fake
     * takes it that the client waits that long before its retry (its own
     * clock cannot see the client's sleep), so the retry passes.
     */
    private rateLimited(method: string, path: string): number | undefined {
        const p = path.split("/").filter(Boolean);
        if (!this.rateLimit || p[2] !== "machines" || !p[3]) return undefined;
        const key = `${method} ${p[4] ?? ""} ${p[3]}`;
        const now = this.clock.now();
        const bucket = this.buckets.get(key) ?? { tokens: 3, atMs: now };
        bucket.tokens = Math.min(3, bucket.tokens + (now - bucket.atMs) / 1000);
        bucket.atMs = now;
        this.buckets.set(key, bucket);
        if (bucket.tokens >= 1) {
            bucket.tokens -= 1;
            return undefined;
        }
        const wait = Math.max(1, Math.ceil(1 - bucket.tokens));
        bucket.tokens += wait;
        return wait;
    }

    protected route(method: string, path: string, q: URLSearchParams, body: any, entry: LoggedFlyRequest): [number, unknown] {
        const nonce = entry.nonce;
        const p = path.split("/").filter(Boolean).map(decodeURIComponent);
        const m = (pattern: string, verb: string): boolean => {
            if (verb !== method) return false;
            const parts = pattern.split("/").filter(Boolean);
            return parts.length === p.length && parts.every((part, i) => part.startsWith(":") || part === p[i]);
        };
        if (m("apps", "GET")) {
            const org = q.get("org_slug");
            if (!org) throw new HttpError(400, "org_slug is required");
            const apps = [...this.apps.values()].filter((a) => a.org_slug === org).map((a) => appView(a, this.machines.values()));
            return [200, { apps, total_apps: apps.length }];
        }
        if (m("apps", "POST")) {
            this.createApp(body ?? {});
            return [201, undefined];
        }
        if (p[0] !== "apps" || !p[1]) throw new HttpError(404, "not found");
        const app = this.app(p[1]);
        if (m("apps/:a", "GET")) return [200, appView(app, this.machines.values())];
        if (m("apps/:a", "DELETE")) {
            for (const [id, mm] of this.machines) if (mm.app === app.name) this.machines.delete(id);
            this.apps.delete(app.name);
            return [202, undefined];
        }
        if (p[2] === "machines") return this.routeMachines(app, p, method, q, body, nonce);
        if (p[2] === "secrets") return routeSecrets(app, p, method, q, body, this.clock.now());
        if (p[2] === "ip_assignments") return routeIps(app, p, method, body, this.clock.now(), () => this.seq++);
        if (p[2] === "certificates") return routeCertificates([...this.apps.values()], app, p, method, body, this.clock.now());
        throw new HttpError(404, "not found");
    }

    private routeMachines(
        app: FakeFlyApp,
        p: string[],
        method: string,
        q: URLSearchParams,
        body: any,
        nonce: string | undefined,
    ): [number, unknown] {
        if (p.length === 3 && method === "GET") {
            const all = [...this.machines.values()].filter((x) => x.app === app.name);
            const visible = all.filter(
                (x) =>
                    (q.get("include_deleted") === "true" || x.state !== "destroyed") &&
                    (!q.get("region") || x.region === q.get("region")) &&
                    (!q.get("state") || q.get("state")!.split(",").includes(x.state)),
            );
            return [200, visible.map((x) => this.machineView(x, q.get("include_leases") === "true"))];
        }
        if (p.length === 3 && method === "POST") {
            const machine = this.createMachine(app, body ?? {});
            return [200, this.machineView(machine, false, machine.lease?.nonce)];
        }
        const machine = this.machines.get(p[3]);
        if (!machine || machine.app !== app.name) throw new HttpError(404, "machine not found");
        const action = p[4] ?? "";
        if (action === "lease") return this.routeLease(machine, method, body, nonce);
        if (method !== "GET") this.checkLease(machine, nonce);
        if (p.length === 4 && method === "GET") {
            this.read(machine);
            return [200, this.machineView(machine, q.get("include_leases") === "true")];
        }
        if (p.length === 4 && method === "POST") return [200, this.machineView(this.updateMachine(app, machine, body ?? {}))];
        if (p.length === 4 && method === "DELETE") {
            if (machine.state === "destroyed") throw new HttpError(404, "machine not found");
            if (["started", "starting", "replacing"].includes(machine.state) && q.get("force") !== "true") {
                throw new HttpError(
                    412,
                    `failed_precondition: unable to destroy machine, not currently stopped or suspended (state ${machine.state})`,
                );
            }
            machine.pending = [];
            machine.lease = undefined;
            this.transition(machine, "destroying");
            machine.pending.push({ state: "destroyed", polls: this.stopPolls });
            return [200, undefined];
        }
        if (action === "start" && method === "POST") {
            if (machine.state === "destroyed" || machine.state === "destroying")
                throw new HttpError(412, `failed_precondition: unable to start machine from current state: '${machine.state}'`);
            if (!["started", "starting"].includes(machine.state)) this.launch(machine);
            return [200, undefined];
        }
        if (action === "stop" && method === "POST") {
            if (
                body?.signal !== undefined &&
                !["SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM"].includes(body.signal)
            )
                throw new HttpError(400, `invalid signal ${body.signal}`);
            if (["started", "starting", "replacing"].includes(machine.state)) {
                machine.pending = [];
                this.transition(machine, "stopping");
                machine.pending.push({ state: "stopped", polls: this.stopPolls });
            }
            return [200, undefined];
        }
        if (action === "wait" && method === "GET") return this.wait(machine, q);
        throw new HttpError(404, "not found");
    }

    /**
     * Machines_wait without blocking: the machine's pending transitions are
     * played forward until the state (and version) is reached, as the real
     * wait would have seen them happen. When they run out, or the next one
     * never comes (Infinity), it answers the timeout (408) at once; the fake's
     * clock is not moved by the timeout, since how many waits a client makes
     * before its own (wall-clock) deadline depends on the machine's speed.
     */
    private wait(machine: FakeFlyMachine, q: URLSearchParams): [number, unknown] {
        const states = (q.get("state") ?? "started").split(",");
        for (const s of states)
            if (!["started", "stopped", "suspended", "destroyed", "failed", "settled"].includes(s))
                throw new HttpError(400, `invalid state ${s}`);
        const version = q.get("version") ?? q.get("instance_id") ?? undefined;
        const timeoutS = Math.min(60, Math.max(1, Number(q.get("timeout") ?? 60) || 60));
        const reached = () => {
            const stateOk = states.some((s) =>
                s === "settled" ? ["started", "stopped", "suspended", "failed", "destroyed"].includes(machine.state) : s === machine.state,
            );
            return stateOk && (!version || version === machine.instance_id);
        };
        while (!reached()) {
            const next = machine.pending[0];
            if (!next || next.polls === Infinity) {
                throw new HttpError(
                    408,
                    `deadline_exceeded: machine ${machine.id} did not reach state ${states.join(",")}${version ? ` at version ${version}` : ""} in ${timeoutS}s (state ${machine.state})`,
                );
            }
            machine.pending.shift();
            this.transition(machine, next.state);
        }
        return [
            200,
            {
                ok: true,
                state: machine.state,
                version: machine.instance_id,
                event_id: machine.events[machine.events.length - 1]?.id ?? ulid(),
            },
        ];
    }

    /** The machine's lease unless it expired on the fake's clock (an expired one is dropped). */
    private liveLease(machine: FakeFlyMachine): FakeFlyMachine["lease"] {
        if (machine.lease && machine.lease.expiresMs <= this.clock.now()) machine.lease = undefined;
        return machine.lease;
    }

    /** A 409 because of someone else's lease: counted, and a holder set to let go after so many does. */
    private conflict(machine: FakeFlyMachine, message: string): HttpError {
        const lease = machine.lease!;
        lease.conflicts++;
        if (lease.releaseAfterConflicts !== undefined && lease.conflicts >= lease.releaseAfterConflicts) machine.lease = undefined;
        return new HttpError(409, message);
    }

    private routeLease(machine: FakeFlyMachine, method: string, body: any, nonce: string | undefined): [number, unknown] {
        const now = this.clock.now();
        const lease = this.liveLease(machine);
        if (method === "GET") {
            if (!lease) throw new HttpError(404, "lease not found");
            return [200, leaseView(lease)];
        }
        if (method === "POST") {
            const ttl = typeof body?.ttl === "number" && body.ttl > 0 ? body.ttl : 30;
            if (lease) {
                if (!nonce || nonce !== lease.nonce)
                    throw this.conflict(machine, `machine ${machine.id} already has a lease held by ${lease.owner}`);
                lease.expiresMs = now + ttl * 1000;
                if (typeof body?.description === "string") lease.description = body.description;
                return [201, leaseView(lease)];
            }
            machine.lease = {
                nonce: randomBytes(8).toString("hex"),
                owner: this.owner,
                description: body?.description ?? "",
                expiresMs: now + ttl * 1000,
                version: machine.instance_id,
                conflicts: 0,
            };
            return [201, leaseView(machine.lease)];
        }
        if (method === "DELETE") {
            if (!nonce) throw new HttpError(400, "fly-machine-lease-nonce header is required");
            if (!lease) return [200, undefined];
            if (nonce !== lease.nonce) throw this.conflict(machine, `lease nonce does not match the lease held by ${lease.owner}`);
            machine.lease = undefined;
            return [200, undefined];
        }
        throw new HttpError(404, "not found");
    }

    private checkLease(machine: FakeFlyMachine, nonce: string | undefined): void {
        const lease = this.liveLease(machine);
        if (!lease) return;
        if (nonce !== lease.nonce)
            throw this.conflict(
                machine,
                `machine ${machine.id} is leased by ${lease.owner}${nonce ? " and the nonce does not match" : "; pass its nonce in fly-machine-lease-nonce"}`,
            );
    }

    // ---- state --------------------------------------------------------------

    private app(name: string): FakeFlyApp {
        const app = this.apps.get(name);
        if (!app) throw new HttpError(404, `app ${name} not found`);
        return app;
    }

    private createApp(body: any): FakeFlyApp {
        const name = body?.name;
        if (typeof name !== "string" || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(name))
            throw new HttpError(400, `invalid app name ${JSON.stringify(name)}`);
        if (typeof body?.org_slug !== "string" || !body.org_slug) throw new HttpError(400, "org_slug is required");
        if (this.apps.has(name)) throw new HttpError(422, `app name ${name} has already been taken`);
        const app: FakeFlyApp = {
            id: name,
            name,
            org_slug: body.org_slug,
            network: body.network ?? "default",
            internal_numeric_id: 1000 + this.seq++,
            secrets: new Map(),
            secretsVersion: 0,
            ips: [],
            certificates: new Map(),
        };
        this.apps.set(name, app);
        return app;
    }

    private createMachine(app: FakeFlyApp, body: any): FakeFlyMachine {
        const config = body?.config;
        if (!config || typeof config.image !== "string" || !config.image) throw new HttpError(400, "config.image is required");
        this.checkSecretsVersion(app, body);
        const id = randomBytes(7).toString("hex");
        const name = body.name ?? `machine-${id.slice(0, 6)}`;
        // A machine being destroyed no longer holds its name (it is gone for Keel too: isGone).
        if (
            [...this.machines.values()].some(
                (x) => x.app === app.name && x.name === name && x.state !== "destroyed" && x.state !== "destroying",
            )
        )
            throw new HttpError(409, `a machine named ${name} already exists`);
        const now = this.iso();
        const machine: FakeFlyMachine = {
            id,
            app: app.name,
            name,
            region: body.region ?? "iad",
            state: "created",
            instance_id: ulid(),
            config: JSON.parse(JSON.stringify(config)),
            private_ip: `fdaa:0:1:a7b:1::${(this.seq++).toString(16)}`,
            created_at: now,
            updated_at: now,
            pending: [],
            startedReads: 0,
            events: [],
            secretsVersion: body.skip_secrets ? 0 : app.secretsVersion,
        };
        this.event(machine, "launch", "created");
        this.machines.set(id, machine);
        if (typeof body.lease_ttl === "number" && body.lease_ttl > 0) {
            machine.lease = {
                nonce: randomBytes(8).toString("hex"),
                owner: this.owner,
                description: "",
                expiresMs: this.clock.now() + body.lease_ttl * 1000,
                version: machine.instance_id,
                conflicts: 0,
            };
        }
        if (body.skip_launch) machine.pending.push({ state: "stopped", polls: 0 });
        else this.launch(machine);
        return machine;
    }

    private updateMachine(app: FakeFlyApp, machine: FakeFlyMachine, body: any): FakeFlyMachine {
        if (machine.state === "destroyed" || machine.state === "destroying")
            throw new HttpError(412, `failed_precondition: machine is ${machine.state}`);
        if (body.current_version !== undefined && body.current_version !== machine.instance_id) {
            throw new HttpError(412, `failed_precondition: machine version is ${machine.instance_id}, not ${body.current_version}`);
        }
        if (body.config !== undefined && (typeof body.config?.image !== "string" || !body.config.image))
            throw new HttpError(400, "config.image is required");
        this.checkSecretsVersion(app, body);
        if (body.config) machine.config = JSON.parse(JSON.stringify(body.config));
        if (typeof body.name === "string") machine.name = body.name;
        machine.instance_id = ulid();
        machine.updated_at = this.iso();
        if (!body.skip_secrets) machine.secretsVersion = app.secretsVersion;
        this.event(machine, "update", "replacing");
        machine.pending = [];
        if (body.skip_launch) this.transition(machine, "stopped");
        else {
            this.transition(machine, "replacing");
            this.launch(machine);
        }
        return machine;
    }

    private checkSecretsVersion(app: FakeFlyApp, body: any): void {
        if (typeof body?.min_secrets_version === "number" && body.min_secrets_version > app.secretsVersion) {
            throw new HttpError(
                400,
                `min_secrets_version ${body.min_secrets_version} is newer than the app's secrets (version ${app.secretsVersion})`,
            );
        }
    }

    /** `starting` at the next look, then `started` (or `failed`, see failNextStart) after startPolls reads. */
    private launch(machine: FakeFlyMachine): void {
        const fails = this.failingLaunches.delete(machine.id);
        machine.pending = [
            { state: "starting", polls: 0 },
            { state: fails ? "failed" : "started", polls: this.startPolls },
        ];
    }

    private transition(machine: FakeFlyMachine, state: string): void {
        machine.state = state;
        if (state === "started") machine.startedReads = 0;
        this.event(
            machine,
            state === "started" ? "start" : state === "stopped" ? "exit" : state === "destroyed" ? "destroy" : "state",
            state,
        );
    }

    private event(machine: FakeFlyMachine, type: string, status: string): void {
        machine.events.push({ id: ulid(), type, status, source: "flyd", timestamp: this.clock.now() });
    }

    /**
     * One read of the machine (a GET of it): applies the transitions due,
     * then counts itself as having seen the state it leaves the machine in,
     * towards the next transition and, once started, towards its checks.
     */
    private read(machine: FakeFlyMachine): void {
        while (machine.pending.length && machine.pending[0].polls <= 0) this.transition(machine, machine.pending.shift()!.state);
        if (machine.pending.length) machine.pending[0].polls--;
        if (machine.state === "started") machine.startedReads++;
    }

    private iso(ms = this.clock.now()): string {
        return iso(ms);
    }

    // ---- views of the fake's own state (the rest are in views.ts) ---------------

    private checksView(machine: FakeFlyMachine): unknown[] | undefined {
        const names = Object.keys(machine.config?.checks ?? {});
        if (!names.length) return undefined;
        const healthy =
            machine.state === "started" && !this.unhealthyImages.has(machine.config.image) && machine.startedReads > this.checksPolls;
        return names.sort().map((name) => ({
            name,
            status: healthy ? "passing" : "critical",
            output: healthy
                ? "Success"
                : machine.state === "started"
                  ? `connect: connection refused (port ${machine.config.checks[name]?.port ?? 8080})`
                  : `machine is ${machine.state}`,
            updated_at: this.iso(),
        }));
    }

    private machineView(machine: FakeFlyMachine, includeLease = false, nonce?: string): unknown {
        const [repository, tag] = String(machine.config.image)
            .replace(/^[^/]+\//, "")
            .split(":");
        const lease = this.liveLease(machine);
        return {
            id: machine.id,
            name: machine.name,
            state: machine.state,
            region: machine.region,
            instance_id: machine.instance_id,
            private_ip: machine.private_ip,
            config: machine.config,
            image_ref: {
                registry: String(machine.config.image).includes("/") ? String(machine.config.image).split("/")[0] : "docker.io",
                repository,
                tag: tag ?? "latest",
                digest: "sha256:" + "0".repeat(64),
                labels: {},
            },
            created_at: machine.created_at,
            updated_at: machine.updated_at,
            events: machine.events.slice(-5).reverse(),
            host_status: "ok",
            ...(this.checksView(machine) ? { checks: this.checksView(machine) } : {}),
            ...(includeLease && lease
                ? { lease: { owner: lease.owner, description: lease.description, expires_at: Math.floor(lease.expiresMs / 1000) } }
                : {}),
            ...(nonce ? { nonce } : {}),
        };
    }
}

/** Sets FLY_API_TOKEN / FLY_API_URL; returns a function that restores them. */
export function setFlyEnv(values: { FLY_API_TOKEN?: string; FLY_API_URL?: string }): () => void {
    return setEnv(["FLY_API_TOKEN", "FLY_API_URL"], values);
}
