/** A KEEL_PG_BIN directory whose pg_dump is a shell script (pg_restore is the real one), for backup failure tests. */
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "./tempDir";

export const REAL_PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export function fakePgBin(pgDumpScript: string): string {
    const dir = tempDir("keel-fake-pg-");
    fs.writeFileSync(path.join(dir, "pg_dump"), `#!/bin/sh\n${pgDumpScript}\n`, { mode: 0o755 });
    fs.symlinkSync(path.join(REAL_PG_BIN, "pg_restore"), path.join(dir, "pg_restore"));
    return dir;
}
