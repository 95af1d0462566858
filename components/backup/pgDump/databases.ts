/** Whole databases on the server: a maintenance connection, their facts, creating one like another and dropping one. */
import type { Client } from "pg";
import { connect, quoteIdent, urlForDatabase } from "./connection";

export interface DatabaseFacts {
    name: string;
    owner: string;
    encoding: string;
    collate: string;
    ctype: string;
}

/** A database's owner, encoding and locale, to create another like it; undefined when there is none of that name. */
export async function databaseFacts(admin: Client, name: string): Promise<DatabaseFacts | undefined> {
    const res = await admin.query(
        `SELECT d.datname AS name, pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype
         FROM pg_database d WHERE d.datname = $1`,
        [name],
    );
    return res.rows[0];
}

/** A maintenance connection on the same server (the postgres database, else template1). */
export async function adminClient(url: string, applicationName: string): Promise<Client> {
    try {
        return await connect(urlForDatabase(url, "postgres"), applicationName);
    } catch {
        return connect(urlForDatabase(url, "template1"), applicationName);
    }
}

/** Creates `name` with `like`'s encoding and locale, owned by its owner when this user may make it so. */
export async function createDatabaseLike(admin: Client, name: string, like: DatabaseFacts): Promise<void> {
    const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${admin.escapeLiteral(like.encoding)} LC_COLLATE ${admin.escapeLiteral(like.collate)} LC_CTYPE ${admin.escapeLiteral(like.ctype)}`;
    try {
        await admin.query(`${base} OWNER ${quoteIdent(like.owner)}`);
    } catch {
        // Not a member of the owner's role: the restoring user owns it.
        await admin.query(base);
    }
}
