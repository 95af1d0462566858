/**
 * The Fly.io Machines API client as Keel uses it (issue 5's Fly backend): a
 * small typed client over Node's global fetch for the operations in
 * shared/specs/ENDPOINTS.md (apps, machines, leases, secrets, IP assignments),
 * with the vendor retry policy (components/vendors/retry.ts), errors that name
 * the request and Fly's error text without the token, and waits built on
 * `Machines_wait` (which blocks at most 60 s server-side, so they loop).
 *
 * - 429 is waited out within the policy's budget, honouring Retry-After (Fly
 *   limits about 1 request/s per action per machine, burst 3).
 * - 409 (a lease held by someone else, or a mutation without the lease's
 *   nonce) is retried with backoff for `leaseConflictBudgetMs`, then thrown.
 * - 5xx and network errors are retried a bounded number of times, except a
 *   POST that may have been processed, unless that POST is idempotent (start,
 *   stop, secrets, lease release...).
 * - The lease nonce goes in the `fly-machine-lease-nonce` header on every
 *   mutation of a machine, although the spec declares it only on the lease
 *   operations.
 *
 * Everything here survives Pulumi's closure serialization: fetch is a global,
 * there is no module-level mutable state, and the token is read when a client
 * is made (never captured by a provider).
 */
import { KeelError } from "../errors";
import { resolveCredential } from "./credentials";
import { classifyHttpError, decide, DEFAULT_RETRY_POLICY, Failure, formatDelay, nextState, RetryPolicy, RetryState, sleep } from "./retry";

export const DEFAULT_FLY_API_URL = "https://api.machines.dev/v1";
export const LEASE_NONCE_HEADER = "fly-machine-lease-nonce";

/** Paths of one machine (and its lease, start, stop...): where a 409 means a lease conflict. */
const LEASED_PATH = /^\/apps\/[^/]+\/machines\/[^/?]+/;

/** A Fly Machines API request that failed (after the retries the policy allows). */
export class FlyApiError extends KeelError {
    constructor(
        message: string,
        readonly status?: number,
        /** True when a mutation may have been carried out although its response was lost. */
        readonly mayHaveBeenProcessed = false,
        /** Fly's own error text (`error` of the ErrorResponse), if any. */
        readonly flyError?: string,
    ) {
        super(message, "FlyApiError");
        // Set again: the closure serializer drops parameter properties with the constructor's arguments.
        this.status = status;
        this.mayHaveBeenProcessed = mayHaveBeenProcessed;
        this.flyError = flyError;
    }
}

/** A machine that did not reach a state (or pass its checks) in time. */
export class FlyWaitError extends KeelError {
    constructor(message: string) {
        super(message, "FlyWaitError");
    }
}

/** No Fly API token where Keel looks for one. */
export class FlyCredentialsError extends KeelError {
    constructor(message: string) {
        super(message, "FlyCredentialsError");
    }
}

export function flyErrorStatus(err: unknown): number | undefined {
    const s = (err as { status?: unknown } | undefined)?.status;
    return typeof s === "number" ? s : undefined;
}

export function isFlyNotFound(err: unknown): boolean {
    return flyErrorStatus(err) === 404;
}

export interface FlyCredentialSources {
    /** `keel:flyApiToken` as the dynamic provider's configure() read it. */
    configApiToken?: string;
    /** `keel:flyApiUrl`, likewise (tests point it at a fake). */
    configApiUrl?: string;
    env: Record<string, string | undefined>;
}

export interface FlyCredentials {
    token: string;
    baseUrl: string;
    /** Where the token came from, for messages (never the token itself). */
    source: "keel:flyApiToken" | "FLY_API_TOKEN";
}

/** The token from provider config, else FLY_API_TOKEN; the base URL from config, else FLY_API_URL, else Fly's. */
export function resolveFlyCredentials(sources: FlyCredentialSources): FlyCredentials {
    const { secret, baseUrl, source } = resolveCredential(
        {
            what: "Fly.io API token",
            configKey: "keel:flyApiToken",
            envKey: "FLY_API_TOKEN",
            urlEnvKey: "FLY_API_URL",
            defaultUrl: DEFAULT_FLY_API_URL,
            howToGet: "Create one with `fly tokens create org` (or `fly tokens create deploy -a <app>`)",
        },
        sources.configApiToken,
        sources.configApiUrl,
        sources.env,
        (m) => new FlyCredentialsError(m),
    );
    return { token: secret, baseUrl, source };
}

// ---- shapes (the subset of fly-machines.openapi.yml Keel uses) ----------------

export interface FlyApp {
    id?: string;
    name?: string;
    machine_count?: number;
    volume_count?: number;
    network?: string;
    organization?: { name?: string; slug?: string; internal_numeric_id?: number };
    status?: string;
    internal_numeric_id?: number;
}

export interface CreateAppRequest {
    name: string;
    org_slug: string;
    network?: string;
    enable_subdomains?: boolean;
}

export interface MachineCheckConfig {
    type?: "tcp" | "http" | string;
    port?: number;
    interval?: string;
    timeout?: string;
    grace_period?: string;
    method?: string;
    path?: string;
    protocol?: string;
    kind?: "informational" | "readiness";
}

export interface MachineService {
    protocol?: string;
    internal_port?: number;
    autostart?: boolean;
    autostop?: string;
    min_machines_running?: number;
    ports?: { port?: number; handlers?: string[]; force_https?: boolean }[];
    checks?: Record<string, unknown>[];
    [key: string]: unknown;
}

/** fly.MachineConfig (what Keel sets; other keys pass through). */
export interface MachineConfig {
    image?: string;
    env?: Record<string, string>;
    metadata?: Record<string, string>;
    guest?: { cpu_kind?: string; cpus?: number; memory_mb?: number; [key: string]: unknown };
    services?: MachineService[];
    checks?: Record<string, MachineCheckConfig>;
    restart?: { policy?: "no" | "always" | "on-failure" | string; max_retries?: number };
    auto_destroy?: boolean;
    [key: string]: unknown;
}

export interface CheckStatus {
    name?: string;
    status?: string;
    output?: string;
    updated_at?: string;
}

export interface Machine {
    id: string;
    name?: string;
    state?: string;
    region?: string;
    instance_id?: string;
    private_ip?: string;
    config?: MachineConfig;
    image_ref?: { registry?: string; repository?: string; tag?: string; digest?: string };
    checks?: CheckStatus[];
    events?: { id?: string; type?: string; status?: string; source?: string; timestamp?: number }[];
    lease?: { description?: string; expires_at?: number; owner?: string };
    /** Only on creation with lease_ttl. */
    nonce?: string;
    created_at?: string;
    updated_at?: string;
}

export interface CreateMachineRequest {
    config: MachineConfig;
    name?: string;
    region?: string;
    lease_ttl?: number;
    /** The app's secrets version the machine must see (Secrets_update's `version`). */
    min_secrets_version?: number;
    skip_launch?: boolean;
    skip_secrets?: boolean;
    skip_service_registration?: boolean;
}

export interface UpdateMachineRequest extends CreateMachineRequest {
    current_version?: string;
}

export type MachineState = "started" | "stopped" | "suspended" | "destroyed" | "failed" | "settled";

export interface WaitResponse {
    ok?: boolean;
    state?: string;
    version?: string;
    event_id?: string;
}

export interface Lease {
    nonce?: string;
    owner?: string;
    description?: string;
    /** Unix seconds. */
    expires_at?: number;
    version?: string;
}

export interface AppSecret {
    name?: string;
    digest?: string;
    value?: string;
    created_at?: string;
    updated_at?: string;
}

export interface SecretsVersion {
    version?: number;
    secrets?: AppSecret[];
}

export interface IpAssignment {
    ip?: string;
    region?: string;
    service_name?: string;
    shared?: boolean;
    created_at?: string;
}

export interface AssignIpRequest {
    /** v4, v6, shared_v4, private_v6 (the spec gives no enum). */
    type: string;
    region?: string;
    network?: string;
    org_slug?: string;
    service_name?: string;
}

/** fly's DNSRequirements: what the hostname's DNS must say for the certificate. */
export interface DnsRequirements {
    a?: string[];
    aaaa?: string[];
    /** The app's hostname to CNAME to (`app.fly.dev`). */
    cname?: string;
    acme_challenge?: { name?: string; target?: string };
    ownership?: { name?: string; app_value?: string; org_value?: string };
}

export interface CertificateEntry {
    created_at?: string;
    expires_at?: string;
    issuer?: string;
    source?: "custom" | "fly" | string;
    status?: "active" | "pending_ownership" | "pending_validation" | string;
}

/** CertificateDetail (Certificates_show, acme create); CertificateCheckResponse adds dns_records. */
export interface CertificateDetail {
    hostname?: string;
    status?: string;
    configured?: boolean;
    acme_requested?: boolean;
    dns_provider?: string;
    dns_requirements?: DnsRequirements;
    certificates?: CertificateEntry[];
    validation?: { alpn_configured?: boolean; dns_configured?: boolean; http_configured?: boolean; ownership_txt_configured?: boolean };
    validation_errors?: { code?: string; message?: string; remediation?: string; timestamp?: string }[];
    rate_limited_until?: string;
}

export interface CertificateCheckResponse extends CertificateDetail {
    dns_records?: {
        a?: string[];
        aaaa?: string[];
        cname?: string[];
        acme_challenge_cname?: string;
        ownership_txt?: string;
        resolved_addresses?: string[];
        soa?: string;
    };
}

export interface CertificateSummary {
    hostname?: string;
    status?: string;
    configured?: boolean;
    acme_requested?: boolean;
    has_fly_certificate?: boolean;
    has_custom_certificate?: boolean;
    created_at?: string;
    updated_at?: string;
}

// ---- the client ---------------------------------------------------------------

export interface FlyClientOptions {
    token: string;
    /** Default https://api.machines.dev/v1. */
    baseUrl?: string;
    policy?: Partial<RetryPolicy>;
    /** How long 409 lease conflicts are retried before they are thrown (ms); default 60 s. */
    leaseConflictBudgetMs?: number;
    /** Per-request timeout (ms); default 60 s (Machines_wait gets its own timeout plus 15 s). */
    timeoutMs?: number;
    /** `Fly API POST /apps/a/machines/m: retrying in 2s (429 Too Many Requests)` */
    onProgress?: (message: string) => void;
}

export interface RequestOptions {
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
    /** The lease nonce, sent as fly-machine-lease-nonce. */
    nonce?: string;
    /** A POST that is safe to repeat after it may have been processed. */
    idempotent?: boolean;
    timeoutMs?: number;
}

export interface FlyResponse<T> {
    status: number;
    data: T;
}

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

export interface FlyClient {
    readonly baseUrl: string;
    request<T>(method: string, path: string, options?: RequestOptions): Promise<FlyResponse<T>>;

    listApps(orgSlug: string): Promise<{ apps?: FlyApp[]; total_apps?: number }>;
    /** 201 with an empty body: read the app back with getApp. */
    createApp(request: CreateAppRequest): Promise<void>;
    getApp(app: string): Promise<FlyApp>;
    deleteApp(app: string): Promise<void>;

    listMachines(
        app: string,
        query?: { include_deleted?: boolean; region?: string; state?: string; summary?: boolean },
    ): Promise<Machine[]>;
    createMachine(app: string, request: CreateMachineRequest): Promise<Machine>;
    updateMachine(app: string, id: string, request: UpdateMachineRequest, options?: MutationOptions): Promise<Machine>;
    getMachine(app: string, id: string): Promise<Machine>;
    deleteMachine(app: string, id: string, options?: MutationOptions & { force?: boolean }): Promise<void>;
    /** One Machines_wait call (at most 60 s); see waitForState for a longer wait. */
    waitMachine(
        app: string,
        id: string,
        query: { state?: MachineState; instanceId?: string; version?: string; timeoutS?: number; fromEventId?: string },
    ): Promise<WaitResponse>;
    startMachine(app: string, id: string, options?: MutationOptions): Promise<void>;
    stopMachine(app: string, id: string, request?: { signal?: string; timeout?: string }, options?: MutationOptions): Promise<void>;

    getLease(app: string, id: string): Promise<Lease>;
    /** A new lease, or (with nonce) a refresh of ours. */
    createLease(app: string, id: string, request: { ttl?: number; description?: string }, options?: MutationOptions): Promise<Lease>;
    releaseLease(app: string, id: string, nonce: string): Promise<void>;

    listSecrets(app: string, query?: { minVersion?: number; showSecrets?: boolean }): Promise<AppSecret[]>;
    /** Sets (string) and unsets (null) several secrets; returns the new secrets version. */
    updateSecrets(app: string, values: Record<string, string | null>): Promise<SecretsVersion>;
    getSecret(app: string, name: string, query?: { showSecrets?: boolean }): Promise<AppSecret>;
    /** Create-or-update one secret. */
    setSecret(app: string, name: string, value: string): Promise<AppSecret & { version?: number }>;
    deleteSecret(app: string, name: string): Promise<{ version?: number }>;

    listIpAssignments(app: string): Promise<IpAssignment[]>;
    assignIp(app: string, request: AssignIpRequest): Promise<IpAssignment>;
    releaseIp(app: string, ip: string): Promise<void>;

    /** App_Certificates_list: one page (`next_cursor` for the next). */
    listCertificates(
        app: string,
        query?: { filter?: string; cursor?: string; limit?: number },
    ): Promise<{ certificates?: CertificateSummary[]; next_cursor?: string; total_count?: number }>;
    /** App_Certificates_acme_create: asks Fly for a Let's Encrypt certificate for the hostname. */
    requestAcmeCertificate(app: string, hostname: string): Promise<CertificateDetail>;
    getCertificate(app: string, hostname: string): Promise<CertificateDetail>;
    /** Removes the hostname's certificates (ACME and custom). */
    deleteCertificate(app: string, hostname: string): Promise<void>;
    /** Checks DNS and re-validates; answers with the DNS records Fly sees. */
    checkCertificate(app: string, hostname: string): Promise<CertificateCheckResponse>;

    /** Loops Machines_wait until the machine is in `state` (at `instanceId`, if given) or the deadline passes. */
    waitForState(app: string, id: string, state: MachineState, options?: WaitForStateOptions): Promise<WaitResponse>;
    /** Polls Machines_show until every check of the machine is passing. */
    waitForChecks(app: string, id: string, options?: WaitForChecksOptions): Promise<Machine>;
    /**
     * Takes a lease on the machine (waiting out someone else's within the lease
     * conflict budget), runs fn with its nonce, and releases it, also when fn throws.
     */
    withLease<T>(app: string, id: string, fn: (nonce: string) => Promise<T>, options?: { ttlS?: number; description?: string }): Promise<T>;
}

/** The request an error came from, for its message. */
interface RequestInfo {
    method: string;
    path: string;
}

/** An HTTP failure as classifyHttpError reads it. */
interface HttpFailure {
    status: number;
    response: { status: number; headers: Record<string, string>; data: unknown };
    request: RequestInfo;
}

function flyErrorText(data: unknown): string {
    if (data && typeof data === "object") {
        const e = (data as { error?: unknown }).error;
        if (typeof e === "string") return e;
        const m = (data as { message?: unknown }).message;
        if (typeof m === "string") return m;
    }
    return typeof data === "string" && data.length < 500 ? data.trim() : "";
}

/** The fetch error's cause code (undici puts ECONNRESET etc. on `cause`). */
function networkCode(err: unknown): { code?: string; message: string } {
    const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown }; name?: unknown };
    const code = typeof e?.cause?.code === "string" ? e.cause.code : typeof e?.code === "string" ? e.code : undefined;
    const message = typeof e?.cause?.message === "string" ? e.cause.message : typeof e?.message === "string" ? e.message : String(err);
    if (e?.name === "TimeoutError" || e?.name === "AbortError") return { code: code ?? "ETIMEDOUT", message: "request timed out" };
    return { code, message };
}

/** Turns a failure into a FlyApiError naming the request and Fly's text, never the token. */
export function toFlyApiError(
    err: unknown,
    request: RequestInfo,
    token: string,
    options: { reason?: string; idempotent?: boolean } = {},
): FlyApiError {
    const e = err as Partial<HttpFailure>;
    let status: number | undefined;
    let flyText = "";
    let what: string;
    let lost = false;
    if (typeof e?.status === "number") {
        status = e.status;
        flyText = flyErrorText(e.response?.data);
        what = `${status}${flyText ? ` ${flyText}` : ""}`;
        lost = status >= 500 && status !== 503 && !options.idempotent;
    } else {
        const { code, message } = networkCode(err);
        what = `${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
        const failure = classifyHttpError({ code, message }, Date.now());
        lost = !!failure?.mayHaveBeenProcessed && !options.idempotent;
    }
    let message = `Fly API ${request.method} ${request.path}: ${what}${options.reason ? `; ${options.reason}` : ""}`;
    if (token) {
        message = message.split(token).join("[redacted]");
        flyText = flyText.split(token).join("[redacted]");
    }
    return new FlyApiError(message, status, lost, flyText || undefined);
}

/** Appends the query string (undefined values left out) to a path. */
function withQuery(path: string, query: RequestOptions["query"]): string {
    const parts = Object.entries(query ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    return parts.length ? `${path}?${parts.join("&")}` : path;
}

/**
 * A Fly Machines API client. Paths are below the base URL (`/apps/a/machines`);
 * segments are URI-encoded by the typed methods.
 */
export function flyClient(options: FlyClientOptions): FlyClient {
    const token = options.token;
    const baseUrl = (options.baseUrl ?? DEFAULT_FLY_API_URL).replace(/\/+$/, "");
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
    const leaseBudgetMs = options.leaseConflictBudgetMs ?? 60_000;
    const defaultTimeoutMs = options.timeoutMs ?? 60_000;
    const seg = (s: string) => encodeURIComponent(s);
    const machinePath = (app: string, id: string) => `/apps/${seg(app)}/machines/${seg(id)}`;

    async function once<T>(method: string, path: string, opts: RequestOptions): Promise<FlyResponse<T>> {
        const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
        if (opts.body !== undefined) headers["content-type"] = "application/json";
        if (opts.nonce) headers[LEASE_NONCE_HEADER] = opts.nonce;
        const res = await fetch(baseUrl + withQuery(path, opts.query), {
            method,
            headers,
            body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
            signal: AbortSignal.timeout(opts.timeoutMs ?? defaultTimeoutMs),
        });
        const text = await res.text();
        let data: unknown = undefined;
        if (text) {
            try {
                data = JSON.parse(text);
            } catch {
                data = text;
            }
        }
        if (res.status >= 400) {
            const h: Record<string, string> = {};
            res.headers.forEach((v, k) => (h[k] = v));
            const failure: HttpFailure = {
                status: res.status,
                response: { status: res.status, headers: h, data },
                request: { method, path },
            };
            throw failure;
        }
        return { status: res.status, data: data as T };
    }

    async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<FlyResponse<T>> {
        method = method.toUpperCase();
        const info = { method, path };
        const idempotent = method !== "POST" || opts.idempotent === true;
        let state: RetryState = { attempt: 1, startedMs: Date.now(), serverRetries: 0 };
        for (;;) {
            let err: unknown;
            try {
                return await once<T>(method, path, opts);
            } catch (e) {
                err = e;
            }
            const now = Date.now();
            let failure: Failure | undefined;
            const status = (err as Partial<HttpFailure>)?.status;
            if (typeof status === "number") {
                failure = classifyHttpError(err, now);
                // A lease held by someone else (or a mutation racing one) on an existing machine: waited out
                // like 423, within its own budget. Other 409s (a name taken) are the caller's to handle.
                if (status === 409 && LEASED_PATH.test(path)) {
                    failure = { kind: "locked", status, mayHaveBeenProcessed: false, label: "409 Conflict" };
                }
            } else {
                const { code, message } = networkCode(err);
                failure = classifyHttpError({ code, message }, now);
                if (!failure && (err as { name?: unknown })?.name === "TypeError") {
                    // fetch failed without a code we know: treat as a lost connection.
                    failure = { kind: "network", code, mayHaveBeenProcessed: true, label: code ?? message };
                }
            }
            if (!failure) throw toFlyApiError(err, info, token, { idempotent });
            const decision = decide(
                failure,
                state,
                failure.status === 409 && failure.kind === "locked" ? { ...policy, budgetMs: leaseBudgetMs } : policy,
                { idempotent, nowMs: now, random: Math.random() },
            );
            if (!decision.retry)
                throw toFlyApiError(err, info, token, {
                    idempotent,
                    reason: failure.kind === "client" ? undefined : `gave up: ${decision.reason}`,
                });
            options.onProgress?.(`Fly API ${method} ${path}: ${decision.message}`);
            await sleep(decision.delayMs);
            state = nextState(state, failure);
        }
    }

    const data = async <T>(p: Promise<FlyResponse<T>>): Promise<T> => (await p).data;

    const client: FlyClient = {
        baseUrl,
        request,

        listApps: (orgSlug) => data(request("GET", "/apps", { query: { org_slug: orgSlug } })),
        createApp: async (body) => void (await request("POST", "/apps", { body })),
        getApp: (app) => data(request("GET", `/apps/${seg(app)}`)),
        deleteApp: async (app) => void (await request("DELETE", `/apps/${seg(app)}`)),

        listMachines: (app, query = {}) => data(request("GET", `/apps/${seg(app)}/machines`, { query })),
        createMachine: (app, body) => data(request("POST", `/apps/${seg(app)}/machines`, { body })),
        updateMachine: (app, id, body, o = {}) => data(request("POST", machinePath(app, id), { body, nonce: o.nonce })),
        getMachine: (app, id) => data(request("GET", machinePath(app, id))),
        deleteMachine: async (app, id, o = {}) =>
            void (await request("DELETE", machinePath(app, id), { nonce: o.nonce, query: { force: o.force || undefined } })),
        waitMachine: (app, id, q) => {
            const timeoutS = Math.max(1, Math.min(60, Math.ceil(q.timeoutS ?? 60)));
            return data(
                request("GET", `${machinePath(app, id)}/wait`, {
                    query: {
                        state: q.state,
                        instance_id: q.instanceId,
                        version: q.version,
                        from_event_id: q.fromEventId,
                        timeout: timeoutS,
                    },
                    timeoutMs: (timeoutS + 15) * 1000,
                }),
            );
        },
        startMachine: async (app, id, o = {}) =>
            void (await request("POST", `${machinePath(app, id)}/start`, { nonce: o.nonce, idempotent: true })),
        stopMachine: async (app, id, body, o = {}) =>
            void (await request("POST", `${machinePath(app, id)}/stop`, { body, nonce: o.nonce, idempotent: true })),

        getLease: (app, id) => data(request("GET", `${machinePath(app, id)}/lease`)),
        createLease: (app, id, body, o = {}) => data(request("POST", `${machinePath(app, id)}/lease`, { body, nonce: o.nonce })),
        releaseLease: async (app, id, nonce) => void (await request("DELETE", `${machinePath(app, id)}/lease`, { nonce })),

        listSecrets: async (app, q = {}) =>
            (
                await data(
                    request<{ secrets?: AppSecret[] }>("GET", `/apps/${seg(app)}/secrets`, {
                        query: { min_version: q.minVersion, show_secrets: q.showSecrets },
                    }),
                )
            ).secrets ?? [],
        // Setting absolute values: repeating it does no harm.
        updateSecrets: (app, values) => data(request("POST", `/apps/${seg(app)}/secrets`, { body: { values }, idempotent: true })),
        getSecret: (app, name, q = {}) =>
            data(request("GET", `/apps/${seg(app)}/secrets/${seg(name)}`, { query: { show_secrets: q.showSecrets } })),
        setSecret: (app, name, value) =>
            data(request("POST", `/apps/${seg(app)}/secrets/${seg(name)}`, { body: { value }, idempotent: true })),
        deleteSecret: (app, name) => data(request("DELETE", `/apps/${seg(app)}/secrets/${seg(name)}`)),

        listIpAssignments: async (app) =>
            (await data(request<{ ips?: IpAssignment[] }>("GET", `/apps/${seg(app)}/ip_assignments`))).ips ?? [],
        assignIp: (app, body) => data(request("POST", `/apps/${seg(app)}/ip_assignments`, { body })),
        releaseIp: async (app, ip) => void (await request("DELETE", `/apps/${seg(app)}/ip_assignments/${seg(ip)}`)),

        listCertificates: (app, q = {}) =>
            data(request("GET", `/apps/${seg(app)}/certificates`, { query: { filter: q.filter, cursor: q.cursor, limit: q.limit } })),
        requestAcmeCertificate: (app, hostname) => data(request("POST", `/apps/${seg(app)}/certificates/acme`, { body: { hostname } })),
        getCertificate: (app, hostname) => data(request("GET", `/apps/${seg(app)}/certificates/${seg(hostname)}`)),
        deleteCertificate: async (app, hostname) => void (await request("DELETE", `/apps/${seg(app)}/certificates/${seg(hostname)}`)),
        // Re-validation only reads DNS: repeating it does no harm.
        checkCertificate: (app, hostname) =>
            data(request("POST", `/apps/${seg(app)}/certificates/${seg(hostname)}/check`, { idempotent: true })),

        waitForState: async (app, id, state, o = {}) => {
            const timeoutS = o.timeoutS ?? 300;
            const deadline = Date.now() + timeoutS * 1000;
            const what = `machine ${id} of app ${app} to be ${state}${o.instanceId || o.version ? ` at version ${o.instanceId ?? o.version}` : ""}`;
            for (;;) {
                const left = Math.ceil((deadline - Date.now()) / 1000);
                if (left <= 0) break;
                try {
                    return await client.waitMachine(app, id, {
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
                const m = await client.getMachine(app, id);
                current = ` (it is ${m.state ?? "in an unknown state"}${m.instance_id ? ` at version ${m.instance_id}` : ""})`;
            } catch {
                // the message below is enough
            }
            throw new FlyWaitError(
                `Gave up waiting for ${what} after ${formatDelay(timeoutS * 1000)}${current}. Look at 'fly machine status ${id} -a ${app}' and 'fly logs -a ${app}'.`,
            );
        },

        waitForChecks: async (app, id, o = {}) => {
            const timeoutS = o.timeoutS ?? 300;
            const deadline = Date.now() + timeoutS * 1000;
            let lastReport = Date.now();
            for (;;) {
                const m = await client.getMachine(app, id);
                const checks = m.checks ?? [];
                const failing = checks.filter((c) => c.status !== "passing");
                if (!failing.length) return m;
                if (Date.now() >= deadline) {
                    throw new FlyWaitError(
                        `Machine ${id} of app ${app} did not pass its health checks within ${formatDelay(timeoutS * 1000)}: ` +
                            failing
                                .map(
                                    (c) => `${c.name ?? "check"} ${c.status ?? "unknown"}${c.output ? ` (${c.output.slice(0, 200)})` : ""}`,
                                )
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
        },

        withLease: async (app, id, fn, o = {}) => {
            const lease = await client.createLease(app, id, { ttl: o.ttlS ?? 120, description: o.description ?? "keel" });
            if (!lease.nonce) throw new FlyApiError(`Fly API POST ${machinePath(app, id)}/lease: the lease came back without a nonce`);
            try {
                return await fn(lease.nonce);
            } finally {
                try {
                    await client.releaseLease(app, id, lease.nonce);
                } catch (e) {
                    // Gone with its machine, or expired and taken by someone else: nothing of ours to release.
                    if (![404, 409].includes(flyErrorStatus(e) ?? 0))
                        options.onProgress?.(
                            `could not release the lease on machine ${id} of app ${app} (it expires by itself): ${(e as Error).message}`,
                        );
                }
            }
        },
    };
    return client;
}
