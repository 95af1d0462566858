/**
 * The HTTP plumbing the local fake vendor APIs (fakeNeon, fakeFly,
 * fakeRender) share: a node http server on 127.0.0.1 (random port) whose
 * stop destroys open sockets, a log of every request (body, status,
 * response, injected/dropped), JSON bodies (400 when unparsable), a bearer
 * token check, queued fault answers (inject) and dropped responses
 * (dropResponses: the request is carried out, then its socket destroyed).
 *
 * A fake extends FakeHttpServer, answers in route() and gives its vendor's
 * error body shape in errorBody() and faultBody().
 *
 * Nothing here looks at the wall clock: each fake has a FakeClock (`clock`,
 * ticked once per handled request by its tickPerRequestMs, 0 by default),
 * and a logged request's `atMs` is that clock's time at its arrival.
 */
import * as http from "http";
import type { AddressInfo, Socket } from "net";
import { FakeClock } from "./fakeClock";

/** Thrown by a fake's route: answered with `status` and the vendor's error body. */
export class HttpError extends Error {
    constructor(
        readonly status: number,
        message: string,
        readonly headers: Record<string, string> = {},
    ) {
        super(message);
    }
}

export interface LoggedRequest {
    method: string;
    /** Path below the API base, e.g. /projects/p-1/branches. */
    path: string;
    query: Record<string, string>;
    body?: any;
    status?: number;
    response?: any;
    /** The request was carried out but its response was never sent. */
    dropped?: boolean;
    /** The answer came from inject(), not from the fake's logic. */
    injected?: boolean;
    authorization?: string;
    /** The fake's clock (not the wall clock) when the request arrived. */
    atMs: number;
}

export interface Fault {
    method: string;
    /** Matched against the path below the API base. */
    path: RegExp;
    status: number;
    times: number;
    /** Sent as the Retry-After header. */
    retryAfter?: string;
}

/** An answer: status, body (undefined: none) and extra headers. */
export type Answer = [number, unknown, Record<string, string>?];

export abstract class FakeHttpServer<E extends LoggedRequest = LoggedRequest, F extends Fault = Fault> {
    readonly requests: E[] = [];
    /** http://127.0.0.1:<port><basePath> */
    url = "";
    protected faults: F[] = [];
    private drops: { method: string; path: RegExp; times: number }[] = [];
    private server!: http.Server;
    private sockets = new Set<Socket>();

    /**
     * basePath: the API's prefix (e.g. /v1), part of `url` and stripped from logged paths.
     * clock: the fake's time (a new FakeClock unless one is shared).
     */
    protected constructor(
        private readonly basePath: string,
        readonly clock: FakeClock = new FakeClock(),
    ) {}

    /** Listens on 127.0.0.1 (random port) and sets `url`. */
    protected async listen(): Promise<void> {
        this.server = http.createServer((req, res) => void this.handle(req, res));
        this.server.on("connection", (s) => {
            this.sockets.add(s);
            s.on("close", () => this.sockets.delete(s));
        });
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.basePath}`;
    }

    async stop(): Promise<void> {
        for (const s of this.sockets) s.destroy();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    /** The next `times` requests matching method and path are answered with `status` (and Retry-After). */
    inject(fault: Omit<F, "times"> & { times?: number }): void {
        this.faults.push({ times: 1, ...fault } as F);
    }

    /** The next `times` matching requests are carried out, then their socket is destroyed unanswered. */
    dropResponses(method: string, path: RegExp, times = 1): void {
        this.drops.push({ method, path, times });
    }

    /** Mutating requests (not GET), optionally only those whose path matches. */
    mutations(path?: RegExp): E[] {
        return this.requests.filter((r) => r.method !== "GET" && (!path || path.test(r.path)));
    }

    /** Forgets the faults not yet answered (a vendor that has recovered). */
    clearFaults(): void {
        this.faults = [];
    }

    /** Forgets logged requests, faults and drops (for a fake's reset). */
    protected resetHttp(): void {
        this.requests.splice(0);
        this.faults = [];
        this.drops = [];
    }

    /** Whether the request carries the right credentials (401 otherwise). */
    protected abstract authorized(authorization: string | undefined): boolean;

    /** The 401 message. */
    protected abstract unauthorizedMessage: string;

    /** The vendor's error body for an error answer. */
    protected abstract errorBody(status: number, message: string): unknown;

    /** The vendor's error body for an injected fault. */
    protected abstract faultBody(fault: F): unknown;

    /** The message of a 500 answered for an unexpected error of the fake itself. */
    protected internalErrorMessage(err: Error): string {
        return err.message;
    }

    /** Adds vendor-specific fields (headers) to a request's log entry. */
    protected logEntry(entry: LoggedRequest, _req: http.IncomingMessage): E {
        return entry as E;
    }

    /** Answers before routing (after faults), e.g. a rate limit; undefined to route. */
    protected intercept(_method: string, _path: string): Answer | undefined {
        return undefined;
    }

    /** The fake's logic: the answer to a request; throws HttpError for an error answer. */
    protected abstract route(
        method: string,
        path: string,
        query: URLSearchParams,
        body: any,
        entry: E,
        req: http.IncomingMessage,
    ): [number, unknown] | Promise<[number, unknown]>;

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? "/", "http://fake");
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString("utf8");
        const method = (req.method ?? "GET").toUpperCase();
        const path = url.pathname.startsWith(this.basePath) ? url.pathname.slice(this.basePath.length) : url.pathname;
        this.clock.tick();
        const entry = this.logEntry(
            {
                method,
                path,
                query: Object.fromEntries(url.searchParams.entries()),
                authorization: req.headers.authorization,
                atMs: this.clock.now(),
            },
            req,
        );
        this.requests.push(entry);
        const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
            entry.status = status;
            entry.response = body;
            if (res.destroyed) return;
            if (body === undefined) {
                res.writeHead(status, headers);
                res.end();
            } else {
                res.writeHead(status, { "content-type": "application/json", ...headers });
                res.end(JSON.stringify(body));
            }
        };
        try {
            if (raw) {
                try {
                    entry.body = JSON.parse(raw);
                } catch {
                    throw new HttpError(400, "request body is not valid JSON");
                }
            }
            if (!this.authorized(req.headers.authorization)) throw new HttpError(401, this.unauthorizedMessage);
            const fault = this.faults.find((f) => f.method === method && f.path.test(path) && f.times > 0);
            if (fault) {
                fault.times--;
                entry.injected = true;
                send(fault.status, this.faultBody(fault), fault.retryAfter !== undefined ? { "retry-after": fault.retryAfter } : {});
                return;
            }
            const early = this.intercept(method, path);
            if (early) {
                send(...early);
                return;
            }
            const [status, body] = await this.route(method, path, url.searchParams, entry.body, entry, req);
            const drop = this.drops.find((d) => d.method === method && d.path.test(path) && d.times > 0);
            if (drop && status < 300) {
                drop.times--;
                entry.status = status;
                entry.response = body;
                entry.dropped = true;
                req.socket.destroy();
                return;
            }
            send(status, body);
        } catch (err) {
            if (err instanceof HttpError) send(err.status, this.errorBody(err.status, err.message), err.headers);
            else send(500, this.errorBody(500, this.internalErrorMessage(err as Error)));
        }
    }
}

/**
 * Sets (or, with undefined, unsets) a vendor's environment variables for a test, the way its client
 * reads them per call; returns a function that puts back what every one of `keys` was before.
 */
export function setEnv<K extends string>(keys: readonly K[], values: { [k in K]?: string }): () => void {
    const saved: Record<string, string | undefined> = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    const apply = (v: Record<string, string | undefined>) => {
        for (const [k, value] of Object.entries(v)) {
            if (value === undefined) delete process.env[k];
            else process.env[k] = value;
        }
    };
    apply(values);
    return () => apply(saved);
}
