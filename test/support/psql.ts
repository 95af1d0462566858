/** psql applying a file, for tests that compare Keel with what a user running psql gets. */
import { spawnSync } from "child_process";
import * as path from "path";
import { REAL_PG_BIN } from "./pgBin";

/**
 * psql applying the file as one transaction and stopping at the first error
 * (-v ON_ERROR_STOP=1 --single-transaction), without ~/.psqlrc, with no stdin
 * (a \prompt cannot wait) and a time limit.
 */
export function psqlApply(url: string, file: string): { ok: boolean; output: string } {
    const res = spawnSync(
        path.join(REAL_PG_BIN, "psql"),
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", url, "-f", file],
        {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 30000,
            env: { ...process.env, PAGER: "", PSQL_PAGER: "" },
        },
    );
    return { ok: res.status === 0, output: `${res.stdout}${res.stderr}${res.error ? String(res.error) : ""}` };
}
