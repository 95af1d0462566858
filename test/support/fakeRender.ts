/**
 * A local, stateful fake of the Render API v1 for tests: a node http server
 * on 127.0.0.1 (random port) that answers in the shapes of
 * shared/specs/render.openapi.json (test/vendors/renderSpec.test.ts checks that).
 *
 * - Services of every type, with serviceDetails (a web service's url, plan,
 *   region, envSpecificDetails...) and the suspended flag; creation answers
 *   201 `{ service, deployId }` and starts the first deploy.
 * - Env vars: PUT on the collection replaces the whole list; per key upsert/delete.
 * - Deploys go created -> build_in_progress -> update_in_progress -> live,
 *   one step per `deployPollsPerStep` reads of the deploy (GET of it; the
 *   create's answer and lists do not count): with the default 1, successive
 *   polls see created, build_in_progress, update_in_progress, live. Infinity
 *   keeps deploys at `created` (a slow build). finishDeploys() takes every
 *   deploy to where it ends, for setup. failNextDeploy() makes the next one
 *   end in a failure status instead; a deploy going live deactivates the
 *   service's older live ones. Rollback creates a new deploy (trigger
 *   `rollback`) of an earlier one's commit/image and leaves autoDeploy alone.
 * - Scaling: POST /services/{id}/scale sets numInstances (202, no body).
 * - Custom domains: an apex domain brings its `www.` redirect, as Render does.
 * - Rate limits: service creations per hour and deploys per minute per
 *   service are counted in windows of the fake's clock (`clock`, which moves
 *   only when the test advances it); past them the answer is 429 with
 *   Retry-After, the time left in the window on that clock.
 * - Nothing depends on the wall clock: timestamps come from `clock` too.
 * - answerDeploysQueued(): create-deploy answers 202 Queued, without a body.
 * - Fault injection: inject() queues 429/5xx answers for a method and path;
 *   dropResponses() performs a request and destroys the socket unanswered.
 * - Every request is logged with its body, status and response.
 */
import { randomBytes } from "crypto";
import { FakeClock } from "./fakeClock";
import { FakeHttpServer, type Fault, HttpError, setEnv } from "./fakeHttp";

export type { Fault, LoggedRequest } from "./fakeHttp";

type Status =
    | "created"
    | "build_in_progress"
    | "update_in_progress"
    | "live"
    | "deactivated"
    | "build_failed"
    | "update_failed"
    | "canceled"
    | "pre_deploy_in_progress"
    | "pre_deploy_failed";

export type DeployFailure = "build_failed" | "update_failed" | "pre_deploy_failed" | "canceled" | "deactivated";

export interface FakeService {
    id: string;
    name: string;
    ownerId: string;
    type: string;
    autoDeploy: "yes" | "no";
    suspended: "suspended" | "not_suspended";
    suspenders: string[];
    slug: string;
    dashboardUrl: string;
    notifyOnFail: "default";
    rootDir: string;
    repo?: string;
    branch?: string;
    imagePath?: string;
    environmentId?: string;
    createdAt: string;
    updatedAt: string;
    serviceDetails: Record<string, any>;
}

export interface FakeDeploy {
    id: string;
    serviceId: string;
    trigger: string;
    commit?: { id: string; message: string; createdAt: string };
    image?: { ref: string; sha: string };
    /** Creation order (the fake's clock may not move between deploys). */
    seq: number;
    createdMs: number;
    /** The statuses it goes through, one per step. */
    plan: Status[];
    /** Index into plan of the current status. */
    step: number;
    /** Reads that saw the current step. */
    reads: number;
    /** Reads per step (deployPollsPerStep when it was created). */
    pollsPerStep: number;
    /** When it left `created`, and when it reached its last status (fake clock). */
    startedMs?: number;
    finishedMs?: number;
    canceledMs?: number;
    /** Set when a later deploy of the service went live: `live` reads `deactivated`. */
    deactivatedMs?: number;
}

export interface FakeDomain {
    id: string;
    serviceId: string;
    name: string;
    domainType: "apex" | "subdomain";
    publicSuffix: string;
    redirectForName: string;
    verificationStatus: "verified" | "unverified";
    createdAt: string;
}

export interface FakeRenderOptions {
    apiKey?: string;
    /** Reads of a deploy (GET of it) per status before it moves on; default 1; Infinity: it stays `created`. */
    deployPollsPerStep?: number;
    /** The fake's time (shared with other fakes, or with a tickPerRequestMs); a new FakeClock by default. */
    clock?: FakeClock;
    ownerId?: string;
    /** Default 20 an hour. */
    serviceCreatesPerHour?: number;
    /** Default 10 a minute per service. */
    deploysPerMinute?: number;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

function iso(ms: number): string {
    return new Date(ms).toISOString();
}

function id(prefix: string): string {
    return `${prefix}-${randomBytes(10).toString("hex")}`;
}

export class FakeRender extends FakeHttpServer {
    readonly services: FakeService[] = [];
    readonly envVars = new Map<string, { key: string; value: string }[]>();
    readonly deploys: FakeDeploy[] = [];
    readonly domains: FakeDomain[] = [];
    apiKey: string;
    ownerId: string;
    deployPollsPerStep: number;
    serviceCreatesPerHour: number;
    deploysPerMinute: number;
    /** Times of service creations and of deploys per service (rate limit windows). */
    private creations: number[] = [];
    private deployTimes = new Map<string, number[]>();
    private failing: DeployFailure[] = [];
    private queuedAnswers = 0;
    private deploySeq = 0;
    protected unauthorizedMessage = "unauthorized";

    private constructor(options: FakeRenderOptions) {
        super("/v1", options.clock);
        this.apiKey = options.apiKey ?? `rnd_fake${randomBytes(12).toString("hex")}`;
        this.ownerId = options.ownerId ?? "tea-fakeowner000000000";
        this.deployPollsPerStep = options.deployPollsPerStep ?? 1;
        this.serviceCreatesPerHour = options.serviceCreatesPerHour ?? 20;
        this.deploysPerMinute = options.deploysPerMinute ?? 10;
    }

    static async start(options: FakeRenderOptions = {}): Promise<FakeRender> {
        const fake = new FakeRender(options);
        await fake.listen();
        return fake;
    }

    /** Forgets every object, fault, rate-limit count and logged request. */
    reset(): void {
        this.resetHttp();
        for (const list of [this.services, this.deploys, this.domains, this.creations, this.failing] as unknown[][]) list.splice(0);
        this.envVars.clear();
        this.deployTimes.clear();
        this.queuedAnswers = 0;
    }

    /** The next deploy (of any service) ends in `status` instead of going live. */
    failNextDeploy(status: DeployFailure): void {
        this.failing.push(status);
    }

    /** The next `times` deploy creations are answered 202 Queued with no body (the deploy still starts). */
    answerDeploysQueued(times = 1): void {
        this.queuedAnswers += times;
    }

    /** Suspends a service (as a user or billing would). */
    suspend(serviceId: string): void {
        const s = this.service(serviceId);
        s.suspended = "suspended";
        s.suspenders = ["user"];
    }

    /** Counts `n` service creations at `atMs` on the fake's clock (default: now), as if made by someone else (to reach the limit). */
    useServiceCreations(n: number, atMs = this.clock.now()): void {
        for (let i = 0; i < n; i++) this.creations.push(atMs);
    }

    /** A deploy's status now (reading it here does not move it). */
    status(d: FakeDeploy): Status {
        if (d.canceledMs !== undefined) return "canceled";
        const s = d.plan[d.step];
        if (s === "live" && d.deactivatedMs !== undefined) return "deactivated";
        return s;
    }

    /** Takes every deploy still in progress to where it ends (live, or its failure), as if polled through; for setup. */
    finishDeploys(): void {
        for (const d of [...this.deploys].sort((a, b) => a.seq - b.seq)) {
            while (d.canceledMs === undefined && d.step < d.plan.length - 1) this.step(d);
        }
    }

    /** One read of a deploy: counted, and after pollsPerStep of them it moves to its next status. */
    private poll(d: FakeDeploy): void {
        if (d.canceledMs !== undefined || d.step >= d.plan.length - 1) return;
        d.reads++;
        if (d.reads >= d.pollsPerStep) this.step(d);
    }

    private step(d: FakeDeploy): void {
        const now = this.clock.now();
        d.step++;
        d.reads = 0;
        if (d.step === 1) d.startedMs = now;
        if (d.step === d.plan.length - 1) {
            d.finishedMs = now;
            // A deploy going live deactivates the service's older ones that went (or will go) live.
            if (d.plan[d.step] === "live") {
                for (const x of this.deploys) {
                    if (
                        x.serviceId === d.serviceId &&
                        x.seq < d.seq &&
                        x.canceledMs === undefined &&
                        x.deactivatedMs === undefined &&
                        x.plan[x.plan.length - 1] === "live"
                    )
                        x.deactivatedMs = now;
                }
            }
        }
    }

    private service(serviceId: string): FakeService {
        const s = this.services.find((x) => x.id === serviceId);
        if (!s) throw new HttpError(404, "service not found");
        return s;
    }

    // ---- HTTP ---------------------------------------------------------------

    protected authorized(authorization: string | undefined): boolean {
        return authorization === `Bearer ${this.apiKey}`;
    }

    protected errorBody(_status: number, message: string): unknown {
        return { id: id("err"), message };
    }

    protected faultBody(fault: Fault): unknown {
        return this.errorBody(
            fault.status,
            fault.status === 429 ? "rate limit exceeded" : fault.status === 503 ? "service unavailable" : "internal server error",
        );
    }

    protected internalErrorMessage(err: Error): string {
        return `fake: ${err.message}`;
    }

    protected route(method: string, path: string, q: URLSearchParams, body: any): [number, unknown] {
        const { status, body: response } = this.routeServices(method, path, q, body);
        return [status, response];
    }

    private routeServices(method: string, path: string, q: URLSearchParams, body: any): { status: number; body?: unknown } {
        const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
        if (parts[0] !== "services") throw new HttpError(404, "not found");
        const [, sid, sub, key, action] = parts;
        if (parts.length === 1) {
            if (method === "GET") return { status: 200, body: this.listServices(q) };
            if (method === "POST") return { status: 201, body: this.createService(body) };
        }
        const service = this.service(sid);
        if (parts.length === 2) {
            if (method === "GET") return { status: 200, body: service };
            if (method === "PATCH") return { status: 200, body: this.updateService(service, body) };
            if (method === "DELETE") {
                this.services.splice(this.services.indexOf(service), 1);
                this.envVars.delete(service.id);
                return { status: 204 };
            }
        }
        if (sub === "env-vars") return this.envVarsRoute(method, service, key, body, q, parts.length);
        if (sub === "deploys") {
            if (parts.length === 3 && method === "POST") {
                const deploy = this.createDeploy(service, body ?? {}, "api");
                if (this.queuedAnswers > 0) {
                    this.queuedAnswers--;
                    return { status: 202 };
                }
                return { status: 201, body: this.view(deploy) };
            }
            if (parts.length === 3 && method === "GET") {
                const statuses = q.get("status")?.split(",");
                const list = this.deploys
                    .filter((d) => d.serviceId === service.id && (!statuses || statuses.includes(this.status(d))))
                    .sort((a, b) => b.seq - a.seq)
                    .map((d) => ({ deploy: this.view(d), cursor: d.id }));
                return { status: 200, body: this.page(list, q) };
            }
            const d = this.deploys.find((x) => x.id === key && x.serviceId === service.id);
            if (!d) throw new HttpError(404, "deploy not found");
            if (parts.length === 4 && method === "GET") {
                // The answer shows the status the deploy had; the read then counts towards its next step.
                const body = this.view(d);
                this.poll(d);
                return { status: 200, body };
            }
            if (parts.length === 5 && action === "cancel" && method === "POST") {
                const s = this.status(d);
                if (["live", "deactivated", "build_failed", "update_failed", "pre_deploy_failed"].includes(s))
                    throw new HttpError(400, `deploy is ${s} and cannot be canceled`);
                if (s !== "canceled") d.canceledMs = d.finishedMs = this.clock.now();
                return { status: 200, body: this.view(d) };
            }
        }
        if (sub === "rollback" && parts.length === 3 && method === "POST") {
            if (typeof body?.deployId !== "string") throw new HttpError(400, "deployId is required");
            const from = this.deploys.find((x) => x.id === body.deployId && x.serviceId === service.id);
            if (!from) throw new HttpError(404, "deploy not found");
            if (!["live", "deactivated"].includes(this.status(from)))
                throw new HttpError(400, "can only roll back to a deploy that was live");
            return { status: 201, body: this.view(this.createDeploy(service, {}, "rollback", from)) };
        }
        if (sub === "scale" && parts.length === 3 && method === "POST") {
            if (!Number.isInteger(body?.numInstances) || body.numInstances < 1)
                throw new HttpError(400, "numInstances must be a whole number, at least 1");
            service.serviceDetails.numInstances = body.numInstances;
            service.updatedAt = iso(this.clock.now());
            return { status: 202 };
        }
        if (sub === "custom-domains") return this.domainsRoute(method, service, key, action, body, q, parts.length);
        throw new HttpError(404, "not found");
    }

    /** Cursor pagination: items after `cursor`, at most `limit` (default 20, 1..100). */
    private page<T extends { cursor: string }>(list: T[], q: URLSearchParams): T[] {
        const limit = q.has("limit") ? Number(q.get("limit")) : 20;
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, "limit must be between 1 and 100");
        const cursor = q.get("cursor");
        const start = cursor ? list.findIndex((x) => x.cursor === cursor) + 1 : 0;
        return list.slice(start, start + limit);
    }

    private listServices(q: URLSearchParams) {
        const names = q.get("name")?.split(",");
        const types = q.get("type")?.split(",");
        const owners = q.get("ownerId")?.split(",");
        const suspended = q.get("suspended")?.split(",");
        const list = this.services
            .filter(
                (s) =>
                    (!names || names.includes(s.name)) &&
                    (!types || types.includes(s.type)) &&
                    (!owners || owners.includes(s.ownerId)) &&
                    (!suspended || suspended.includes(s.suspended)),
            )
            .map((s) => ({ service: s, cursor: s.id }));
        return this.page(list, q);
    }

    private createService(body: any) {
        for (const f of ["type", "name", "ownerId"])
            if (typeof body?.[f] !== "string" || !body[f]) throw new HttpError(400, `${f} is required`);
        const types = ["static_site", "web_service", "private_service", "background_worker", "cron_job"];
        if (!types.includes(body.type)) throw new HttpError(400, `invalid type ${body.type}`);
        const now = this.clock.now();
        this.creations = this.creations.filter((t) => t > now - HOUR);
        if (this.creations.length >= this.serviceCreatesPerHour) {
            const wait = Math.ceil((this.creations[0] + HOUR - now) / 1000);
            throw new HttpError(429, "rate limit exceeded: too many services created", { "retry-after": String(wait) });
        }
        const d = body.serviceDetails ?? {};
        if (body.type !== "static_site" && typeof d.runtime !== "string") throw new HttpError(400, "serviceDetails.runtime is required");
        if (body.type === "cron_job" && typeof d.schedule !== "string") throw new HttpError(400, "serviceDetails.schedule is required");
        this.creations.push(now);
        const sid = id("srv");
        const slug = `${String(body.name)
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, "-")}-${sid.slice(4, 8)}`;
        const service: FakeService = {
            id: sid,
            name: body.name,
            ownerId: body.ownerId,
            type: body.type,
            autoDeploy: body.autoDeploy ?? "yes",
            suspended: "not_suspended",
            suspenders: [],
            slug,
            dashboardUrl: `https://dashboard.render.com/web/${sid}`,
            notifyOnFail: "default",
            rootDir: body.rootDir ?? "",
            ...(body.repo ? { repo: body.repo, branch: body.branch ?? "main" } : {}),
            ...(body.image ? { imagePath: body.image.imagePath } : {}),
            ...(body.environmentId ? { environmentId: body.environmentId } : {}),
            createdAt: iso(now),
            updatedAt: iso(now),
            serviceDetails: this.details(body.type, d, slug),
        };
        this.services.push(service);
        this.envVars.set(sid, []);
        if (Array.isArray(body.envVars)) this.envVars.set(sid, this.envInputs(body.envVars));
        const deploy = this.createDeploy(service, {}, "api", undefined, false);
        return { service, deployId: deploy.id };
    }

    private details(type: string, d: any, slug: string): Record<string, any> {
        const runtime = d.runtime ?? d.env ?? "node";
        const docker = runtime === "docker" || runtime === "image";
        // Render takes preDeployCommand in serviceDetails and shows it in envSpecificDetails.
        const env = {
            ...(d.envSpecificDetails ?? {}),
            ...(d.preDeployCommand !== undefined ? { preDeployCommand: d.preDeployCommand } : {}),
        };
        const envSpecificDetails = docker
            ? {
                  dockerCommand: env.dockerCommand ?? "",
                  dockerContext: env.dockerContext ?? ".",
                  dockerfilePath: env.dockerfilePath ?? "./Dockerfile",
                  ...(env.preDeployCommand ? { preDeployCommand: env.preDeployCommand } : {}),
              }
            : {
                  buildCommand: env.buildCommand ?? "",
                  startCommand: env.startCommand ?? "",
                  ...(env.preDeployCommand ? { preDeployCommand: env.preDeployCommand } : {}),
              };
        const url = `https://${slug}.onrender.com`;
        if (type === "static_site")
            return {
                buildCommand: d.buildCommand ?? "",
                publishPath: d.publishPath ?? "public",
                url,
                buildPlan: "starter",
                previews: { generation: "off" },
            };
        const common = {
            env: runtime,
            runtime,
            envSpecificDetails,
            plan: d.plan ?? "starter",
            region: d.region ?? "oregon",
            buildPlan: "starter",
        };
        if (type === "cron_job") return { ...common, schedule: d.schedule };
        const scaled = { ...common, numInstances: d.numInstances ?? 1, previews: { generation: "off" }, pullRequestPreviewsEnabled: "no" };
        if (type === "background_worker") return scaled;
        if (type === "private_service") return { ...scaled, openPorts: [], url: `${slug}:10000` };
        return { ...scaled, healthCheckPath: d.healthCheckPath ?? "", openPorts: [{ port: 10000, protocol: "TCP" }], url };
    }

    private updateService(service: FakeService, body: any) {
        if (!body || typeof body !== "object") throw new HttpError(400, "body required");
        for (const k of ["name", "autoDeploy", "repo", "branch", "rootDir"] as const)
            if (body[k] !== undefined) (service as any)[k] = body[k];
        if (body.image?.imagePath) service.imagePath = body.image.imagePath;
        const d = body.serviceDetails;
        if (d && typeof d === "object") {
            for (const k of ["plan", "healthCheckPath", "numInstances", "buildCommand", "publishPath", "schedule"])
                if (d[k] !== undefined) service.serviceDetails[k] = d[k];
            if (d.envSpecificDetails)
                service.serviceDetails.envSpecificDetails = { ...service.serviceDetails.envSpecificDetails, ...d.envSpecificDetails };
            if (d.preDeployCommand !== undefined) {
                const { preDeployCommand: _old, ...rest } = service.serviceDetails.envSpecificDetails ?? {};
                service.serviceDetails.envSpecificDetails = {
                    ...rest,
                    ...(d.preDeployCommand ? { preDeployCommand: d.preDeployCommand } : {}),
                };
            }
        }
        service.updatedAt = iso(this.clock.now());
        return service;
    }

    private envInputs(list: any[]): { key: string; value: string }[] {
        const out = new Map<string, string>();
        for (const v of list) {
            if (typeof v?.key !== "string" || !v.key) throw new HttpError(400, "every env var needs a key");
            if (typeof v.value === "string") out.set(v.key, v.value);
            else if (v.generateValue === true) out.set(v.key, randomBytes(24).toString("base64url"));
            else throw new HttpError(400, `env var ${v.key} needs a value or generateValue`);
        }
        return [...out].map(([key, value]) => ({ key, value }));
    }

    private envVarsRoute(method: string, service: FakeService, key: string | undefined, body: any, q: URLSearchParams, n: number) {
        const list = this.envVars.get(service.id) ?? [];
        if (n === 3) {
            if (method === "GET")
                return {
                    status: 200,
                    body: this.page(
                        list.map((v) => ({ envVar: v, cursor: v.key })),
                        q,
                    ),
                };
            if (method === "PUT") {
                if (!Array.isArray(body)) throw new HttpError(400, "body must be an array of env vars");
                const next = this.envInputs(body);
                this.envVars.set(service.id, next);
                return { status: 200, body: next.map((v) => ({ envVar: v, cursor: v.key })) };
            }
        }
        if (n === 4 && key) {
            const i = list.findIndex((v) => v.key === key);
            if (method === "GET") {
                if (i < 0) throw new HttpError(404, "env var not found");
                return { status: 200, body: list[i] };
            }
            if (method === "PUT") {
                const value =
                    typeof body?.value === "string"
                        ? body.value
                        : body?.generateValue === true
                          ? randomBytes(24).toString("base64url")
                          : undefined;
                if (value === undefined) throw new HttpError(400, "value or generateValue is required");
                const v = { key, value };
                if (i < 0) list.push(v);
                else list[i] = v;
                this.envVars.set(service.id, list);
                return { status: 200, body: v };
            }
            if (method === "DELETE") {
                if (i < 0) throw new HttpError(404, "env var not found");
                list.splice(i, 1);
                return { status: 204 };
            }
        }
        throw new HttpError(404, "not found");
    }

    private createDeploy(service: FakeService, body: any, trigger: string, from?: FakeDeploy, limited = true): FakeDeploy {
        if (body.clearCache !== undefined && !["clear", "do_not_clear"].includes(body.clearCache))
            throw new HttpError(400, "clearCache must be clear or do_not_clear");
        if (service.suspended === "suspended") throw new HttpError(400, "service is suspended; resume it before deploying");
        const now = this.clock.now();
        if (limited) {
            const times = (this.deployTimes.get(service.id) ?? []).filter((t) => t > now - MINUTE);
            this.deployTimes.set(service.id, times);
            if (times.length >= this.deploysPerMinute) {
                const wait = Math.ceil((times[0] + MINUTE - now) / 1000);
                throw new HttpError(429, "rate limit exceeded: too many deploys for this service", { "retry-after": String(wait) });
            }
            times.push(now);
        }
        const failure = this.failing.shift();
        const plans: Record<string, Status[]> = {
            ok: ["created", "build_in_progress", "update_in_progress", "live"],
            build_failed: ["created", "build_in_progress", "build_failed"],
            pre_deploy_failed: ["created", "build_in_progress", "pre_deploy_in_progress", "pre_deploy_failed"],
            update_failed: ["created", "build_in_progress", "update_in_progress", "update_failed"],
            canceled: ["created", "build_in_progress", "canceled"],
            deactivated: ["created", "build_in_progress", "update_in_progress", "deactivated"],
        };
        const commitId = body.commitId ?? from?.commit?.id ?? randomBytes(20).toString("hex");
        const deploy: FakeDeploy = {
            id: id("dep"),
            serviceId: service.id,
            trigger,
            seq: ++this.deploySeq,
            createdMs: now,
            plan: plans[failure ?? "ok"],
            step: 0,
            reads: 0,
            pollsPerStep: Math.max(1, this.deployPollsPerStep),
        };
        const image = body.imageUrl ?? (from?.image ? from.image.ref : service.imagePath);
        if (image) deploy.image = { ref: image, sha: from?.image?.sha ?? `sha256:${randomBytes(32).toString("hex")}` };
        else deploy.commit = { id: commitId, message: from?.commit?.message ?? `commit ${commitId.slice(0, 7)}`, createdAt: iso(now) };
        this.deploys.push(deploy);
        return deploy;
    }

    /** The deploy as the API shows it now (timestamps from the fake's clock). */
    private view(d: FakeDeploy) {
        const status = this.status(d);
        const terminal = !["created", "build_in_progress", "update_in_progress", "pre_deploy_in_progress"].includes(status);
        const finishedMs = d.finishedMs ?? d.createdMs;
        const updatedMs = Math.max(d.createdMs, d.startedMs ?? 0, d.finishedMs ?? 0, d.deactivatedMs ?? 0);
        return {
            id: d.id,
            ...(d.commit ? { commit: d.commit } : {}),
            ...(d.image ? { image: d.image } : {}),
            status,
            trigger: d.trigger,
            createdAt: iso(d.createdMs),
            updatedAt: iso(updatedMs),
            ...(status !== "created" ? { startedAt: iso(d.startedMs ?? d.createdMs) } : {}),
            ...(terminal ? { finishedAt: iso(finishedMs) } : {}),
        };
    }

    private domainsRoute(
        method: string,
        service: FakeService,
        key: string | undefined,
        action: string | undefined,
        body: any,
        q: URLSearchParams,
        n: number,
    ) {
        const mine = this.domains.filter((x) => x.serviceId === service.id);
        const view = (x: FakeDomain) => ({
            id: x.id,
            name: x.name,
            domainType: x.domainType,
            publicSuffix: x.publicSuffix,
            redirectForName: x.redirectForName,
            verificationStatus: x.verificationStatus,
            createdAt: x.createdAt,
            server: { id: service.id, name: service.name },
        });
        if (n === 3 && method === "GET") {
            const name = q.get("name");
            return {
                status: 200,
                body: this.page(
                    mine.filter((x) => !name || x.name === name).map((x) => ({ customDomain: view(x), cursor: x.id })),
                    q,
                ),
            };
        }
        if (n === 3 && method === "POST") {
            const name = typeof body?.name === "string" ? body.name.trim().toLowerCase() : "";
            if (!/^([a-z0-9-]+\.)+[a-z]{2,}$/.test(name)) throw new HttpError(400, "name must be a domain name");
            if (this.domains.some((x) => x.name === name)) throw new HttpError(409, `custom domain ${name} already exists`);
            const labels = name.split(".");
            const apex = labels.length === 2;
            const make = (domainName: string, type: "apex" | "subdomain", redirect: string): FakeDomain => ({
                id: id("cdm"),
                serviceId: service.id,
                name: domainName,
                domainType: type,
                publicSuffix: labels[labels.length - 1],
                redirectForName: redirect,
                verificationStatus: "unverified",
                createdAt: iso(this.clock.now()),
            });
            const made = apex ? [make(name, "apex", ""), make(`www.${name}`, "subdomain", name)] : [make(name, "subdomain", "")];
            this.domains.push(...made);
            return { status: 201, body: made.map(view) };
        }
        const d = mine.find((x) => x.id === key || x.name === key);
        if (!d) throw new HttpError(404, "custom domain not found");
        if (n === 4 && method === "GET") return { status: 200, body: view(d) };
        if (n === 4 && method === "DELETE") {
            this.domains.splice(this.domains.indexOf(d), 1);
            return { status: 204 };
        }
        if (n === 5 && action === "verify" && method === "POST") {
            d.verificationStatus = "verified";
            return { status: 202 };
        }
        throw new HttpError(404, "not found");
    }
}

/** Sets RENDER_API_KEY / RENDER_API_URL (undefined deletes); returns a function that restores them. */
export function setRenderEnv(values: { RENDER_API_KEY?: string; RENDER_API_URL?: string }): () => void {
    return setEnv(["RENDER_API_KEY", "RENDER_API_URL"], values);
}
