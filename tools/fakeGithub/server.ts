/** The fake GitHub REST API's server: tokens, repositories, deployments and their statuses (see index.ts). */
import type * as http from "http";
import { randomBytes } from "crypto";
import { type Answer, FakeHttpServer, HttpError, type LoggedRequest, setEnv } from "../fakeHttp";
import type {
    FakeGithubDeployment,
    FakeGithubEnvironment,
    FakeGithubOptions,
    FakeGithubPull,
    FakeGithubRepo,
    FakeGithubStatus,
    FakeGithubToken,
    GithubFault,
    LoggedGithubRequest,
} from "./types";
import { FakeIssueComments } from "./issueComments";
import { basicError, deploymentView, DOCS, environmentView, iso, statusView } from "./views";

const STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];
const DEFAULT_LOGIN = "github-actions[bot]";

const FAULT_TEXT: Record<number, string> = {
    429: "API rate limit exceeded",
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
};
const SECONDARY_TEXT =
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0000:0000000:0000000:00000000.";

interface ValidationProblem {
    resource: string;
    field: string;
    code: string;
    message?: string;
}

export class FakeGithub extends FakeHttpServer<LoggedGithubRequest, GithubFault> {
    /** By lower-cased `owner/repo` (GitHub's names are case-insensitive). */
    readonly repos = new Map<string, FakeGithubRepo>();
    readonly deployments = new Map<number, FakeGithubDeployment>();
    /** Every repository's environments, oldest first. */
    readonly environments: FakeGithubEnvironment[] = [];
    private environmentSeq = 1;
    readonly tokens = new Map<string, FakeGithubToken>();
    /** Issue and pull request comments (issueComments.ts). */
    readonly issueComments = new FakeIssueComments();
    /** The token with deployments: write on every repository. */
    readonly token: string;
    private githubFaults: GithubFault[] = [];
    private deploymentSeq = 1;
    private statusSeq = 1;
    /** The `errors` of the 422 being answered (thrown and answered with no await between). */
    private validationErrors?: ValidationProblem[];
    /** Why the last request was refused with 401 (GitHub's two texts). */
    private authProblem = "Requires authentication";

    private constructor(options: FakeGithubOptions) {
        super("", options.clock);
        this.token = options.token ?? `ghs_${randomBytes(18).toString("base64url")}`;
        this.tokens.set(this.token, { deployments: "write", administration: "write", pullRequests: "write" });
        for (const r of options.repos ?? ["keel-org/keel"]) this.addRepo(r);
    }

    static async start(options: FakeGithubOptions = {}): Promise<FakeGithub> {
        const fake = new FakeGithub(options);
        await fake.listen();
        return fake;
    }

    /** Forgets deployments, faults and logged requests; keeps repositories and tokens. */
    reset(): void {
        this.deployments.clear();
        this.environments.splice(0);
        this.environmentSeq = 1;
        this.issueComments.reset();
        this.resetHttp();
        this.githubFaults = [];
        this.deploymentSeq = 1;
        this.statusSeq = 1;
    }

    /** A repository that exists, with optional branches (name -> sha). */
    addRepo(fullName: string, refs: Record<string, string> = {}): FakeGithubRepo {
        const [owner, repo] = fullName.split("/");
        if (!owner || !repo) throw new Error(`FakeGithub.addRepo: ${fullName} is not owner/repo`);
        const r: FakeGithubRepo = {
            owner,
            repo,
            refs: new Map(Object.entries(refs)),
            failingContexts: [],
            pulls: new Map(),
            issues: new Set(),
        };
        this.repos.set(fullName.toLowerCase(), r);
        return r;
    }

    /** A repository added before (addRepo). */
    repo(fullName: string): FakeGithubRepo {
        const r = this.repos.get(fullName.toLowerCase());
        if (!r) throw new Error(`FakeGithub: no repository ${fullName} (addRepo first)`);
        return r;
    }

    /** A pull request (open unless said otherwise). */
    addPull(fullName: string, pull: { number: number; state?: "open" | "closed"; head?: { ref: string; sha: string } }): FakeGithubPull {
        const p: FakeGithubPull = {
            number: pull.number,
            state: pull.state ?? "open",
            head: pull.head ?? { ref: `feature-${pull.number}`, sha: "0".repeat(40) },
        };
        this.repo(fullName).pulls.set(p.number, p);
        return p;
    }

    /** An issue or pull request that exists, so that its comments can be listed and made. */
    addIssue(fullName: string, issue: number): void {
        const r = this.repos.get(fullName.toLowerCase());
        if (!r) throw new Error(`FakeGithub.addIssue: no repository ${fullName} (addRepo first)`);
        r.issues.add(issue);
    }

    /** Another token (a workflow's GITHUB_TOKEN with other permissions, a PAT for another repository); returns it. */
    addToken(grant: FakeGithubToken, token = `ghs_${randomBytes(18).toString("base64url")}`): string {
        this.tokens.set(token, grant);
        return token;
    }

    /** The deployments of a repository, oldest first. */
    deploymentsOf(fullName: string): FakeGithubDeployment[] {
        return [...this.deployments.values()].filter((d) => `${d.owner}/${d.repo}`.toLowerCase() === fullName.toLowerCase());
    }

    /** The environments of a repository, oldest first. */
    environmentsOf(fullName: string): FakeGithubEnvironment[] {
        return this.environments.filter((e) => `${e.owner}/${e.repo}`.toLowerCase() === fullName.toLowerCase());
    }

    /** Makes an environment as the settings page (or a deployment to it) would; returns it. */
    addEnvironment(fullName: string, name: string): FakeGithubEnvironment {
        const [owner, repo] = fullName.split("/");
        const existing = this.environmentsOf(fullName).find((e) => e.name.toLowerCase() === name.toLowerCase());
        if (existing) return existing;
        const now = iso(this.clock.now());
        const e: FakeGithubEnvironment = { id: this.environmentSeq++, owner, repo, name, created_at: now, updated_at: now };
        this.environments.push(e);
        return e;
    }

    /** The deployment's current state: its newest status, or `pending` when it has none (as GitHub shows it). */
    stateOf(d: FakeGithubDeployment): string {
        return d.statuses[d.statuses.length - 1]?.state ?? "pending";
    }

    /**
     * Queues `times` injected answers for requests matching method and path
     * (see GithubFault): 5xx and 429 with Retry-After, or 403 rate limits with
     * GitHub's headers. They are answered after authentication, as GitHub does.
     */
    inject(fault: Omit<GithubFault, "times"> & { times?: number }): void {
        this.githubFaults.push({ times: 1, ...fault } as GithubFault);
    }

    clearFaults(): void {
        super.clearFaults();
        this.githubFaults = [];
    }

    // ---- HTTP ---------------------------------------------------------------

    protected get unauthorizedMessage(): string {
        return this.authProblem;
    }

    protected logEntry(entry: LoggedRequest, req: http.IncomingMessage): LoggedGithubRequest {
        return { ...entry, token: tokenOf(req.headers.authorization) };
    }

    /** `token <t>` or `Bearer <t>`; 401 Requires authentication without one, Bad credentials for one GitHub does not know. */
    protected authorized(authorization: string | undefined): boolean {
        const token = tokenOf(authorization);
        if (!token) this.authProblem = "Requires authentication";
        else if (!this.tokens.has(token)) this.authProblem = "Bad credentials";
        return !!token && this.tokens.has(token);
    }

    /** basic-error; a 422 is a validation-error, with `errors` when the check names fields. */
    protected errorBody(status: number, message: string): unknown {
        const errors = this.validationErrors;
        this.validationErrors = undefined;
        return status === 422 && errors ? { ...(basicError(status, message) as object), errors } : basicError(status, message);
    }

    protected faultBody(fault: GithubFault): unknown {
        return basicError(fault.status, fault.message ?? FAULT_TEXT[fault.status] ?? "error");
    }

    protected intercept(method: string, path: string): Answer | undefined {
        const fault = this.githubFaults.find((f) => f.method === method && f.path.test(path) && f.times > 0);
        if (!fault) return undefined;
        fault.times--;
        // The request being handled is the newest logged one: FakeHttpServer logs it and calls intercept with no await between.
        this.requests[this.requests.length - 1].injected = true;
        const headers: Record<string, string> = fault.retryAfter !== undefined ? { "retry-after": fault.retryAfter } : {};
        if (fault.rateLimit === "primary") {
            const reset = Math.ceil(this.clock.now() / 1000) + (fault.resetInS ?? 60);
            const message = fault.message ?? "API rate limit exceeded for installation. If you reach out to GitHub Support for help...";
            return [
                403,
                { message, documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`, status: "403" },
                {
                    ...headers,
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": String(reset),
                    "x-ratelimit-resource": "core",
                },
            ];
        }
        if (fault.rateLimit === "secondary")
            return [
                403,
                { message: fault.message ?? SECONDARY_TEXT, documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api` },
                headers,
            ];
        return [fault.status, this.faultBody(fault), headers];
    }

    protected route(method: string, path: string, q: URLSearchParams, body: any, entry: LoggedGithubRequest): [number, unknown] {
        const p = path.split("/").filter(Boolean).map(decodeURIComponent);
        if (p[0] === "repos" && p[3] === "issues") return this.routeIssues(method, p, q, body, entry);
        if (p[0] !== "repos" || p.length < 4 || !["deployments", "environments", "pulls"].includes(p[3]))
            throw new HttpError(404, "Not Found");
        const grant = this.tokens.get(entry.token!)!;
        const repo = this.repos.get(`${p[1]}/${p[2]}`.toLowerCase());
        // A repository the token cannot see reads as missing, as GitHub answers for private repositories.
        if (!repo || (grant.repos && !grant.repos.some((r) => r.toLowerCase() === `${p[1]}/${p[2]}`.toLowerCase())))
            throw new HttpError(404, "Not Found");
        if (p[3] === "environments") return this.routeEnvironments(method, p, q, repo, grant);
        if (p[3] === "pulls") {
            if (p.length !== 4 || method !== "GET") throw new HttpError(404, "Not Found");
            const state = q.get("state") ?? "open";
            const pulls = [...repo.pulls.values()].filter((x) => state === "all" || x.state === state).sort((a, b) => a.number - b.number);
            return [200, this.page(q, pulls).map((x) => ({ number: x.number, state: x.state, head: { ...x.head } }))];
        }
        const writes = method !== "GET";
        if (grant.deployments === "none" && !writes) throw new HttpError(404, "Not Found");
        if (grant.deployments !== "write" && writes) throw new HttpError(403, "Resource not accessible by integration");
        const login = grant.login ?? DEFAULT_LOGIN;
        if (p.length === 4 && method === "GET") return [200, this.page(q, this.listDeployments(repo, q)).map((d) => this.view(d))];
        if (p.length === 4 && method === "POST") return [201, this.view(this.createDeployment(repo, body, login))];
        const d = this.deployment(repo, p[4]);
        if (p.length === 5 && method === "GET") return [200, this.view(d)];
        if (p.length === 5 && method === "DELETE") {
            const sameEnv = this.deploymentsOf(`${repo.owner}/${repo.repo}`).filter((x) => x.environment === d.environment);
            if (this.stateOf(d) !== "inactive" && sameEnv.length > 1)
                throw this.invalid("We cannot delete an active deployment unless it is the only deployment in a given environment.");
            this.deployments.delete(d.id);
            return [204, undefined];
        }
        if (p.length === 6 && p[5] === "statuses" && method === "GET")
            return [200, this.page(q, [...d.statuses].reverse()).map((s) => statusView(this.url, d, s))];
        if (p.length === 6 && p[5] === "statuses" && method === "POST")
            return [201, statusView(this.url, d, this.createStatus(d, body, login))];
        if (p.length === 7 && p[5] === "statuses" && method === "GET") {
            const s = d.statuses.find((x) => String(x.id) === p[6]);
            if (!s) throw new HttpError(404, "Not Found");
            return [200, statusView(this.url, d, s)];
        }
        throw new HttpError(404, "Not Found");
    }

    private routeEnvironments(
        method: string,
        p: string[],
        q: URLSearchParams,
        repo: FakeGithubRepo,
        grant: FakeGithubToken,
    ): [number, unknown] {
        const full = `${repo.owner}/${repo.repo}`;
        if (method !== "GET" && grant.administration !== "write") throw new HttpError(403, "Resource not accessible by integration");
        if (p.length === 4 && method === "GET") {
            const all = this.environmentsOf(full);
            return [200, { total_count: all.length, environments: this.page(q, all).map((e) => environmentView(this.url, e)) }];
        }
        if (p.length !== 5) throw new HttpError(404, "Not Found");
        const name = p[4];
        const found = this.environmentsOf(full).find((e) => e.name.toLowerCase() === name.toLowerCase());
        if (method === "GET") {
            if (!found) throw new HttpError(404, "Not Found");
            return [200, environmentView(this.url, found)];
        }
        if (method === "PUT") {
            if (!/^[^\s/,:;"'*?<>|\\]{1,255}$/.test(name)) throw this.invalid(`Invalid environment name: ${name}`);
            const e = found ?? this.addEnvironment(full, name);
            e.updated_at = iso(this.clock.now());
            return [200, environmentView(this.url, e)];
        }
        if (method === "DELETE") {
            if (!found) throw new HttpError(404, "Not Found");
            this.environments.splice(this.environments.indexOf(found), 1);
            for (const d of this.deploymentsOf(full)) if (d.environment === found.name) this.deployments.delete(d.id);
            return [204, undefined];
        }
        throw new HttpError(404, "Not Found");
    }

    /** repos/<owner>/<repo>/issues/…: comments, behind the token's `pullRequests` right. */
    private routeIssues(method: string, p: string[], q: URLSearchParams, body: any, entry: LoggedGithubRequest): [number, unknown] {
        const grant = this.tokens.get(entry.token!)!;
        const repo = this.repos.get(`${p[1]}/${p[2]}`.toLowerCase());
        if (!repo || (grant.repos && !grant.repos.some((r) => r.toLowerCase() === `${p[1]}/${p[2]}`.toLowerCase())))
            throw new HttpError(404, "Not Found");
        const right = grant.pullRequests ?? "none";
        const writes = method !== "GET";
        if (right === "none" && !writes) throw new HttpError(404, "Not Found");
        if (right !== "write" && writes) throw new HttpError(403, "Resource not accessible by integration");
        return this.issueComments.route(repo, {
            method,
            rest: p.slice(4),
            query: q,
            body,
            login: grant.login ?? DEFAULT_LOGIN,
            nowMs: this.clock.now(),
            api: this.url,
            page: (query, all) => this.page(query, all),
            invalid: (message, errors) => this.invalid(message, errors),
        });
    }

    protected internalErrorMessage(err: Error): string {
        return `fake GitHub: ${err.message}`;
    }

    // ---- state --------------------------------------------------------------

    /** A 422 in GitHub's validation-error shape. */
    private invalid(message: string, errors?: ValidationProblem[]): HttpError {
        this.validationErrors = errors;
        return new HttpError(422, message);
    }

    private view(d: FakeGithubDeployment): unknown {
        return deploymentView(this.url, d);
    }

    private deployment(repo: FakeGithubRepo, id: string): FakeGithubDeployment {
        const d = /^\d+$/.test(id) ? this.deployments.get(Number(id)) : undefined;
        if (!d || d.owner !== repo.owner || d.repo !== repo.repo) throw new HttpError(404, "Not Found");
        return d;
    }

    /** Newest first; `sha`, `ref`, `task` and `environment` filter by equality ("none", the documented default, does not). */
    private listDeployments(repo: FakeGithubRepo, q: URLSearchParams): FakeGithubDeployment[] {
        const filter = (name: string, value: string) => {
            const want = q.get(name);
            return want === null || want === "none" || want === value;
        };
        return this.deploymentsOf(`${repo.owner}/${repo.repo}`)
            .filter((d) => filter("sha", d.sha) && filter("ref", d.ref) && filter("task", d.task) && filter("environment", d.environment))
            .reverse();
    }

    /** per_page (default 30, at most 100) and page (from 1). GitHub's Link header is not sent: FakeHttpServer answers routes without headers. */
    private page<T>(q: URLSearchParams, all: T[]): T[] {
        const perPage = Math.min(100, Math.max(1, Number(q.get("per_page") ?? 30) || 30));
        const page = Math.max(1, Number(q.get("page") ?? 1) || 1);
        return all.slice((page - 1) * perPage, page * perPage);
    }

    private createDeployment(repo: FakeGithubRepo, body: any, login: string): FakeGithubDeployment {
        if (!body || typeof body !== "object") throw this.invalid("Invalid request.\n\nFor 'links/0/schema', nil is not an object.");
        if (typeof body.ref !== "string" || !body.ref) throw this.invalid(`Invalid request.\n\n"ref" wasn't supplied.`);
        const types: Record<string, string[]> = {
            task: ["string"],
            auto_merge: ["boolean"],
            required_contexts: ["array"],
            payload: ["object", "string"],
            environment: ["string"],
            description: ["string", "null"],
            transient_environment: ["boolean"],
            production_environment: ["boolean"],
        };
        for (const [k, allowed] of Object.entries(types)) {
            const v = body[k];
            const t = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
            if (v !== undefined && !allowed.includes(t))
                throw this.invalid(`Invalid request.\n\nFor 'properties/${k}', ${JSON.stringify(v)} is not ${allowed.join(" or ")}.`);
        }
        const sha = repo.refs.get(body.ref) ?? (/^[0-9a-f]{40}$/.test(body.ref) ? body.ref : undefined);
        if (!sha) throw this.invalid(`No ref found for: ${body.ref}`);
        // GitHub checks the commit's statuses unless told which contexts matter ([] skips the check).
        const required: string[] = body.required_contexts ?? repo.failingContexts;
        const failing = repo.failingContexts.filter((c) => required.includes(c));
        if (failing.length) throw new HttpError(409, `Conflict: Commit status checks failed for ${body.ref}.`);
        let payload: Record<string, unknown> | string = body.payload ?? {};
        if (typeof payload === "string") {
            // A JSON string is stored as the object it encodes.
            try {
                const parsed = JSON.parse(payload);
                if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) payload = parsed;
            } catch {
                /* kept as the string */
            }
        }
        const environment: string = body.environment ?? "production";
        // A deployment to an environment that does not exist creates it, as GitHub does.
        this.addEnvironment(`${repo.owner}/${repo.repo}`, environment);
        const now = iso(this.clock.now());
        const d: FakeGithubDeployment = {
            id: this.deploymentSeq++,
            owner: repo.owner,
            repo: repo.repo,
            sha,
            ref: body.ref,
            task: body.task ?? "deploy",
            payload,
            environment,
            original_environment: environment,
            description: body.description ?? "",
            transient_environment: body.transient_environment ?? false,
            production_environment: body.production_environment ?? environment === "production",
            creator: login,
            created_at: now,
            updated_at: now,
            statuses: [],
        };
        this.deployments.set(d.id, d);
        return d;
    }

    private createStatus(d: FakeGithubDeployment, body: any, login: string): FakeGithubStatus {
        if (!body || typeof body !== "object" || !STATES.includes(body.state))
            throw this.invalid(
                `Invalid request.\n\nFor 'properties/state', ${JSON.stringify(body?.state)} is not one of ${STATES.join(", ")}.`,
            );
        for (const k of ["target_url", "log_url", "description", "environment", "environment_url"])
            if (body[k] !== undefined && typeof body[k] !== "string")
                throw this.invalid(`Invalid request.\n\nFor 'properties/${k}', ${JSON.stringify(body[k])} is not a string.`);
        if (body.auto_inactive !== undefined && typeof body.auto_inactive !== "boolean")
            throw this.invalid(
                `Invalid request.\n\nFor 'properties/auto_inactive', ${JSON.stringify(body.auto_inactive)} is not a boolean.`,
            );
        const description: string = body.description ?? "";
        // GitHub counts characters, not UTF-16 units.
        if ([...description].length > 140)
            throw this.invalid("Validation Failed", [
                {
                    resource: "DeploymentStatus",
                    field: "description",
                    code: "custom",
                    message: "description is too long (maximum is 140 characters)",
                },
            ]);
        const previous = d.statuses[d.statuses.length - 1];
        const environment: string = body.environment ?? previous?.environment ?? d.environment;
        const now = this.clock.now();
        const status: FakeGithubStatus = {
            id: this.statusSeq++,
            state: body.state,
            description,
            environment,
            environment_url: body.environment_url ?? "",
            log_url: body.log_url ?? body.target_url ?? "",
            creator: login,
            created_at: iso(now),
        };
        d.statuses.push(status);
        d.environment = environment;
        d.updated_at = iso(now);
        if (body.state === "success" && body.auto_inactive !== false) this.autoInactive(d, login);
        return status;
    }

    /**
     * auto_inactive, as documented: every other deployment of the repository
     * in the same environment that is neither transient nor production and
     * is shown as active (its newest status is success) gets an inactive status.
     */
    private autoInactive(current: FakeGithubDeployment, login: string): void {
        for (const d of this.deploymentsOf(`${current.owner}/${current.repo}`)) {
            if (d.id === current.id || d.environment !== current.environment) continue;
            if (d.transient_environment || d.production_environment || this.stateOf(d) !== "success") continue;
            const last = d.statuses[d.statuses.length - 1];
            d.statuses.push({
                id: this.statusSeq++,
                state: "inactive",
                description: "",
                environment: d.environment,
                environment_url: last.environment_url,
                log_url: last.log_url,
                creator: login,
                created_at: iso(this.clock.now()),
            });
            d.updated_at = iso(this.clock.now());
        }
    }
}

/** The token of an Authorization header (`token <t>` or `Bearer <t>`, case-insensitive scheme). */
function tokenOf(authorization: string | undefined): string | undefined {
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? "");
    return m?.[1];
}

/** Sets GITHUB_TOKEN / GITHUB_API_URL / GITHUB_REPOSITORY / GITHUB_RUN_ID; returns a function that restores them. */
export function setGithubEnv(values: {
    GITHUB_TOKEN?: string;
    GITHUB_API_URL?: string;
    GITHUB_REPOSITORY?: string;
    GITHUB_RUN_ID?: string;
}): () => void {
    return setEnv(["GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"], values);
}
