/**
 * PostgreSQL as Keel reaches it, shared by the schema runner and the backups:
 * connections (direct URLs only, the password never in a message), a database
 * dropped with the sessions that hold it (dropDatabase), and the schema's
 * catalog reduced to a fingerprint that shows drift object by object;
 * two databases' catalogs compared and the difference written as DDL (schema:diff).
 */
export * from "./connection";
export * from "./dropDatabase";
export * from "./fingerprint";
export * from "./catalog";
export * from "./catalogDiff";
export * from "./catalogDdl";
