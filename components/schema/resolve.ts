/** schema:resolve: settling a failed or interrupted no-transaction migration by hand, under the runner lock. */
import { MigrationHistoryError } from "../errors";
import { openClient } from "../postgres/connection";
import { historyRef, readHistory } from "./history";
import { invalidIndexesOf } from "./invalidIndexes";
import { describeInvalidIndexes, HistoryRow, InvalidIndex, PlannedFile } from "./plan";
import type { EngineSettings } from "./runner";
import { acquireLock, LockWaitHooks, lockName, releaseLock } from "./runnerLock";

/**
 * Settles a failed or interrupted no-transaction migration: `applied` records it
 * as applied with the file's checksum; `rolled-back` removes its row so it runs again.
 * Both are refused while an INVALID index the file may have left remains (on the
 * tables its CONCURRENTLY statements work on; anywhere in the database when
 * `file` is undefined): the error names each with the DROP INDEX that removes it.
 * Pass the file for both outcomes, so that only its own tables are searched.
 */
export async function resolveMigration(
    url: string,
    s: EngineSettings,
    version: string,
    outcome: "applied" | "rolled-back",
    file: PlannedFile | undefined,
    options: { lockWait?: LockWaitHooks } = {},
): Promise<HistoryRow> {
    const client = await openClient(url, { applicationName: `keel-resolve (${s.appliedBy})` });
    try {
        await acquireLock(client, s, () => undefined, options.lockWait);
        try {
            const row = (await readHistory(client, s)).find((r) => r.version === version);
            if (!row) throw new MigrationHistoryError(`Version ${version} has no row in ${lockName(s)}; there is nothing to resolve.`);
            if (row.status !== "failed" && row.status !== "running") {
                throw new MigrationHistoryError(
                    `Version ${version} (${row.name}) is ${row.status}, not failed; there is nothing to resolve.`,
                );
            }
            const { indexes, searchedDatabase } = await invalidIndexesOf(client, file);
            if (indexes.length) throw invalidIndexRefusal(row, outcome, indexes, searchedDatabase);
            if (outcome === "rolled-back") {
                await client.query(`DELETE FROM ${historyRef(s)} WHERE version = $1`, [version]);
            } else {
                await client.query(
                    `UPDATE ${historyRef(s)} SET status = 'applied', checksum = coalesce($2, checksum), applied_at = now(), applied_by = $3 WHERE version = $1`,
                    [version, file?.checksum ?? null, s.appliedBy],
                );
            }
            return row;
        } finally {
            await releaseLock(client, s);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Why schema:resolve will not settle a version while INVALID indexes remain, and the DROP INDEX statements that come first. */
function invalidIndexRefusal(
    row: HistoryRow,
    outcome: "applied" | "rolled-back",
    indexes: InvalidIndex[],
    searchedDatabase: boolean,
): MigrationHistoryError {
    const one = indexes.length === 1;
    const found = searchedDatabase
        ? `its file is not at hand, so any invalid index may be its, and the database has ${describeInvalidIndexes(indexes)}`
        : `it left ${describeInvalidIndexes(indexes)}`;
    const drops = indexes.map((i) => `  ${i.drop}`).join("\n");
    const next =
        outcome === "applied"
            ? `An invalid index is not a finished one. Drop ${one ? "it" : "them"}:\n${drops}\nthen build ${one ? "it" : "them"} again (run the file's statement by hand) ` +
              `and run 'npm run schema:resolve -- ${row.version} --applied' again; or, to run the file again instead, undo the rest of its changes and ` +
              `run 'npm run schema:resolve -- ${row.version} --rolled-back'.`
            : `Drop ${one ? "it" : "them"} first:\n${drops}\nthen run 'npm run schema:resolve -- ${row.version} --rolled-back' again ` +
              `(the file's CREATE INDEX would otherwise fail on the existing name when it runs again, or, with IF NOT EXISTS, keep the invalid index for good).`;
    return new MigrationHistoryError(
        `Version ${row.version} (${row.name}) cannot be recorded as ${outcome === "applied" ? "applied" : "rolled back"} yet: ${found}. ${next}`,
    );
}
