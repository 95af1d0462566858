/**
 * A local, stateful fake of the parts of Vercel's REST API that Keel's
 * rollback uses: a node http server on 127.0.0.1 (random port) answering in
 * the shapes of @vercel/sdk's models, which are generated from Vercel's
 * OpenAPI (test/vendors/vercel.test.ts validates the answers against those
 * models and drives the SDK itself against the fake).
 *
 * - Projects (addProject) and their deployments (addDeployment): every
 *   timestamp (created, ready) is given by the test. Vercel pages
 *   list-deployments by created time, so one project's deployments need
 *   distinct created times (addDeployment refuses a repeat).
 * - Production: a READY production deployment goes live when added (the
 *   project's targets.production) while the project assigns production
 *   domains automatically, as Vercel does; `promote: false` leaves it STAGED.
 *   setProduction() moves production directly, for setup.
 * - GET /v6/deployments (as Vercel's CLI and Keel call it) and /v7/deployments
 *   (as Vercel's OpenAPI and the SDK call it): projectId, target, state (comma list), since,
 *   until (exclusive), limit (default 20, at most 100), rollbackCandidate;
 *   newest first; `pagination.next` is the last item's created time when more
 *   remain (the client sends it back as `until`), else null.
 * - GET /v9/projects/{idOrName}: the project, its targets.production and
 *   lastAliasRequest.
 * - POST /v9/projects/{projectId}/rollback/{deploymentId} (as Vercel's CLI
 *   calls it) and /v1/... (as Vercel's OpenAPI and the SDK call it): 201
 *   without a body; lastAliasRequest goes in-progress and, after
 *   `rollbackReadsToComplete` reads of the project (default 1: the first
 *   read after the request still shows in-progress), succeeded, with
 *   targets.production moved; failNextRollback() makes the next one end
 *   `failed` with production unchanged. A rollback turns off automatic
 *   production domains (autoAssignCustomDomains false), as Vercel's does.
 * - plan "hobby" | "pro": which deployments are rollback candidates. Pro:
 *   every READY production deployment that served production, but the
 *   current one. Hobby: only the previous production deployment (the newest
 *   one that served production and went live before the current one).
 *   Rolling back to any other answers 400 with Vercel's wording of the rule.
 *   The status and error code Vercel sends for these refusals are not in its
 *   published contract; 400 `rollback_not_allowed` here is a stand-in.
 * - Team scope: with `teamId`, projects belong to that team; a request
 *   without teamId does not see them (404, empty lists), one with another
 *   team's id is 403 forbidden.
 * - Token check: a wrong or missing bearer token is 401 with
 *   `{ error: { code: "forbidden", message, invalidToken: true } }` (Vercel's
 *   body for a bad token; its status may be 403, which Keel treats alike).
 * - Faults: inject() queues 429/5xx answers (with Retry-After) for the next
 *   N matching requests; rateLimitNext() answers 429 with Vercel's
 *   X-RateLimit-* headers and body instead (reset on the fake's clock);
 *   dropResponses() carries a request out and destroys its socket.
 * - Project environment variables (as a preview's backend URL uses them):
 *   GET /v10/projects/{idOrName}/env (gitBranch narrows to that branch's; values
 *   come back as ciphertext unless decrypt=true; one page, pagination.next
 *   null), POST /v10/projects/{idOrName}/env (one variable or a list; answers
 *   201 `{ created, failed: [] }`; a second variable with the same key, an
 *   overlapping target and the same gitBranch is 400 ENV_ALREADY_EXISTS, as is
 *   gitBranch on a target other than preview alone: 400 bad_request), PATCH
 *   and DELETE /v9/projects/{idOrName}/env/{id} (404 not_found when there is
 *   none). Each keeps key, value, type, target, gitBranch and comment.
 * - Nothing depends on the wall clock: requestedAt and project timestamps
 *   come from `clock`; progress is counted in requests.
 * - Every request is logged (method, path, query, body, status, response).
 */
import { randomBytes } from "crypto";
import { FakeClock } from "./fakeClock";
import { Answer, FakeHttpServer, type Fault, HttpError, setEnv } from "./fakeHttp";

export type { Fault, LoggedRequest } from "./fakeHttp";

export type VercelPlan = "hobby" | "pro";
export type ReadyState = "BLOCKED" | "BUILDING" | "CANCELED" | "ERROR" | "INITIALIZING" | "QUEUED" | "READY";

export interface FakeVercelProject {
    id: string;
    name: string;
    createdAt: number;
    updatedAt: number;
    /** The deployment serving production (targets.production). */
    productionId?: string;
    autoAssignCustomDomains: boolean;
    lastAliasRequest: AliasRequest | null;
    /** A rollback Vercel has accepted and not finished. */
    pending?: { toDeploymentId: string; reads: number; fail: boolean };
    /** The project's environment variables. */
    envs: FakeVercelEnv[];
}

export type VercelEnvTarget = "production" | "preview" | "development";

export interface FakeVercelEnv {
    id: string;
    key: string;
    value: string;
    type: "encrypted" | "sensitive" | "plain" | "secret" | "system";
    target: VercelEnvTarget[];
    gitBranch?: string;
    comment?: string;
    createdAt: number;
    updatedAt: number;
}

export interface AliasRequest {
    fromDeploymentId: string | null;
    jobStatus: "pending" | "in-progress" | "succeeded" | "failed" | "skipped";
    requestedAt: number;
    toDeploymentId: string;
    type: "rollback" | "promote";
}

export interface FakeVercelDeployment {
    uid: string;
    projectId: string;
    name: string;
    url: string;
    created: number;
    ready?: number;
    readyState: ReadyState;
    target: "production" | null;
    /** It has served production (aliased to the production domains) at some time. */
    servedProduction: boolean;
    meta: Record<string, string>;
}

export interface AddDeployment {
    /** ms since epoch. */
    created: number;
    /** ms since epoch, at or after created; default: created (READY ones only). */
    ready?: number;
    /** Default READY. */
    state?: ReadyState;
    /** Default production; null for a preview. */
    target?: "production" | null;
    /** Whether it goes live (targets.production) when added; default: the project assigns production domains automatically. */
    promote?: boolean;
    meta?: Record<string, string>;
    uid?: string;
}

export interface FakeVercelOptions {
    token?: string;
    plan?: VercelPlan;
    /** The team the projects belong to; undefined: a personal account. */
    teamId?: string;
    /** The fake's time (requestedAt, project timestamps, rate-limit resets); a new FakeClock by default. */
    clock?: FakeClock;
    /** Reads of the project after a rollback request before it completes; default 1; Infinity: it never does. */
    rollbackReadsToComplete?: number;
}

const CODES: Record<number, string> = {
    400: "bad_request",
    401: "forbidden",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
};

function rand(n: number): string {
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
}

/** An error answer with Vercel's error code. */
class VercelHttpError extends HttpError {
    constructor(
        status: number,
        readonly code: string,
        message: string,
        headers: Record<string, string> = {},
    ) {
        super(status, `${code}\u0000${message}`, headers);
    }
}

export class FakeVercel extends FakeHttpServer {
    readonly projects: FakeVercelProject[] = [];
    readonly deployments: FakeVercelDeployment[] = [];
    token: string;
    plan: VercelPlan;
    teamId?: string;
    rollbackReadsToComplete: number;
    readonly accountId: string;
    private failingRollbacks = 0;
    private rateLimited: { times: number; resetInS: number }[] = [];
    protected unauthorizedMessage = "Not authorized";

    private constructor(options: FakeVercelOptions) {
        super("", options.clock);
        this.token = options.token ?? `vcp_fake${randomBytes(16).toString("hex")}`;
        this.plan = options.plan ?? "pro";
        this.teamId = options.teamId;
        this.rollbackReadsToComplete = options.rollbackReadsToComplete ?? 1;
        this.accountId = options.teamId ?? `user_${rand(24)}`;
    }

    static async start(options: FakeVercelOptions = {}): Promise<FakeVercel> {
        const fake = new FakeVercel(options);
        await fake.listen();
        return fake;
    }

    /** Forgets every project, deployment, fault and logged request. */
    reset(): void {
        this.resetHttp();
        this.projects.splice(0);
        this.deployments.splice(0);
        this.failingRollbacks = 0;
        this.rateLimited = [];
        this.rollbackReadsToComplete = 1;
    }

    addProject(options: { name: string; id?: string }): FakeVercelProject {
        const now = this.clock.now();
        const project: FakeVercelProject = {
            id: options.id ?? `prj_${rand(28)}`,
            name: options.name,
            createdAt: now,
            updatedAt: now,
            autoAssignCustomDomains: true,
            lastAliasRequest: null,
            envs: [],
        };
        this.projects.push(project);
        return project;
    }

    addDeployment(projectId: string, d: AddDeployment): FakeVercelDeployment {
        const project = this.projects.find((p) => p.id === projectId);
        if (!project) throw new Error(`fake: no project ${projectId}`);
        const state = d.state ?? "READY";
        const ready = state === "READY" ? (d.ready ?? d.created) : undefined;
        if (ready !== undefined && ready < d.created) throw new Error(`fake: ready (${ready}) is before created (${d.created})`);
        if (this.deployments.some((x) => x.projectId === projectId && x.created === d.created))
            throw new Error(`fake: project ${project.name} already has a deployment created at ${d.created}; Vercel pages by created time`);
        const uid = d.uid ?? `dpl_${rand(28)}`;
        const deployment: FakeVercelDeployment = {
            uid,
            projectId,
            name: project.name,
            url: `${project.name}-${rand(9).toLowerCase()}-${this.teamId ? "team" : "me"}.vercel.app`,
            created: d.created,
            ready,
            readyState: state,
            target: d.target === undefined ? "production" : d.target,
            servedProduction: false,
            meta: d.meta ?? {},
        };
        this.deployments.push(deployment);
        if (state === "READY" && deployment.target === "production" && (d.promote ?? project.autoAssignCustomDomains)) {
            this.goLive(project, deployment);
        }
        return deployment;
    }

    /** Moves production to a deployment (setup; no alias request is recorded). */
    setProduction(projectId: string, uid: string): void {
        this.goLive(this.project(projectId), this.deployment(projectId, uid));
    }

    /** The deployment serving production now. */
    production(projectId: string): FakeVercelDeployment | undefined {
        const p = this.project(projectId);
        return p.productionId ? this.deployment(p.id, p.productionId) : undefined;
    }

    /** What Vercel would offer to roll back to, newest first (see the plan rules above). */
    candidates(projectId: string): FakeVercelDeployment[] {
        const project = this.project(projectId);
        const current = this.production(project.id);
        const liveSince = (d: FakeVercelDeployment) => d.ready ?? d.created;
        const served = this.deployments
            .filter(
                (d) =>
                    d.projectId === project.id &&
                    d.readyState === "READY" &&
                    d.target === "production" &&
                    d.servedProduction &&
                    d.uid !== current?.uid,
            )
            .sort((a, b) => liveSince(b) - liveSince(a) || b.created - a.created);
        if (this.plan === "pro") return served;
        const previous = current ? served.find((d) => liveSince(d) < liveSince(current)) : undefined;
        return previous ? [previous] : [];
    }

    /** Adds an environment variable directly (setup: someone else's, or one left behind). */
    addEnv(projectIdOrName: string, env: Omit<FakeVercelEnv, "id" | "createdAt" | "updatedAt"> & { id?: string }): FakeVercelEnv {
        const project = this.project(projectIdOrName);
        const now = this.clock.now();
        const made: FakeVercelEnv = { ...env, id: env.id ?? rand(16), createdAt: now, updatedAt: now };
        project.envs.push(made);
        return made;
    }

    /** The project's environment variables as stored (values in plain text), for assertions. */
    envs(projectIdOrName: string): FakeVercelEnv[] {
        return this.project(projectIdOrName).envs;
    }

    /** The next rollback Vercel accepts ends `failed`, production unchanged. */
    failNextRollback(times = 1): void {
        this.failingRollbacks += times;
    }

    /** The next `times` requests are answered 429 with X-RateLimit-Reset `resetInS` seconds ahead on the fake's clock (no Retry-After). */
    rateLimitNext(times = 1, resetInS = 1): void {
        this.rateLimited.push({ times, resetInS });
    }

    private goLive(project: FakeVercelProject, deployment: FakeVercelDeployment): void {
        project.productionId = deployment.uid;
        deployment.servedProduction = true;
        project.updatedAt = this.clock.now();
    }

    private project(idOrName: string): FakeVercelProject {
        const p = this.projects.find((x) => x.id === idOrName || x.name === idOrName);
        if (!p) throw new VercelHttpError(404, "not_found", "Project not found");
        return p;
    }

    private deployment(projectId: string, uid: string): FakeVercelDeployment {
        const d = this.deployments.find((x) => x.uid === uid && x.projectId === projectId);
        if (!d) throw new VercelHttpError(404, "not_found", "Deployment not found");
        return d;
    }

    // ---- HTTP ---------------------------------------------------------------

    protected authorized(authorization: string | undefined): boolean {
        return authorization === `Bearer ${this.token}`;
    }

    protected errorBody(status: number, message: string): unknown {
        const [code, text] = message.includes("\u0000") ? message.split("\u0000") : [CODES[status] ?? "error", message];
        return { error: { code, message: text, ...(status === 401 ? { invalidToken: true } : {}) } };
    }

    protected faultBody(fault: Fault): unknown {
        const text: Record<number, string> = { 429: "Rate limit exceeded", 503: "Service unavailable" };
        return this.errorBody(fault.status, text[fault.status] ?? "An unexpected internal error occurred");
    }

    protected internalErrorMessage(err: Error): string {
        return `fake: ${err.message}`;
    }

    protected intercept(): Answer | undefined {
        const limit = this.rateLimited.find((r) => r.times > 0);
        if (!limit) return undefined;
        limit.times--;
        const resetMs = this.clock.now() + limit.resetInS * 1000;
        const reset = Math.ceil(resetMs / 1000);
        return [
            429,
            { error: { code: "rate_limited", message: "Rate limit exceeded", limit: { remaining: 0, reset, resetMs, total: 100 } } },
            { "x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        ];
    }

    /** The request's scope: 403 for another team, false when the projects' team was not asked for. */
    private inScope(q: URLSearchParams): boolean {
        const asked = q.get("teamId") ?? undefined;
        if (asked !== undefined && asked !== this.teamId) throw new VercelHttpError(403, "forbidden", "Not authorized");
        return asked === this.teamId;
    }

    protected route(method: string, path: string, q: URLSearchParams, body?: any): [number, unknown] {
        const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
        const scoped = this.inScope(q);
        if (method === "GET" && parts.length === 2 && (parts[0] === "v6" || parts[0] === "v7") && parts[1] === "deployments") {
            return [200, this.listDeployments(q, scoped)];
        }
        if (parts[1] === "projects" && parts.length >= 3) {
            if (!scoped) throw new VercelHttpError(404, "not_found", "Project not found");
            const project = this.project(parts[2]);
            if (method === "GET" && parts.length === 3 && parts[0] === "v9") {
                // The answer shows the project as it was; the read then counts towards a pending rollback.
                const body = this.projectView(project);
                this.poll(project);
                return [200, body];
            }
            if (method === "POST" && parts.length === 5 && parts[3] === "rollback" && (parts[0] === "v9" || parts[0] === "v1")) {
                this.rollback(project, parts[4]);
                return [201, undefined];
            }
            if (parts[3] === "env") {
                if (parts.length === 4 && parts[0] === "v10" && method === "GET") return [200, this.listEnvs(project, q)];
                if (parts.length === 4 && parts[0] === "v10" && method === "POST") return [201, this.createEnvs(project, body)];
                if (parts.length === 5 && parts[0] === "v9") {
                    const env = project.envs.find((e) => e.id === parts[4]);
                    if (!env) throw new VercelHttpError(404, "not_found", "Environment Variable was not found");
                    if (method === "PATCH") return [200, this.editEnv(project, env, body ?? {})];
                    if (method === "DELETE") {
                        project.envs.splice(project.envs.indexOf(env), 1);
                        return [200, this.envView(env, false)];
                    }
                }
            }
        }
        throw new VercelHttpError(404, "not_found", "The requested path was not found");
    }

    private listEnvs(project: FakeVercelProject, q: URLSearchParams): unknown {
        const branch = q.get("gitBranch") ?? undefined;
        const decrypt = q.get("decrypt") === "true";
        const envs = project.envs.filter((e) => branch === undefined || e.gitBranch === branch);
        return { envs: envs.map((e) => this.envView(e, decrypt)), pagination: { count: envs.length, next: null, prev: null } };
    }

    /** Vercel's checks on a variable as it would be stored: types, targets, gitBranch only for preview alone, no duplicate. */
    private validateEnv(project: FakeVercelProject, env: Omit<FakeVercelEnv, "createdAt" | "updatedAt">): void {
        const targets: VercelEnvTarget[] = ["production", "preview", "development"];
        if (typeof env.key !== "string" || !env.key)
            throw new VercelHttpError(400, "bad_request", "Invalid request: missing required property `key`");
        if (typeof env.value !== "string") throw new VercelHttpError(400, "bad_request", "Invalid request: `value` should be string");
        if (!["encrypted", "sensitive", "plain", "secret", "system"].includes(env.type))
            throw new VercelHttpError(
                400,
                "bad_request",
                "Invalid request: `type` should be one of encrypted, sensitive, plain, secret, system",
            );
        if (!Array.isArray(env.target) || !env.target.length || env.target.some((t) => !targets.includes(t)))
            throw new VercelHttpError(400, "bad_request", "Invalid request: `target` should be a list of production, preview, development");
        if (env.gitBranch !== undefined && (env.target.length !== 1 || env.target[0] !== "preview"))
            throw new VercelHttpError(400, "bad_request", "Invalid request: `gitBranch` is only allowed with target preview");
        const clash = project.envs.find(
            (e) => e.id !== env.id && e.key === env.key && e.gitBranch === env.gitBranch && e.target.some((t) => env.target.includes(t)),
        );
        if (clash) {
            throw new VercelHttpError(
                400,
                "ENV_ALREADY_EXISTS",
                `A variable with the name \`${env.key}\` already exists for the target ${clash.target.join(",")}${env.gitBranch ? ` on branch ${env.gitBranch}` : ""}`,
            );
        }
    }

    private createEnvs(project: FakeVercelProject, body: any): unknown {
        const list = Array.isArray(body) ? body : [body ?? {}];
        const made: FakeVercelEnv[] = [];
        for (const b of list) {
            const now = this.clock.now();
            const env: FakeVercelEnv = {
                id: rand(16),
                key: b.key,
                value: b.value,
                type: b.type,
                target: typeof b.target === "string" ? [b.target] : b.target,
                ...(typeof b.gitBranch === "string" && b.gitBranch ? { gitBranch: b.gitBranch } : {}),
                ...(typeof b.comment === "string" && b.comment ? { comment: b.comment } : {}),
                createdAt: now,
                updatedAt: now,
            };
            this.validateEnv(project, env);
            project.envs.push(env);
            made.push(env);
        }
        const views = made.map((e) => this.envView(e, false));
        return { created: Array.isArray(body) ? views : views[0], failed: [] };
    }

    private editEnv(project: FakeVercelProject, env: FakeVercelEnv, b: any): unknown {
        const next: FakeVercelEnv = { ...env };
        if (b.key !== undefined) next.key = b.key;
        if (b.value !== undefined) next.value = b.value;
        if (b.type !== undefined) next.type = b.type;
        if (b.target !== undefined) next.target = typeof b.target === "string" ? [b.target] : b.target;
        if (b.gitBranch === null || b.gitBranch === "") delete next.gitBranch;
        else if (b.gitBranch !== undefined) next.gitBranch = b.gitBranch;
        if (b.comment !== undefined) next.comment = b.comment || undefined;
        if (next.comment === undefined) delete next.comment;
        this.validateEnv(project, next);
        Object.assign(env, next, { updatedAt: this.clock.now() });
        if (env.comment === undefined) delete env.comment;
        if (env.gitBranch === undefined) delete env.gitBranch;
        return this.envView(env, false);
    }

    private listDeployments(q: URLSearchParams, scoped: boolean): unknown {
        const limit = q.has("limit") ? Number(q.get("limit")) : 20;
        if (!Number.isInteger(limit) || limit < 1 || limit > 100)
            throw new VercelHttpError(400, "bad_request", "Invalid request: `limit` should be <= 100 and >= 1");
        const projectId = q.get("projectId");
        const project = projectId ? this.projects.find((p) => p.id === projectId || p.name === projectId) : undefined;
        const states = q.get("state")?.split(",");
        const target = q.get("target");
        const until = q.has("until") ? Number(q.get("until")) : undefined;
        const since = q.has("since") ? Number(q.get("since")) : undefined;
        const onlyCandidates = q.get("rollbackCandidate") === "true";
        const candidates = new Map<string, Set<string>>();
        const candidatesOf = (pid: string) => {
            if (!candidates.has(pid)) candidates.set(pid, new Set(this.candidates(pid).map((d) => d.uid)));
            return candidates.get(pid)!;
        };
        const all = this.deployments
            .filter(
                (d) =>
                    scoped &&
                    (!projectId || d.projectId === project?.id) &&
                    (!states || states.includes(d.readyState)) &&
                    (!target || d.target === target) &&
                    (until === undefined || d.created < until) &&
                    (since === undefined || d.created > since) &&
                    (!onlyCandidates || candidatesOf(d.projectId).has(d.uid)),
            )
            .sort((a, b) => b.created - a.created);
        const page = all.slice(0, limit);
        return {
            deployments: page.map((d) => this.deploymentView(d, candidatesOf(d.projectId).has(d.uid))),
            pagination: {
                count: page.length,
                next: all.length > page.length ? page[page.length - 1].created : null,
                prev: page.length ? page[0].created : null,
            },
        };
    }

    private rollback(project: FakeVercelProject, uid: string): void {
        const to = this.deployment(project.id, uid);
        const current = this.production(project.id);
        if (to.uid === current?.uid)
            throw new VercelHttpError(400, "rollback_not_allowed", "The deployment is already the current production deployment");
        if (!this.candidates(project.id).some((d) => d.uid === to.uid)) {
            throw new VercelHttpError(
                400,
                "rollback_not_allowed",
                this.plan === "hobby"
                    ? "On the Hobby plan, you can only roll back to the previous production deployment. Upgrade to Pro to roll back to any eligible deployment."
                    : "The deployment is not eligible for rollback: only READY deployments that served production can be rolled back to",
            );
        }
        project.lastAliasRequest = {
            fromDeploymentId: current?.uid ?? null,
            jobStatus: "in-progress",
            requestedAt: this.clock.now(),
            toDeploymentId: to.uid,
            type: "rollback",
        };
        project.autoAssignCustomDomains = false;
        project.updatedAt = this.clock.now();
        const fail = this.failingRollbacks > 0;
        if (fail) this.failingRollbacks--;
        project.pending = { toDeploymentId: to.uid, reads: 0, fail };
        if (this.rollbackReadsToComplete <= 0) this.finishRollback(project);
    }

    private poll(project: FakeVercelProject): void {
        if (!project.pending) return;
        project.pending.reads++;
        if (project.pending.reads >= this.rollbackReadsToComplete) this.finishRollback(project);
    }

    private finishRollback(project: FakeVercelProject): void {
        const pending = project.pending!;
        project.pending = undefined;
        if (pending.fail) {
            project.lastAliasRequest = { ...project.lastAliasRequest!, jobStatus: "failed" };
            return;
        }
        this.goLive(project, this.deployment(project.id, pending.toDeploymentId));
        project.lastAliasRequest = { ...project.lastAliasRequest!, jobStatus: "succeeded" };
    }

    // ---- views (the shapes of @vercel/sdk's GetDeploymentsResponseBody and GetProjectResponseBody) ----

    private creator(): { uid: string; username: string; email: string } {
        return { uid: "user_keelfake000000000000000", username: "keel", email: "keel@example.com" };
    }

    private deploymentView(d: FakeVercelDeployment, candidate: boolean): Record<string, unknown> {
        const project = this.project(d.projectId);
        const promoted = d.servedProduction || d.uid === project.productionId;
        return {
            uid: d.uid,
            name: d.name,
            url: d.url,
            projectId: d.projectId,
            created: d.created,
            createdAt: d.created,
            buildingAt: d.created,
            ...(d.ready !== undefined ? { ready: d.ready } : {}),
            readyState: d.readyState,
            ...(d.readyState === "READY" ? { readySubstate: promoted ? "PROMOTED" : "STAGED" } : {}),
            state: d.readyState,
            type: "LAMBDAS",
            target: d.target,
            source: "git",
            creator: this.creator(),
            inspectorUrl: `https://vercel.com/${this.teamId ?? "keel"}/${d.name}/${d.uid.replace(/^dpl_/, "")}`,
            meta: d.meta,
            aliasAssigned: promoted && d.ready !== undefined ? d.ready : null,
            aliasError: null,
            isRollbackCandidate: candidate,
        };
    }

    /** A variable as filter-project-envs lists it: its value as ciphertext unless decrypted (a sensitive one never is). */
    private envView(e: FakeVercelEnv, decrypt: boolean): Record<string, unknown> {
        const plain = decrypt && e.type !== "sensitive";
        return {
            id: e.id,
            key: e.key,
            value: plain || e.type === "plain" ? e.value : Buffer.from(`fake-ciphertext:${e.id}`).toString("base64"),
            type: e.type,
            target: e.target,
            ...(e.gitBranch !== undefined ? { gitBranch: e.gitBranch } : {}),
            ...(e.comment !== undefined ? { comment: e.comment } : {}),
            configurationId: null,
            createdAt: e.createdAt,
            updatedAt: e.updatedAt,
            createdBy: this.creator().uid,
            updatedBy: null,
            decrypted: plain,
            securityIssues: [],
        };
    }

    private targetView(d: FakeVercelDeployment): Record<string, unknown> {
        return {
            id: d.uid,
            name: d.name,
            url: d.url,
            createdAt: d.created,
            createdIn: "iad1",
            creator: this.creator(),
            deploymentHostname: d.url.replace(/\.vercel\.app$/, ""),
            plan: this.plan,
            private: true,
            ...(d.ready !== undefined ? { readyAt: d.ready, buildingAt: d.created } : {}),
            readyState: d.readyState,
            ...(d.readyState === "READY" ? { readySubstate: d.servedProduction ? "PROMOTED" : "STAGED" } : {}),
            target: d.target,
            type: "LAMBDAS",
            alias: d.servedProduction ? [`${d.name}.vercel.app`] : [],
            aliasAssigned: d.servedProduction ? (d.ready ?? null) : null,
            aliasError: null,
            meta: d.meta,
            ...(this.teamId ? { teamId: this.teamId } : { userId: this.accountId }),
        };
    }

    private projectView(p: FakeVercelProject): Record<string, unknown> {
        const production = p.productionId ? this.deployment(p.id, p.productionId) : undefined;
        const latest = this.deployments
            .filter((d) => d.projectId === p.id)
            .sort((a, b) => b.created - a.created)
            .slice(0, 3);
        return {
            accountId: this.accountId,
            id: p.id,
            name: p.name,
            alias: [],
            autoAssignCustomDomains: p.autoAssignCustomDomains,
            createdAt: p.createdAt,
            updatedAt: p.updatedAt,
            defaultResourceConfig: { functionDefaultRegions: ["iad1"] },
            resourceConfig: { functionDefaultRegions: ["iad1"] },
            deploymentExpiration: {
                expirationDays: 180,
                expirationDaysProduction: 365,
                expirationDaysCanceled: 30,
                expirationDaysErrored: 90,
            },
            directoryListing: false,
            framework: "nextjs",
            nodeVersion: "22.x",
            live: false,
            lastAliasRequest: p.lastAliasRequest,
            latestDeployments: latest.map((d) => this.targetView(d)),
            targets: production ? { production: this.targetView(production) } : {},
        };
    }
}

/** Sets VERCEL_API_TOKEN / VERCEL_API_URL (undefined: unset) and returns a function that restores them. */
export function setVercelEnv(values: { VERCEL_API_TOKEN?: string; VERCEL_API_URL?: string }): () => void {
    return setEnv(["VERCEL_API_TOKEN", "VERCEL_API_URL"], values);
}
