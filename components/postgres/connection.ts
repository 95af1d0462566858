/**
 * Database connections for the migration engine: refuse pooled URLs, open a
 * client that names itself, and describe a target without its password.
 */
import { Client } from "pg";
import { DatabaseConnectionError } from "../errors";

/** host:port/database, never the user's password: safe for logs and errors. */
export function describeTarget(url: string): string {
    try {
        const u = new URL(url);
        return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname || "/"}`;
    } catch {
        return "(unparseable database URL)";
    }
}

/**
 * Why a URL cannot be used for migrations, or undefined when it can.
 * Pooled connections (PgBouncer in transaction mode, Neon's -pooler hosts)
 * break session-level advisory locks and SET, which the runner relies on.
 */
export function unusableUrlReason(url: string): string | undefined {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return "is not a valid URL; use postgres://user:password@host:5432/database";
    }
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
        return `uses '${u.protocol}'; use a postgres:// or postgresql:// URL`;
    }
    const pooledHost = u.hostname.includes("-pooler");
    const pgbouncer = u.searchParams.get("pgbouncer") === "true";
    const pgbouncerPort = u.port === "6432";
    if (pooledHost || pgbouncer || pgbouncerPort) {
        const why = pooledHost ? `host '${u.hostname}' is a pooler` : pgbouncer ? "it says pgbouncer=true" : "port 6432 is PgBouncer's";
        return (
            `is a pooled connection (${why}). Migrations need a direct connection: ` +
            (pooledHost ? `remove '-pooler' from the host name` : "use the server's own host and port (usually 5432)") +
            " and keep the pooled URL for the application only"
        );
    }
    return undefined;
}

export interface ConnectOptions {
    /** Shown in pg_stat_activity, so a lock holder can be identified. */
    applicationName?: string;
}

/** How long a connection attempt may take unless the URL says otherwise (libpq's connect_timeout, in seconds). */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

/**
 * The URL's `connect_timeout` (seconds, as libpq and pg_dump read it), else the default. node-postgres
 * itself ignores the parameter and waits forever: a server that accepts and never answers would hang
 * every command.
 */
export function connectTimeoutSeconds(url: string): number {
    const given = new URL(url).searchParams.get("connect_timeout");
    const seconds = given === null ? NaN : Number(given);
    // libpq: zero, negative or not a number means wait indefinitely; Keel keeps its default then rather than hang.
    return Number.isFinite(seconds) && seconds > 0 ? Math.max(2, Math.floor(seconds)) : DEFAULT_CONNECT_TIMEOUT_SECONDS;
}

/** Opens a client on a direct connection; the error never contains the URL's password. */
export async function openClient(url: string, options: ConnectOptions = {}): Promise<Client> {
    const reason = unusableUrlReason(url);
    if (reason) throw new DatabaseConnectionError(`The database URL for ${describeTarget(url)} ${reason}.`);
    const hasAppName = new URL(url).searchParams.has("application_name");
    const timeout = connectTimeoutSeconds(url);
    const client = new Client({
        connectionString: url,
        connectionTimeoutMillis: timeout * 1000,
        ...(hasAppName ? {} : { application_name: options.applicationName ?? "keel" }),
    });
    // An idle client whose server goes away emits 'error'; without a listener that kills the process.
    client.on("error", () => undefined);
    try {
        await client.connect();
    } catch (err: any) {
        await client.end().catch(() => undefined);
        throw new DatabaseConnectionError(
            `Cannot connect to the database at ${describeTarget(url)}: ${err.message}` +
                (/timeout/i.test(String(err.message))
                    ? ` (no answer within ${timeout} s; add connect_timeout=<seconds> to the URL to wait longer). `
                    : ". ") +
                `Check that the server is running and that the URL (keel:databaseUrl or DATABASE_URL) is right.`,
        );
    }
    return client;
}

export function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}
