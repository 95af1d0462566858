/**
 * Dropping a database that sessions may still hold: dev:reset's drop of the
 * dev database and the backups' drop of a scratch database (a restore that
 * failed, a drill's copy) are the same act.
 *
 * Serializable into the Schema provider (pgDump.ts uses it there): no npm
 * module at load time (`pg` is a type only), no module state.
 */
import type { Client } from "pg";
import { quoteIdent } from "./connection";

/** PostgreSQL 13 added DROP DATABASE … WITH (FORCE). */
const FORCE_SINCE = 130000;

/** How many times a session that outlives pg_terminate_backend is waited for (100 ms apart) before the drop gives up. */
const DROP_ATTEMPTS = 20;

/**
 * Drops `name` (nothing when there is none), ending the sessions connected to
 * it: in one statement WITH (FORCE) from PostgreSQL 13, before that by
 * refusing new connections, ending the open ones and retrying while one lingers.
 * `admin` is connected to another database on the same server.
 */
export async function dropDatabase(admin: Client, name: string, say: (line: string) => void = () => undefined): Promise<void> {
    const num = Number((await admin.query("SELECT current_setting('server_version_num') AS v")).rows[0].v);
    if (num >= FORCE_SINCE) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        return;
    }
    await dropDatabaseEndingSessions(admin, name, say);
}

/**
 * The drop before PostgreSQL 13: new connections refused first, so an app that
 * reconnects cannot slip in between ending its session and the drop. Exported
 * for tests, which run a newer server.
 */
export async function dropDatabaseEndingSessions(admin: Client, name: string, say: (line: string) => void): Promise<void> {
    const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount;
    if (!exists) return;
    const db = quoteIdent(name);
    await admin.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS false`);
    for (let attempt = 0; ; attempt++) {
        const ended = await admin.query(
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
            [name],
        );
        const n: number = ended.rows[0].n;
        if (n) say(`ended ${n} ${n === 1 ? "session" : "sessions"} on '${name}'`);
        try {
            await admin.query(`DROP DATABASE IF EXISTS ${db}`);
            return;
        } catch (err: any) {
            // 55006: a session has not gone yet.
            if (err?.code !== "55006" || attempt >= DROP_ATTEMPTS) throw err;
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}
