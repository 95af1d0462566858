/** keel db copy (npm run db:copy): the command's whole work is scripts/lib/databaseCopy.ts, which db reset shares. */
export { dbCopy } from "./lib/databaseCopy";
export type { DbCopyIo, DbCopyOptions } from "./lib/databaseCopy";
