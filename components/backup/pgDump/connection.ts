/**
 * Reaching the server: libpq environment variables for the tools (credentials
 * travel there, never on argv or in logs), URLs of other databases on the same
 * server, and connections with the server's version.
 */
import type { Client } from "pg";
import { openClient } from "../../postgres/connection";

/** libpq environment for a URL: host, port, user, password, database and the usual parameters; other PG* variables removed. */
export function libpqEnv(url: string, base: Record<string, string | undefined> = process.env, database?: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined && !/^PG[A-Z]+$/.test(k)) env[k] = v;
    const u = new URL(url);
    const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    if (host) env.PGHOST = decodeURIComponent(host);
    env.PGPORT = u.port || "5432";
    if (u.username) env.PGUSER = decodeURIComponent(u.username);
    if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
    env.PGDATABASE = database ?? decodeURIComponent(u.pathname.replace(/^\//, "") || "postgres");
    const params: Record<string, string> = {
        sslmode: "PGSSLMODE",
        sslrootcert: "PGSSLROOTCERT",
        sslcert: "PGSSLCERT",
        sslkey: "PGSSLKEY",
        options: "PGOPTIONS",
        application_name: "PGAPPNAME",
        connect_timeout: "PGCONNECT_TIMEOUT",
        target_session_attrs: "PGTARGETSESSIONATTRS",
        channel_binding: "PGCHANNELBINDING",
        gssencmode: "PGGSSENCMODE",
        sslcrl: "PGSSLCRL",
        host: "PGHOST",
        port: "PGPORT",
    };
    for (const [k, v] of u.searchParams) if (params[k]) env[params[k]] = v;
    if (!u.searchParams.has("application_name")) env.PGAPPNAME = "keel-backup";
    return env;
}

/** The same server, another database. */
export function urlForDatabase(url: string, database: string): string {
    const u = new URL(url);
    u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
}

export function databaseName(url: string): string {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres";
}

export async function connect(url: string, applicationName: string): Promise<Client> {
    return openClient(url, { applicationName });
}

export async function serverVersionOf(client: Client): Promise<{ text: string; major: number }> {
    const res = await client.query("SELECT current_setting('server_version') AS text, current_setting('server_version_num')::int AS num");
    return { text: String(res.rows[0].text).split(" ")[0], major: Math.floor(res.rows[0].num / 10000) };
}

export function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}
