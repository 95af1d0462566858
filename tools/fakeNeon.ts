/**
 * A local, stateful fake of the Neon API v2 for tests: a node http server on
 * 127.0.0.1 (random port) that answers in the shapes of
 * shared/specs/neon.openapi.json (test/vendors/neonSpec.test.ts checks that).
 *
 * - Mutations return `operations[]` that read `running` in that answer and
 *   in the next `operationPolls` requests that look at them: a GET of the
 *   operation, or a mutation it refuses with 423 (someone waiting it out).
 *   After the last of those it is finished (or `failed`, see
 *   failNextOperations). With the default 1, one poll sees it running and
 *   the next finished; with 0 only the answer that started it shows it
 *   running; with Infinity it never finishes. Lists do not count.
 *   finishOperations() finishes them all, for setup.
 * - A mutation on a branch that has a running operation gets 423 Locked, as
 *   the real API answers (and so does deleting a project with one running);
 *   a branch reads `init` while its create_branch operation runs.
 * - Fault injection: inject() queues 423/429/5xx answers for a method and
 *   path; dropResponses() performs a request and then destroys the socket
 *   instead of answering (a create whose response was lost).
 * - Every request is logged with its body, status and response for assertions.
 * - Nothing depends on the wall clock: timestamps, expires_at's "in the
 *   future" and expireBranches() read the fake's clock (`clock`), which moves
 *   only when the test advances it.
 * - Branches carry what backups need: `parent_lsn` (from a write-ahead log
 *   position that advances with every operation), `expires_at` (validated
 *   as Neon documents it: RFC 3339, whole seconds, in the future) with its
 *   `ttl_interval_seconds`, and the `annotation_value` given at creation,
 *   returned by GET (annotation) and list (annotations keyed by branch id).
 * - Data plane (option `dataPlane`, off by default): every database of every
 *   branch is a real database of its own on a test PostgreSQL cluster
 *   (tools/neonDataPlane.ts), named physicalName(branch, database);
 *   the URIs handed out reach it as the Neon role. A new branch gets a copy
 *   of its parent's data as it is then, a restore copies the source's data
 *   and keeps the target's old databases under the preserved branch, deletes
 *   drop. A request that changes data answers once that is done, and every
 *   request first waits for the work asked before it, so nothing seen over
 *   HTTP (an operation finished, a URI) is ahead of the data. Without it,
 *   every endpoint may share one host (`endpointHost`) and nothing is real.
 */
import { randomBytes, randomUUID } from "crypto";
import { FakeClock } from "./fakeClock";
import { FakeHttpServer, type Fault, HttpError, setEnv } from "./fakeHttp";
import { type DataPlaneOptions, NeonDataPlane, physicalDatabaseName } from "./neonDataPlane";

export type { Fault, LoggedRequest } from "./fakeHttp";
export type { DataPlaneOptions } from "./neonDataPlane";

export interface FakeProject {
    id: string;
    name: string;
    region_id: string;
    pg_version: number;
    org_id?: string;
    store_passwords: boolean;
    created_at: string;
    updated_at: string;
}

export interface FakeBranch {
    id: string;
    project_id: string;
    name: string;
    parent_id?: string;
    default: boolean;
    protected: boolean;
    init_source: "parent-data" | "schema-only";
    created_at: string;
    updated_at: string;
    last_reset_at?: string;
    /** The parent's LSN the branch was created (or last restored) at. */
    parent_lsn?: string;
    expires_at?: string;
    ttl_interval_seconds?: number;
    /** annotation_value given at creation. */
    annotation?: Record<string, string>;
    annotated_at?: string;
}

export interface FakeEndpoint {
    id: string;
    project_id: string;
    branch_id: string;
    type: "read_write" | "read_only";
    region_id: string;
    host: string;
    autoscaling_limit_min_cu: number;
    autoscaling_limit_max_cu: number;
    suspend_timeout_seconds: number;
    created_at: string;
    updated_at: string;
}

export interface FakeRole {
    project_id: string;
    branch_id: string;
    name: string;
    password: string;
    protected: boolean;
    created_at: string;
    updated_at: string;
}

export interface FakeDatabase {
    id: number;
    project_id: string;
    branch_id: string;
    name: string;
    owner_name: string;
    created_at: string;
    updated_at: string;
}

export interface FakeOperation {
    id: string;
    project_id: string;
    branch_id?: string;
    endpoint_id?: string;
    action: string;
    createdMs: number;
    /** Looks (GETs, 423 refusals) that will still see it running; it is finished once none are left. */
    pollsLeft: number;
    /** When it finished (fake clock); undefined while it runs. */
    finishedMs?: number;
    /** Error text: the operation ends `failed` with it. */
    fails?: string;
}

export interface FakeNeonOptions {
    apiKey?: string;
    /** Looks at an operation (GETs of it, 423 refusals) that still see it running; default 1; Infinity: it never finishes. */
    operationPolls?: number;
    /** The fake's time (shared with other fakes, or with a tickPerRequestMs); a new FakeClock by default. */
    clock?: FakeClock;
    /** False: protecting a branch answers 403 as on plans without protected branches. */
    protectedBranches?: boolean;
    /**
     * Where every endpoint says it is (default `<endpoint id>.<region>.aws.neon.tech`): an end-to-end
     * test points the endpoints at a real PostgreSQL (`127.0.0.1:<port>`) so the schema can migrate it.
     */
    endpointHost?: string;
    /** Every role's password (default: a new random one each time): the real PostgreSQL's role has it. */
    rolePassword?: string;
    /**
     * A real database per branch database on the cluster `adminUrl` (a superuser URL) reaches; every
     * endpoint is that host:port. Not with endpointHost. stop() drops what it made.
     */
    dataPlane?: DataPlaneOptions;
}

interface Store {
    projects: FakeProject[];
    branches: FakeBranch[];
    endpoints: FakeEndpoint[];
    roles: FakeRole[];
    databases: FakeDatabase[];
    operations: FakeOperation[];
}

const WORDS = ["aged", "bold", "calm", "dawn", "icy", "late", "misty", "noisy", "proud", "quiet", "raspy", "shiny", "steep", "wild"];
const NOUNS = ["bush", "cloud", "dream", "field", "hill", "lake", "night", "salad", "smoke", "sunset", "thunder", "wind"];

function word(list: string[]): string {
    return list[Math.floor(Math.random() * list.length)];
}

function slug(prefix: string): string {
    return `${prefix}${word(WORDS)}-${word(NOUNS)}-${String(100000 + Math.floor(Math.random() * 899999))}`;
}

function iso(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function regionHost(region: string): string {
    // aws-us-east-2 -> us-east-2.aws.neon.tech
    const [platform, ...rest] = region.split("-");
    return `${rest.join("-")}.${platform}.neon.tech`;
}

export class FakeNeon extends FakeHttpServer {
    readonly state: Store = { projects: [], branches: [], endpoints: [], roles: [], databases: [], operations: [] };
    apiKey: string;
    operationPolls: number;
    protectedBranches: boolean;
    private readonly endpointHost?: string;
    private readonly rolePassword?: string;
    private readonly plane?: NeonDataPlane;
    /** While a request is routed with the data plane on: its data work and operations (to fail them if the work fails). */
    private requestWork?: Promise<void>[];
    private requestOps?: FakeOperation[];
    /** Data work asked outside a request that failed, not yet reported. */
    private backgroundErrors: Error[] = [];
    private failing: { action?: string; error: string; times: number }[] = [];
    private dbSeq = 100000;
    /** The write-ahead log position: advances with every operation. */
    private lsn = 0x1f9bce8;
    protected unauthorizedMessage = "authentication required";

    private constructor(options: FakeNeonOptions) {
        super("/api/v2", options.clock);
        this.apiKey = options.apiKey ?? `napi_fake_${randomBytes(12).toString("hex")}`;
        this.operationPolls = options.operationPolls ?? 1;
        this.protectedBranches = options.protectedBranches ?? true;
        this.rolePassword = options.rolePassword;
        if (options.dataPlane) {
            if (options.endpointHost)
                throw new Error("FakeNeon: give endpointHost or dataPlane, not both (with dataPlane every endpoint is its cluster)");
            this.plane = new NeonDataPlane(options.dataPlane);
            this.endpointHost = this.plane.hostPort;
        } else {
            this.endpointHost = options.endpointHost;
        }
    }

    static async start(options: FakeNeonOptions = {}): Promise<FakeNeon> {
        const fake = new FakeNeon(options);
        await fake.listen();
        return fake;
    }

    /** Forgets every object, fault and logged request (and drops the data plane's databases: await settled()). */
    reset(): void {
        Object.values(this.state).forEach((list: unknown[]) => list.splice(0));
        this.resetHttp();
        this.failing = [];
        this.dataWork((plane) => plane.dropAll());
    }

    /** Stops answering; with a data plane, then drops the databases and roles it made on the cluster. */
    async stop(): Promise<void> {
        await super.stop();
        await this.plane?.stop();
    }

    /** Resolves once the data plane has done everything asked so far (seedProject, reset and expireBranches do not wait). */
    async settled(): Promise<void> {
        await this.plane?.settled();
        const failed = this.backgroundErrors.splice(0);
        if (failed.length) throw new Error(`fake Neon data plane: ${failed.map((e) => e.message).join("; ")}`);
    }

    /** The physical database behind a branch's database (data plane): what its connection URIs name. */
    physicalName(branchId: string, databaseName: string): string {
        return physicalDatabaseName(branchId, databaseName);
    }

    /** A superuser URL of the physical database behind a branch's database, to read or check it from a test. */
    physicalUrl(branchId: string, databaseName: string): string {
        if (!this.plane) throw new Error("FakeNeon.physicalUrl needs the dataPlane option");
        return this.plane.url(physicalDatabaseName(branchId, databaseName));
    }

    /** Physical databases the data plane made that still exist, sorted (after the work asked so far). */
    async physicalDatabases(): Promise<string[]> {
        return this.plane ? this.plane.existing() : [];
    }

    /** The next `times` operations (of `action`, if given) end `failed` with `error`. */
    failNextOperations(error: string, options: { action?: string; times?: number } = {}): void {
        this.failing.push({ action: options.action, error, times: options.times ?? 1 });
    }

    /** Starts an operation on a branch as someone else would: the branch is locked until `polls` looks (GETs, 423s) have seen it running. */
    startOperation(projectId: string, branchId: string, action = "apply_config", polls = this.operationPolls): FakeOperation {
        return this.operation(projectId, action, { branch_id: branchId }, polls);
    }

    /** Operations not yet finished (asking does not move them). */
    runningOperations(): FakeOperation[] {
        return this.state.operations.filter((op) => op.finishedMs === undefined);
    }

    /** Finishes every running operation (failing those set to fail), as if they had been polled through; for setup. */
    finishOperations(): void {
        for (const op of this.runningOperations()) this.finish(op);
    }

    /** Creates a project as POST /projects would (default branch, endpoint, role, database); for setup. */
    seedProject(
        name: string,
        options: { region?: string; pgVersion?: number; branchName?: string; roleName?: string; databaseName?: string } = {},
    ): FakeProject {
        return this.createProject(
            {
                name,
                region_id: options.region,
                pg_version: options.pgVersion,
                branch: { name: options.branchName, role_name: options.roleName, database_name: options.databaseName },
            },
            "finished",
        ).record;
    }

    branch(projectId: string, name: string): FakeBranch | undefined {
        return this.state.branches.find((b) => b.project_id === projectId && b.name === name);
    }

    /** The current write-ahead log position, as Neon formats LSNs (`0/1F9BCE8`). */
    currentLsn(): string {
        return `0/${this.lsn.toString(16).toUpperCase()}`;
    }

    /** Deletes branches whose expires_at has passed at `nowMs` (default: the fake's clock), as Neon's background job does; returns their names. */
    expireBranches(nowMs = this.clock.now()): string[] {
        const expired = this.state.branches.filter(
            (b) => b.expires_at && Date.parse(b.expires_at) <= nowMs && !this.state.branches.some((c) => c.parent_id === b.id),
        );
        for (const b of expired) {
            this.dropPhysical(b.id);
            for (const key of ["endpoints", "roles", "databases"] as const) {
                const list = this.state[key] as { branch_id: string }[];
                for (let i = list.length - 1; i >= 0; i--) if (list[i].branch_id === b.id) list.splice(i, 1);
            }
            this.state.branches.splice(this.state.branches.indexOf(b), 1);
        }
        return expired.map((b) => b.name);
    }

    // ---- HTTP ---------------------------------------------------------------

    protected authorized(authorization: string | undefined): boolean {
        return authorization === `Bearer ${this.apiKey}`;
    }

    protected errorBody(_status: number, message: string): unknown {
        return { code: "", message, request_id: randomUUID() };
    }

    protected faultBody(fault: Fault): unknown {
        const message =
            fault.status === 423
                ? "project already has running conflicting operations, scheduling of new ones is prohibited"
                : fault.status === 429
                  ? "rate limit exceeded"
                  : "internal server error";
        return this.errorBody(fault.status, message);
    }

    protected route(method: string, path: string, q: URLSearchParams, body: any): [number, unknown] | Promise<[number, unknown]> {
        // Without a data plane the answer is synchronous, exactly as it always was.
        return this.plane ? this.routeWithData(method, path, q, body) : this.answer(method, path, q, body);
    }

    /**
     * With the data plane: first the work earlier requests asked for (a URI answered here names a
     * database that exists), then the answer, then this request's own work; if that fails, its
     * operations fail with the reason and the answer is a 500 naming it.
     */
    private async routeWithData(method: string, path: string, q: URLSearchParams, body: any): Promise<[number, unknown]> {
        try {
            await this.settled();
        } catch (err) {
            throw new HttpError(500, (err as Error).message);
        }
        const work: Promise<void>[] = [];
        const ops: FakeOperation[] = [];
        this.requestWork = work;
        this.requestOps = ops;
        let answer: [number, unknown];
        try {
            answer = this.answer(method, path, q, body);
        } finally {
            this.requestWork = undefined;
            this.requestOps = undefined;
        }
        try {
            await Promise.all(work);
        } catch (err) {
            const reason = `fake Neon data plane: ${(err as Error).message}`;
            for (const op of ops) {
                op.fails = reason;
                this.finish(op);
            }
            throw new HttpError(500, reason);
        }
        return answer;
    }

    private answer(method: string, path: string, q: URLSearchParams, body: any): [number, unknown] {
        const p = path.split("/").filter(Boolean).map(decodeURIComponent);
        const m = (pattern: string, verb: string): boolean => {
            if (verb !== method) return false;
            const parts = pattern.split("/").filter(Boolean);
            return parts.length === p.length && parts.every((part, i) => part.startsWith(":") || part === p[i]);
        };
        if (m("projects", "GET")) return [200, this.listProjects(q)];
        if (m("projects", "POST")) return [201, this.createProject(body?.project ?? {}, this.operationPolls).response];
        if (p[0] !== "projects" || !p[1]) throw new HttpError(404, "not found");
        const project = this.project(p[1]);
        if (m("projects/:id", "GET")) return [200, { project: this.projectView(project) }];
        if (m("projects/:id", "PATCH")) {
            if (typeof body?.project?.name === "string") project.name = body.project.name;
            project.updated_at = this.iso();
            return [200, { project: this.projectView(project), operations: [] }];
        }
        if (m("projects/:id", "DELETE")) {
            if (this.refusedBy(this.state.operations.filter((op) => op.project_id === project.id))) throw this.locked();
            for (const b of this.state.branches.filter((x) => x.project_id === project.id)) this.dropPhysical(b.id);
            for (const key of ["branches", "endpoints", "roles", "databases", "operations"] as const) {
                const list = this.state[key] as { project_id: string }[];
                for (let i = list.length - 1; i >= 0; i--) if (list[i].project_id === project.id) list.splice(i, 1);
            }
            this.state.projects.splice(this.state.projects.indexOf(project), 1);
            return [200, { project: this.projectView(project) }];
        }
        if (m("projects/:id/operations", "GET")) {
            const ops = this.state.operations.filter((op) => op.project_id === project.id).reverse();
            const limit = Number(q.get("limit") ?? 10);
            const page = ops.slice(0, limit);
            return [
                200,
                {
                    operations: page.map((op) => this.operationView(op)),
                    ...(page.length ? { pagination: { cursor: page[page.length - 1].id } } : {}),
                },
            ];
        }
        if (m("projects/:id/operations/:op", "GET")) {
            const op = this.state.operations.find((o) => o.id === p[3] && o.project_id === project.id);
            if (!op) throw new HttpError(404, "operation not found");
            const running = this.look(op);
            return [200, { operation: this.operationView(op, running) }];
        }
        if (m("projects/:id/connection_uri", "GET")) return [200, this.connectionUri(project, q)];
        if (m("projects/:id/branches", "GET")) return [200, this.listBranches(project, q)];
        if (m("projects/:id/branches", "POST")) return [201, this.createBranch(project, body ?? {})];
        if (p[2] === "branches" && p[3]) {
            const branch = this.state.branches.find((b) => b.id === p[3] && b.project_id === project.id);
            if (m("projects/:id/branches/:b", "DELETE") && !branch) return [204, undefined];
            if (!branch) throw new HttpError(404, "branch not found");
            if (m("projects/:id/branches/:b", "GET"))
                return [200, { branch: this.branchView(branch), annotation: this.annotationView(branch) }];
            if (m("projects/:id/branches/:b", "PATCH")) return [200, this.updateBranch(project, branch, body?.branch ?? {})];
            if (m("projects/:id/branches/:b", "DELETE")) return [200, this.deleteBranch(project, branch)];
            if (m("projects/:id/branches/:b/restore", "POST")) return [200, this.restoreBranch(project, branch, body ?? {})];
            if (m("projects/:id/branches/:b/endpoints", "GET"))
                return [200, { endpoints: this.state.endpoints.filter((e) => e.branch_id === branch.id).map((e) => this.endpointView(e)) }];
            if (p[4] === "roles") return this.roles(project, branch, p, method, body);
            if (p[4] === "databases") return this.databases(project, branch, p, method, body);
        }
        if (p[2] === "endpoints") return this.endpoints(project, p, method, body);
        throw new HttpError(404, "not found");
    }

    // ---- helpers ------------------------------------------------------------

    /** Queues data-plane work (nothing without a data plane); the request being routed waits for it. */
    private dataWork(work: (plane: NeonDataPlane) => Promise<void>): void {
        const plane = this.plane;
        if (!plane) return;
        const done = plane.enqueue(() => work(plane));
        if (this.requestWork) this.requestWork.push(done);
        // Outside a request (seedProject, reset, expireBranches): the failure is the next request's 500, or settled()'s.
        else done.catch((err: Error) => this.backgroundErrors.push(err));
    }

    /** Drops the physical databases of a branch's databases (call before forgetting them). */
    private dropPhysical(branchId: string): void {
        const names = this.state.databases.filter((d) => d.branch_id === branchId).map((d) => physicalDatabaseName(branchId, d.name));
        this.dataWork(async (plane) => {
            for (const name of names) await plane.dropDatabase(name);
        });
    }

    /** The database name a URI names: the physical one with a data plane. */
    private uriDatabase(branchId: string, name: string): string {
        return this.plane ? physicalDatabaseName(branchId, name) : name;
    }

    private locked(): HttpError {
        return new HttpError(423, "project already has running conflicting operations, scheduling of new ones is prohibited");
    }

    private lockBranch(branchId: string): void {
        const endpoints = new Set(this.state.endpoints.filter((e) => e.branch_id === branchId).map((e) => e.id));
        if (
            this.refusedBy(
                this.state.operations.filter((op) => op.branch_id === branchId || (op.endpoint_id && endpoints.has(op.endpoint_id))),
            )
        )
            throw this.locked();
    }

    /**
     * Whether one of these operations still runs, so a mutation must be
     * refused with 423. Each running one is looked at once: the refusal is
     * someone waiting it out, and counts as a poll of it.
     */
    private refusedBy(ops: FakeOperation[]): boolean {
        let running = false;
        for (const op of ops) if (this.look(op)) running = true;
        return running;
    }

    /** One look at an operation (a GET of it, or a refusal because of it): true when it saw it running (it may finish right after). */
    private look(op: FakeOperation): boolean {
        if (op.finishedMs !== undefined) return false;
        op.pollsLeft--;
        if (op.pollsLeft <= 0) this.finish(op);
        return true;
    }

    private finish(op: FakeOperation): void {
        op.pollsLeft = 0;
        op.finishedMs ??= this.clock.now();
    }

    private iso(): string {
        return iso(this.clock.now());
    }

    private project(id: string): FakeProject {
        const project = this.state.projects.find((x) => x.id === id);
        if (!project) throw new HttpError(404, "project not found");
        return project;
    }

    /** A new operation, running for `polls` looks ("finished": already done, as for seeded objects). */
    private operation(
        projectId: string,
        action: string,
        on: { branch_id?: string; endpoint_id?: string },
        polls: number | "finished" = this.operationPolls,
    ): FakeOperation {
        const now = this.clock.now();
        const failing = polls === "finished" ? undefined : this.failing.find((f) => f.times > 0 && (!f.action || f.action === action));
        if (failing) failing.times--;
        const op: FakeOperation = {
            id: randomUUID(),
            project_id: projectId,
            ...on,
            action,
            createdMs: now,
            pollsLeft: polls === "finished" ? 0 : Math.max(0, polls),
            fails: failing?.error,
        };
        if (op.pollsLeft <= 0) op.finishedMs = now;
        this.requestOps?.push(op);
        // Every operation writes something: the log moves on.
        this.lsn += 0x1000 + Math.floor(Math.random() * 0x800);
        this.state.operations.push(op);
        return op;
    }

    /** The operation in the answer that started it: running, as Neon shows it (even one that finishes right after). */
    private createdView(op: FakeOperation): Record<string, unknown> {
        return this.operationView(op, true);
    }

    /** The operation as it is now, or as a look that saw it running (showing it is no look). */
    private operationView(op: FakeOperation, running = op.finishedMs === undefined): Record<string, unknown> {
        const done = !running;
        const status = !done ? "running" : op.fails ? "failed" : "finished";
        return {
            id: op.id,
            project_id: op.project_id,
            ...(op.branch_id ? { branch_id: op.branch_id } : {}),
            ...(op.endpoint_id ? { endpoint_id: op.endpoint_id } : {}),
            action: op.action,
            status,
            ...(done && op.fails ? { error: op.fails } : {}),
            failures_count: done && op.fails ? 1 : 0,
            created_at: iso(op.createdMs),
            updated_at: iso(done ? op.finishedMs! : op.createdMs),
            total_duration_ms: done ? op.finishedMs! - op.createdMs : 0,
        };
    }

    private projectView(project: FakeProject): Record<string, unknown> {
        const now = this.iso();
        return {
            data_storage_bytes_hour: 0,
            data_transfer_bytes: 0,
            written_data_bytes: 0,
            compute_time_seconds: 0,
            active_time_seconds: 0,
            cpu_used_sec: 0,
            id: project.id,
            platform_id: "aws",
            region_id: project.region_id,
            name: project.name,
            provisioner: "k8s-neonvm",
            default_endpoint_settings: { autoscaling_limit_min_cu: 0.25, autoscaling_limit_max_cu: 1, suspend_timeout_seconds: 0 },
            settings: { allowed_ips: { ips: [] }, enable_logical_replication: false },
            pg_version: project.pg_version,
            proxy_host: regionHost(project.region_id),
            branch_logical_size_limit: 512,
            branch_logical_size_limit_bytes: 536870912,
            store_passwords: project.store_passwords,
            creation_source: "console",
            history_retention_seconds: 86400,
            created_at: project.created_at,
            updated_at: project.updated_at,
            consumption_period_start: now,
            consumption_period_end: now,
            owner_id: "fake-owner",
            ...(project.org_id ? { org_id: project.org_id } : {}),
        };
    }

    private projectListItem(project: FakeProject): Record<string, unknown> {
        const view = this.projectView(project);
        delete view.consumption_period_start;
        delete view.consumption_period_end;
        delete view.data_storage_bytes_hour;
        delete view.data_transfer_bytes;
        delete view.written_data_bytes;
        delete view.compute_time_seconds;
        delete view.active_time_seconds;
        return { ...view, active_time: 0 };
    }

    private branchView(branch: FakeBranch): Record<string, unknown> {
        const init = this.state.operations.some(
            (op) => op.branch_id === branch.id && op.action === "create_branch" && op.finishedMs === undefined,
        );
        return {
            id: branch.id,
            project_id: branch.project_id,
            ...(branch.parent_id ? { parent_id: branch.parent_id, parent_lsn: branch.parent_lsn ?? "0/1F9BCE8" } : {}),
            name: branch.name,
            current_state: init ? "init" : "ready",
            ...(init ? { pending_state: "ready" } : {}),
            state_changed_at: branch.updated_at,
            logical_size: 30785536,
            creation_source: "console",
            primary: branch.default,
            default: branch.default,
            protected: branch.protected,
            cpu_used_sec: 0,
            compute_time_seconds: 0,
            active_time_seconds: 0,
            written_data_bytes: 0,
            data_transfer_bytes: 0,
            created_at: branch.created_at,
            updated_at: branch.updated_at,
            init_source: branch.init_source,
            ...(branch.last_reset_at ? { last_reset_at: branch.last_reset_at } : {}),
            ...(branch.expires_at ? { expires_at: branch.expires_at, ttl_interval_seconds: branch.ttl_interval_seconds } : {}),
        };
    }

    private annotationView(branch: FakeBranch): Record<string, unknown> {
        return {
            object: { type: "console/branch", id: branch.id },
            value: { ...(branch.annotation ?? {}) },
            ...(branch.annotated_at ? { created_at: branch.annotated_at, updated_at: branch.annotated_at } : {}),
        };
    }

    /** expires_at as Neon accepts it: RFC 3339 with whole seconds, in the future. Returns the TTL in seconds. */
    private validateExpiry(value: unknown): number {
        if (
            typeof value !== "string" ||
            !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/.test(value) ||
            Number.isNaN(Date.parse(value))
        ) {
            throw new HttpError(
                400,
                `expires_at must be an RFC 3339 timestamp with precision up to seconds, such as 2025-06-09T18:02:16Z; got ${JSON.stringify(value)}`,
            );
        }
        const ttl = Math.round((Date.parse(value) - this.clock.now()) / 1000);
        if (ttl <= 0) throw new HttpError(400, "expires_at must be in the future");
        return ttl;
    }

    private validateAnnotation(value: unknown): Record<string, string> | undefined {
        if (value === undefined) return undefined;
        if (!value || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "annotation_value must be an object");
        const entries = Object.entries(value as Record<string, unknown>);
        if (entries.length > 50) throw new HttpError(400, "annotation_value has more than 50 properties");
        if (entries.some(([, v]) => typeof v !== "string")) throw new HttpError(400, "annotation_value properties must be strings");
        return Object.fromEntries(entries) as Record<string, string>;
    }

    private endpointView(e: FakeEndpoint): Record<string, unknown> {
        return {
            host: e.host,
            id: e.id,
            project_id: e.project_id,
            branch_id: e.branch_id,
            autoscaling_limit_min_cu: e.autoscaling_limit_min_cu,
            autoscaling_limit_max_cu: e.autoscaling_limit_max_cu,
            region_id: e.region_id,
            type: e.type,
            current_state: "idle",
            settings: { pg_settings: {} },
            pooler_enabled: false,
            pooler_mode: "transaction",
            disabled: false,
            passwordless_access: true,
            creation_source: "console",
            created_at: e.created_at,
            updated_at: e.updated_at,
            proxy_host: regionHost(e.region_id),
            suspend_timeout_seconds: e.suspend_timeout_seconds,
            provisioner: "k8s-neonvm",
        };
    }

    private roleView(r: FakeRole, withPassword = false): Record<string, unknown> {
        return {
            branch_id: r.branch_id,
            name: r.name,
            ...(withPassword ? { password: r.password } : {}),
            protected: r.protected,
            created_at: r.created_at,
            updated_at: r.updated_at,
        };
    }

    private databaseView(d: FakeDatabase): Record<string, unknown> {
        return {
            id: d.id,
            branch_id: d.branch_id,
            name: d.name,
            owner_name: d.owner_name,
            created_at: d.created_at,
            updated_at: d.updated_at,
        };
    }

    private password(): string {
        if (this.rolePassword) return this.rolePassword;
        return `npg_${randomBytes(9)
            .toString("base64")
            .replace(/[^A-Za-z0-9]/g, "x")}`;
    }

    private uri(role: FakeRole, host: string, db: string): string {
        return `postgresql://${encodeURIComponent(role.name)}:${encodeURIComponent(role.password)}@${host}/${encodeURIComponent(db)}?sslmode=require`;
    }

    private poolerHost(host: string): string {
        // The data plane's cluster has no pooler: pooled URIs reach it directly.
        if (this.plane) return host;
        const dot = host.indexOf(".");
        return `${host.slice(0, dot)}-pooler${host.slice(dot)}`;
    }

    // ---- projects -----------------------------------------------------------

    private listProjects(q: URLSearchParams): Record<string, unknown> {
        const search = q.get("search");
        const org = q.get("org_id");
        const limit = Math.min(400, Number(q.get("limit") ?? 10));
        const cursor = q.get("cursor");
        let list = [...this.state.projects].sort((a, b) => (a.id < b.id ? -1 : 1));
        if (search) list = list.filter((x) => x.name.includes(search) || x.id.includes(search));
        if (org) list = list.filter((x) => x.org_id === org);
        if (cursor) list = list.filter((x) => x.id > cursor);
        const page = list.slice(0, limit);
        return {
            projects: page.map((x) => this.projectListItem(x)),
            ...(page.length || cursor ? { pagination: { cursor: page.length ? page[page.length - 1].id : cursor } } : {}),
            applications: {},
            integrations: {},
        };
    }

    /** polls: how long its operations run ("finished": already done, for seedProject). */
    private createProject(body: any, polls: number | "finished"): { record: FakeProject; response: Record<string, unknown> } {
        const now = this.iso();
        const region = body.region_id ?? "aws-us-east-2";
        const project: FakeProject = {
            id: slug(""),
            name: body.name ?? "",
            region_id: region,
            pg_version: body.pg_version ?? 17,
            ...(body.org_id ? { org_id: body.org_id } : {}),
            store_passwords: body.store_passwords ?? true,
            created_at: now,
            updated_at: now,
        };
        if (!project.name) project.name = project.id;
        this.state.projects.push(project);
        const branch: FakeBranch = {
            id: slug("br-"),
            project_id: project.id,
            name: body.branch?.name ?? "main",
            default: true,
            protected: false,
            init_source: "parent-data",
            created_at: now,
            updated_at: now,
        };
        this.state.branches.push(branch);
        const settings = body.default_endpoint_settings ?? {};
        const endpoint = this.newEndpoint(project, branch.id, settings);
        const dbName = body.branch?.database_name ?? "neondb";
        const role: FakeRole = {
            project_id: project.id,
            branch_id: branch.id,
            name: body.branch?.role_name ?? `${dbName}_owner`,
            password: this.password(),
            protected: false,
            created_at: now,
            updated_at: now,
        };
        this.state.roles.push(role);
        const db: FakeDatabase = {
            id: this.dbSeq++,
            project_id: project.id,
            branch_id: branch.id,
            name: dbName,
            owner_name: role.name,
            created_at: now,
            updated_at: now,
        };
        this.state.databases.push(db);
        const physical = this.uriDatabase(branch.id, db.name);
        this.dataWork(async (plane) => {
            await plane.ensureRole(role.name, role.password);
            await plane.createDatabase(physical, role.name);
        });
        const ops = [
            this.operation(project.id, "create_timeline", { branch_id: branch.id }, polls),
            this.operation(project.id, "start_compute", { branch_id: branch.id, endpoint_id: endpoint.id }, polls),
        ];
        return {
            record: project,
            response: {
                project: this.projectView(project),
                connection_uris: [
                    {
                        connection_uri: this.uri(role, endpoint.host, physical),
                        connection_parameters: {
                            database: physical,
                            password: role.password,
                            role: role.name,
                            host: endpoint.host,
                            pooler_host: this.poolerHost(endpoint.host),
                        },
                    },
                ],
                roles: [this.roleView(role, true)],
                databases: [this.databaseView(db)],
                operations: ops.map((op) => this.createdView(op)),
                branch: this.branchView(branch),
                endpoints: [this.endpointView(endpoint)],
            },
        };
    }

    // ---- branches -----------------------------------------------------------

    private listBranches(project: FakeProject, q: URLSearchParams): Record<string, unknown> {
        const search = q.get("search");
        let list = this.state.branches.filter((b) => b.project_id === project.id);
        if (search) list = list.filter((b) => b.name.includes(search) || b.id.includes(search));
        const limit = q.get("limit") ? Number(q.get("limit")) : list.length;
        const start = q.get("cursor") ? Number(q.get("cursor")) : 0;
        const page = list.slice(start, start + limit);
        const next = start + limit < list.length ? String(start + limit) : undefined;
        const annotations = Object.fromEntries(page.filter((b) => b.annotation).map((b) => [b.id, this.annotationView(b)]));
        return { branches: page.map((b) => this.branchView(b)), annotations, pagination: next ? { next } : {} };
    }

    private createBranch(project: FakeProject, body: any): Record<string, unknown> {
        const spec = body.branch ?? {};
        const parent = spec.parent_id
            ? this.state.branches.find((b) => b.id === spec.parent_id && b.project_id === project.id)
            : this.state.branches.find((b) => b.project_id === project.id && b.default);
        if (!parent) throw new HttpError(404, `parent branch ${spec.parent_id} not found`);
        if (spec.protected && !this.protectedBranches) throw new HttpError(403, "protected branches are not available on your plan");
        if (spec.init_source && !["schema-only", "parent-data"].includes(spec.init_source))
            throw new HttpError(400, `invalid init_source ${spec.init_source}`);
        if (typeof spec.name === "string" && spec.name.length > 256) throw new HttpError(400, "branch name is longer than 256 characters");
        const ttl = spec.expires_at !== undefined ? this.validateExpiry(spec.expires_at) : undefined;
        const annotation = this.validateAnnotation(body.annotation_value);
        this.lockBranch(parent.id);
        const now = this.iso();
        const branch: FakeBranch = {
            id: slug("br-"),
            project_id: project.id,
            name: spec.name ?? `br-${randomBytes(3).toString("hex")}`,
            parent_id: parent.id,
            default: false,
            protected: !!spec.protected,
            init_source: spec.init_source ?? "parent-data",
            created_at: now,
            updated_at: now,
            parent_lsn: typeof spec.parent_lsn === "string" ? spec.parent_lsn : this.currentLsn(),
            ...(ttl !== undefined ? { expires_at: spec.expires_at, ttl_interval_seconds: ttl } : {}),
            ...(annotation ? { annotation, annotated_at: now } : {}),
        };
        this.state.branches.push(branch);
        // Roles (with their passwords) and databases come with the branch, as in Neon.
        for (const r of this.state.roles.filter((x) => x.branch_id === parent.id)) this.state.roles.push({ ...r, branch_id: branch.id });
        const copied = this.state.databases.filter((x) => x.branch_id === parent.id);
        for (const d of copied) this.state.databases.push({ ...d, id: this.dbSeq++, branch_id: branch.id });
        // The data as the parent has it now: later writes to either side stay on that side.
        this.dataWork(async (plane) => {
            for (const d of copied)
                await plane.copyDatabase(
                    physicalDatabaseName(parent.id, d.name),
                    physicalDatabaseName(branch.id, d.name),
                    d.owner_name,
                    branch.init_source === "schema-only",
                );
        });
        const ops = [this.operation(project.id, "create_branch", { branch_id: branch.id })];
        const endpoints: FakeEndpoint[] = [];
        for (const e of body.endpoints ?? []) {
            const ep = this.newEndpoint(project, branch.id, e);
            endpoints.push(ep);
            ops.push(this.operation(project.id, "start_compute", { branch_id: branch.id, endpoint_id: ep.id }));
        }
        return {
            branch: this.branchView(branch),
            endpoints: endpoints.map((e) => this.endpointView(e)),
            ...this.branchConnectionUris(branch, endpoints),
            operations: ops.map((op) => this.createdView(op)),
            roles: this.state.roles.filter((r) => r.branch_id === branch.id).map((r) => this.roleView(r)),
            databases: this.state.databases.filter((d) => d.branch_id === branch.id).map((d) => this.databaseView(d)),
        };
    }

    /**
     * connection_uris of a new branch with an endpoint, as Neon gives them when the branch has one role
     * and one database; only with the data plane (the fake never gave them before it).
     */
    private branchConnectionUris(branch: FakeBranch, endpoints: FakeEndpoint[]): Record<string, unknown> {
        const roles = this.state.roles.filter((r) => r.branch_id === branch.id);
        const dbs = this.state.databases.filter((d) => d.branch_id === branch.id);
        const endpoint = endpoints.find((e) => e.type === "read_write") ?? endpoints[0];
        if (!this.plane || !endpoint || roles.length !== 1 || dbs.length !== 1) return {};
        const database = this.uriDatabase(branch.id, dbs[0].name);
        return {
            connection_uris: [
                {
                    connection_uri: this.uri(roles[0], endpoint.host, database),
                    connection_parameters: {
                        database,
                        password: roles[0].password,
                        role: roles[0].name,
                        host: endpoint.host,
                        pooler_host: this.poolerHost(endpoint.host),
                    },
                },
            ],
        };
    }

    private updateBranch(project: FakeProject, branch: FakeBranch, spec: any): Record<string, unknown> {
        if (spec.protected === true && !this.protectedBranches)
            throw new HttpError(403, "protected branches are not available on your plan");
        this.lockBranch(branch.id);
        if (typeof spec.name === "string") {
            if (this.state.branches.some((b) => b.project_id === project.id && b.name === spec.name && b.id !== branch.id))
                throw new HttpError(409, `branch ${spec.name} already exists`);
            branch.name = spec.name;
        }
        if (typeof spec.protected === "boolean") branch.protected = spec.protected;
        if (spec.expires_at === null) {
            delete branch.expires_at;
            delete branch.ttl_interval_seconds;
        } else if (spec.expires_at !== undefined) {
            branch.ttl_interval_seconds = this.validateExpiry(spec.expires_at);
            branch.expires_at = spec.expires_at;
        }
        branch.updated_at = this.iso();
        return { branch: this.branchView(branch), operations: [] };
    }

    private deleteBranch(project: FakeProject, branch: FakeBranch): Record<string, unknown> {
        if (branch.default) throw new HttpError(422, "the default branch cannot be deleted");
        if (branch.protected) throw new HttpError(422, "protected branches cannot be deleted");
        if (this.state.branches.some((b) => b.parent_id === branch.id)) throw new HttpError(422, "the branch has children");
        this.lockBranch(branch.id);
        const endpoints = this.state.endpoints.filter((e) => e.branch_id === branch.id);
        for (const e of endpoints) this.state.endpoints.splice(this.state.endpoints.indexOf(e), 1);
        this.dropPhysical(branch.id);
        for (const key of ["roles", "databases"] as const) {
            const list = this.state[key] as { branch_id: string }[];
            for (let i = list.length - 1; i >= 0; i--) if (list[i].branch_id === branch.id) list.splice(i, 1);
        }
        this.state.branches.splice(this.state.branches.indexOf(branch), 1);
        const op = this.operation(project.id, "delete_timeline", { branch_id: branch.id });
        return { branch: this.branchView(branch), operations: [this.createdView(op)] };
    }

    private restoreBranch(project: FakeProject, branch: FakeBranch, body: any): Record<string, unknown> {
        const source = this.state.branches.find((b) => b.id === body.source_branch_id && b.project_id === project.id);
        if (!source) throw new HttpError(404, `source branch ${body.source_branch_id} not found`);
        if (source.id === branch.id && !body.source_lsn && !body.source_timestamp)
            throw new HttpError(400, "source_lsn or source_timestamp is required to restore a branch onto itself");
        const hasChildren = this.state.branches.some((b) => b.parent_id === branch.id);
        if ((hasChildren || source.id === branch.id) && !body.preserve_under_name)
            throw new HttpError(400, "preserve_under_name is required");
        this.lockBranch(branch.id);
        const now = this.iso();
        const ops: FakeOperation[] = [];
        // Taken before anything moves: restoring a branch onto itself reads its own databases.
        const targetDbs = this.state.databases.filter((x) => x.branch_id === branch.id);
        const sourceDbs = this.state.databases.filter((x) => x.branch_id === source.id);
        let preservedId: string | undefined;
        if (body.preserve_under_name) {
            const preserved: FakeBranch = {
                ...branch,
                id: slug("br-"),
                name: body.preserve_under_name,
                default: false,
                protected: false,
                created_at: now,
                updated_at: now,
            };
            delete preserved.annotation;
            delete preserved.annotated_at;
            preservedId = preserved.id;
            this.state.branches.push(preserved);
            for (const r of this.state.roles.filter((x) => x.branch_id === branch.id))
                this.state.roles.push({ ...r, branch_id: preserved.id });
            for (const d of this.state.databases.filter((x) => x.branch_id === branch.id))
                this.state.databases.push({ ...d, id: this.dbSeq++, branch_id: preserved.id });
            for (const child of this.state.branches.filter((b) => b.parent_id === branch.id)) child.parent_id = preserved.id;
            ops.push(this.operation(project.id, "create_branch", { branch_id: preserved.id }));
        }
        // The branch now has the source's data: its databases are the source's (roles keep their passwords).
        for (let i = this.state.databases.length - 1; i >= 0; i--)
            if (this.state.databases[i].branch_id === branch.id) this.state.databases.splice(i, 1);
        for (const d of sourceDbs) this.state.databases.push({ ...d, id: this.dbSeq++, branch_id: branch.id });
        this.dataWork(async (plane) => {
            // The target's data before the restore: the preserved branch's now (renamed, not copied), or gone.
            for (const d of targetDbs) {
                const old = physicalDatabaseName(branch.id, d.name);
                if (preservedId) await plane.renameDatabase(old, physicalDatabaseName(preservedId, d.name));
                else await plane.dropDatabase(old);
            }
            // Onto itself, the source's data is what was just preserved (the fake has no history: source_lsn/timestamp read "now").
            const from = source.id === branch.id ? preservedId! : source.id;
            for (const d of sourceDbs)
                await plane.copyDatabase(physicalDatabaseName(from, d.name), physicalDatabaseName(branch.id, d.name), d.owner_name);
        });
        branch.last_reset_at = now;
        branch.updated_at = now;
        branch.parent_lsn = this.currentLsn();
        ops.push(this.operation(project.id, "create_timeline", { branch_id: branch.id }));
        for (const e of this.state.endpoints.filter((x) => x.branch_id === branch.id))
            ops.push(this.operation(project.id, "start_compute", { branch_id: branch.id, endpoint_id: e.id }));
        return { branch: this.branchView(branch), operations: ops.map((op) => this.createdView(op)) };
    }

    // ---- endpoints ----------------------------------------------------------

    private newEndpoint(project: FakeProject, branchId: string, spec: any): FakeEndpoint {
        const now = this.iso();
        const id = slug("ep-");
        const e: FakeEndpoint = {
            id,
            project_id: project.id,
            branch_id: branchId,
            type: spec.type ?? "read_write",
            region_id: project.region_id,
            host: this.endpointHost ?? `${id}.${regionHost(project.region_id)}`,
            autoscaling_limit_min_cu: spec.autoscaling_limit_min_cu ?? 0.25,
            autoscaling_limit_max_cu: spec.autoscaling_limit_max_cu ?? Math.max(0.25, spec.autoscaling_limit_min_cu ?? 0.25),
            suspend_timeout_seconds: spec.suspend_timeout_seconds ?? 0,
            created_at: now,
            updated_at: now,
        };
        this.state.endpoints.push(e);
        return e;
    }

    private validateComputeSettings(spec: any, current?: FakeEndpoint): void {
        const min = spec.autoscaling_limit_min_cu ?? current?.autoscaling_limit_min_cu ?? 0.25;
        const max = spec.autoscaling_limit_max_cu ?? current?.autoscaling_limit_max_cu ?? min;
        if (min < 0.25 || max < min) throw new HttpError(400, `invalid autoscaling limits: min ${min}, max ${max}`);
        const suspend = spec.suspend_timeout_seconds;
        if (suspend !== undefined && (suspend < -1 || suspend > 604800 || (suspend > 0 && suspend < 60)))
            throw new HttpError(400, `invalid suspend_timeout_seconds ${suspend}`);
    }

    private endpoints(project: FakeProject, p: string[], method: string, body: any): [number, unknown] {
        if (p.length === 3 && method === "GET") {
            return [200, { endpoints: this.state.endpoints.filter((e) => e.project_id === project.id).map((e) => this.endpointView(e)) }];
        }
        if (p.length === 3 && method === "POST") {
            const spec = body?.endpoint ?? {};
            if (!spec.branch_id || !spec.type) throw new HttpError(400, "endpoint.branch_id and endpoint.type are required");
            const branch = this.state.branches.find((b) => b.id === spec.branch_id && b.project_id === project.id);
            if (!branch) throw new HttpError(404, `branch ${spec.branch_id} not found`);
            if (spec.type === "read_write" && this.state.endpoints.some((e) => e.branch_id === branch.id && e.type === "read_write")) {
                throw new HttpError(409, `branch ${branch.id} already has a read_write endpoint`);
            }
            this.validateComputeSettings(spec);
            this.lockBranch(branch.id);
            const e = this.newEndpoint(project, branch.id, spec);
            const op = this.operation(project.id, "start_compute", { branch_id: branch.id, endpoint_id: e.id });
            return [201, { endpoint: this.endpointView(e), operations: [this.createdView(op)] }];
        }
        const e = this.state.endpoints.find((x) => x.id === p[3] && x.project_id === project.id);
        if (p.length === 4 && method === "DELETE" && !e) return [204, undefined];
        if (!e || p.length !== 4) throw new HttpError(404, "endpoint not found");
        if (method === "GET") return [200, { endpoint: this.endpointView(e) }];
        if (method === "PATCH") {
            const spec = body?.endpoint ?? {};
            this.validateComputeSettings(spec, e);
            this.lockBranch(e.branch_id);
            for (const k of ["autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "suspend_timeout_seconds"] as const)
                if (typeof spec[k] === "number") e[k] = spec[k];
            e.updated_at = this.iso();
            const op = this.operation(project.id, "apply_config", { branch_id: e.branch_id, endpoint_id: e.id });
            return [200, { endpoint: this.endpointView(e), operations: [this.createdView(op)] }];
        }
        if (method === "DELETE") {
            this.lockBranch(e.branch_id);
            this.state.endpoints.splice(this.state.endpoints.indexOf(e), 1);
            const op = this.operation(project.id, "suspend_compute", { branch_id: e.branch_id, endpoint_id: e.id });
            return [200, { endpoint: this.endpointView(e), operations: [this.createdView(op)] }];
        }
        throw new HttpError(405, "method not allowed");
    }

    /** apply_config on the branch's endpoints, or none when it has none (as Neon does). */
    private applyConfig(project: FakeProject, branchId: string): FakeOperation[] {
        return this.state.endpoints
            .filter((e) => e.branch_id === branchId)
            .map((e) => this.operation(project.id, "apply_config", { branch_id: branchId, endpoint_id: e.id }));
    }

    // ---- roles and databases -----------------------------------------------

    private roles(project: FakeProject, branch: FakeBranch, p: string[], method: string, body: any): [number, unknown] {
        const list = () => this.state.roles.filter((r) => r.branch_id === branch.id);
        if (p.length === 5 && method === "GET") return [200, { roles: list().map((r) => this.roleView(r)) }];
        if (p.length === 5 && method === "POST") {
            const name = body?.role?.name;
            if (typeof name !== "string" || !name) throw new HttpError(400, "role.name is required");
            if (list().some((r) => r.name === name)) throw new HttpError(409, `role ${name} already exists`);
            this.lockBranch(branch.id);
            const now = this.iso();
            const role: FakeRole = {
                project_id: project.id,
                branch_id: branch.id,
                name,
                password: this.password(),
                protected: false,
                created_at: now,
                updated_at: now,
            };
            this.state.roles.push(role);
            this.dataWork((plane) => plane.ensureRole(role.name, role.password));
            return [
                201,
                { role: this.roleView(role, true), operations: this.applyConfig(project, branch.id).map((op) => this.createdView(op)) },
            ];
        }
        const role = list().find((r) => r.name === p[5]);
        if (p.length === 6 && method === "DELETE" && !role) return [204, undefined];
        if (!role) throw new HttpError(404, "role not found");
        if (p.length === 6 && method === "GET") return [200, { role: this.roleView(role) }];
        if (p.length === 6 && method === "DELETE") {
            this.lockBranch(branch.id);
            this.state.roles.splice(this.state.roles.indexOf(role), 1);
            return [200, { role: this.roleView(role), operations: this.applyConfig(project, branch.id).map((op) => this.createdView(op)) }];
        }
        if (p[6] === "reveal_password" && method === "GET") {
            if (!project.store_passwords) throw new HttpError(412, "storing passwords is disabled for this project");
            return [200, { password: role.password }];
        }
        if (p[6] === "reset_password" && method === "POST") {
            this.lockBranch(branch.id);
            role.password = this.password();
            role.updated_at = this.iso();
            const password = role.password;
            this.dataWork((plane) => plane.ensureRole(role.name, password));
            return [
                200,
                { role: this.roleView(role, true), operations: this.applyConfig(project, branch.id).map((op) => this.createdView(op)) },
            ];
        }
        throw new HttpError(404, "not found");
    }

    private databases(project: FakeProject, branch: FakeBranch, p: string[], method: string, body: any): [number, unknown] {
        const list = () => this.state.databases.filter((d) => d.branch_id === branch.id);
        if (p.length === 5 && method === "GET") return [200, { databases: list().map((d) => this.databaseView(d)) }];
        if (p.length === 5 && method === "POST") {
            const spec = body?.database ?? {};
            if (!spec.name || !spec.owner_name) throw new HttpError(400, "database.name and database.owner_name are required");
            if (list().some((d) => d.name === spec.name)) throw new HttpError(409, `database ${spec.name} already exists`);
            if (!this.state.roles.some((r) => r.branch_id === branch.id && r.name === spec.owner_name))
                throw new HttpError(404, `role ${spec.owner_name} not found`);
            this.lockBranch(branch.id);
            const now = this.iso();
            const db: FakeDatabase = {
                id: this.dbSeq++,
                project_id: project.id,
                branch_id: branch.id,
                name: spec.name,
                owner_name: spec.owner_name,
                created_at: now,
                updated_at: now,
            };
            this.state.databases.push(db);
            this.dataWork((plane) => plane.createDatabase(physicalDatabaseName(branch.id, db.name), db.owner_name));
            return [
                201,
                { database: this.databaseView(db), operations: this.applyConfig(project, branch.id).map((op) => this.createdView(op)) },
            ];
        }
        const db = list().find((d) => d.name === p[5]);
        if (p.length === 6 && method === "DELETE" && !db) return [204, undefined];
        if (!db || p.length !== 6) throw new HttpError(404, "database not found");
        if (method === "GET") return [200, { database: this.databaseView(db) }];
        if (method === "PATCH") {
            const spec = body?.database ?? {};
            this.lockBranch(branch.id);
            if (spec.owner_name && !this.state.roles.some((r) => r.branch_id === branch.id && r.name === spec.owner_name))
                throw new HttpError(404, `role ${spec.owner_name} not found`);
            // Two databases of one name would be one physical database (without a data plane the fake never checked).
            if (this.plane && spec.name && spec.name !== db.name && list().some((d) => d.name === spec.name))
                throw new HttpError(409, `database ${spec.name} already exists`);
            const before = physicalDatabaseName(branch.id, db.name);
            if (spec.name) db.name = spec.name;
            if (spec.owner_name) db.owner_name = spec.owner_name;
            const after = physicalDatabaseName(branch.id, db.name);
            const owner = db.owner_name;
            this.dataWork(async (plane) => {
                if (after !== before) await plane.renameDatabase(before, after);
                await plane.setOwner(after, owner);
            });
            db.updated_at = this.iso();
            return [
                200,
                { database: this.databaseView(db), operations: this.applyConfig(project, branch.id).map((op) => this.createdView(op)) },
            ];
        }
        if (method === "DELETE") {
            this.lockBranch(branch.id);
            this.state.databases.splice(this.state.databases.indexOf(db), 1);
            const physical = physicalDatabaseName(branch.id, db.name);
            this.dataWork((plane) => plane.dropDatabase(physical));
            return [
                200,
                { database: this.databaseView(db), operations: this.applyConfig(project, branch.id).map((op) => this.createdView(op)) },
            ];
        }
        throw new HttpError(405, "method not allowed");
    }

    private connectionUri(project: FakeProject, q: URLSearchParams): Record<string, unknown> {
        const dbName = q.get("database_name");
        const roleName = q.get("role_name");
        if (!dbName || !roleName) throw new HttpError(400, "database_name and role_name are required");
        const branch = q.get("branch_id")
            ? this.state.branches.find((b) => b.id === q.get("branch_id") && b.project_id === project.id)
            : this.state.branches.find((b) => b.project_id === project.id && b.default);
        if (!branch) throw new HttpError(404, "branch not found");
        const endpoint = q.get("endpoint_id")
            ? this.state.endpoints.find((e) => e.id === q.get("endpoint_id") && e.branch_id === branch.id)
            : this.state.endpoints.find((e) => e.branch_id === branch.id && e.type === "read_write");
        if (!endpoint) throw new HttpError(404, "endpoint not found");
        const role = this.state.roles.find((r) => r.branch_id === branch.id && r.name === roleName);
        if (!role) throw new HttpError(404, "role not found");
        if (!this.state.databases.some((d) => d.branch_id === branch.id && d.name === dbName))
            throw new HttpError(404, "database not found");
        const host = q.get("pooled") === "true" ? this.poolerHost(endpoint.host) : endpoint.host;
        return { uri: this.uri(role, host, this.uriDatabase(branch.id, dbName)) };
    }
}

/**
 * Sets (or, with undefined, unsets) NEON_API_KEY and NEON_API_URL for a test;
 * returns a function that puts back what the environment had before.
 */
export function setNeonEnv(values: { NEON_API_KEY?: string; NEON_API_URL?: string }): () => void {
    return setEnv(["NEON_API_KEY", "NEON_API_URL"], values);
}
