/**
 * What the end-to-end tests of the cloud stacks (staging, prod) share: a Neon
 * database whose endpoint is the test cluster, the backend's public health URL
 * answered by the test, secret values to search the state for, and the stack
 * file as the engine here can run it.
 */
import { randomBytes } from "crypto";
import * as http from "http";
import type { AddressInfo } from "net";
import type { PostgresCluster } from "./postgres";

export function secretValue(prefix: string): string {
    return `${prefix}${randomBytes(12).toString("hex")}`;
}

/**
 * The database a stack file's Neon role and database name stand for, on the test
 * cluster: the role (LOGIN, with the password the fake Neon hands out) and a
 * database of the test's own owned by it.
 */
export async function neonDatabaseOnCluster(cluster: PostgresCluster, role: string, password: string, database: string): Promise<string> {
    await cluster.sql(
        "postgres",
        `DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN ALTER ROLE "${role}" LOGIN PASSWORD '${password}';
            ELSE CREATE ROLE "${role}" LOGIN PASSWORD '${password}'; END IF;
        END $$`,
    );
    await cluster.sql("postgres", `DROP DATABASE IF EXISTS "${database}"`);
    await cluster.sql("postgres", `CREATE DATABASE "${database}" OWNER "${role}"`);
    return cluster.url(database);
}

/**
 * A stack file's config as the engine here runs it: without keel:frontend and
 * keel:github (their resources need provider plugins that cannot be downloaded;
 * mocks cover them), on the test's database, with the health gate on `healthUrl`.
 */
export function forTheEngine(config: Record<string, any>, options: { databaseName: string; healthUrl: string }): void {
    delete config["keel:frontend"];
    delete config["keel:github"];
    config["keel:database"].neon.databaseName = options.databaseName;
    if (config["keel:backend"]) config["keel:backend"].healthCheck = { ...config["keel:backend"].healthCheck, url: options.healthUrl };
}

/** The backend's public health URL, answered by the test: 200 when healthy, 503 otherwise. */
export class HealthServer {
    healthy = true;
    hits = 0;
    private constructor(
        private readonly server: http.Server,
        readonly url: string,
    ) {}

    static async start(): Promise<HealthServer> {
        const server = http.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const self = new HealthServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
        server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
            self.hits++;
            if (self.healthy) res.writeHead(200).end("ok");
            else res.writeHead(503).end("down for maintenance");
        });
        return self;
    }

    stop(): Promise<void> {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
