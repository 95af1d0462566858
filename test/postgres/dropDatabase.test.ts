/**
 * dropDatabase against a real PostgreSQL: the database goes with the sessions
 * that hold it, on the server's own path (WITH (FORCE)) and on the path older
 * servers take (connections refused, sessions ended, the drop retried); a
 * database that is not there is no error.
 */
import { strict as assert } from "assert";
import { Client } from "pg";
import { adminClient } from "../../components/backup/pgDump";
import { dropDatabase, dropDatabaseEndingSessions } from "../../components/postgres/dropDatabase";
import { connect } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";

const nameOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

async function exists(admin: Client, name: string): Promise<boolean> {
    return ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount ?? 0) > 0;
}

/** A database with a session open on it that never lets go by itself. */
async function heldDatabase(): Promise<{ url: string; name: string; session: Client; ended: Promise<void> }> {
    const url = await freshDatabase("dropdb");
    const session = await connect(url);
    // The server ends the session: its connection closing is what the test waits for.
    const ended = new Promise<void>((resolve) => session.on("end", () => resolve()));
    await session.query("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)");
    return { url, name: nameOf(url), session, ended };
}

describe("dropDatabase (real PostgreSQL)", function () {
    this.timeout(60_000);
    let admin: Client;
    let url: string;

    before(async () => {
        url = await freshDatabase("dropdb_admin");
        admin = await adminClient(url, "keel-drop-test");
    });
    after(() => admin.end());

    it("drops a database a session holds, ending that session", async () => {
        const held = await heldDatabase();
        await dropDatabase(admin, held.name);
        assert.equal(await exists(admin, held.name), false);
        await held.ended;
        await held.session.end().catch(() => undefined);
    });

    it("before PostgreSQL 13's FORCE: refuses new connections, ends the sessions, says how many, then drops", async () => {
        const held = await heldDatabase();
        const said: string[] = [];
        await dropDatabaseEndingSessions(admin, held.name, (l) => said.push(l));
        assert.equal(await exists(admin, held.name), false);
        assert.deepEqual(said, [`ended 1 session on '${held.name}'`]);
        await held.ended;
        await held.session.end().catch(() => undefined);
    });

    it("a database that is not there is no error, on either path, and nothing is said", async () => {
        const said: string[] = [];
        await dropDatabase(admin, "keel_no_such_database", (l) => said.push(l));
        await dropDatabaseEndingSessions(admin, "keel_no_such_database", (l) => said.push(l));
        assert.deepEqual(said, []);
    });

    it("leaves the other databases on the server alone", async () => {
        const other = await freshDatabase("dropdb_other");
        const held = await heldDatabase();
        await dropDatabase(admin, held.name);
        assert.equal(await exists(admin, nameOf(other)), true);
        const c = await connect(other);
        await c.query("SELECT 1");
        await c.end();
        await held.session.end().catch(() => undefined);
    });
});
