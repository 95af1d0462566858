/** Temporary directories for tests and benchmarks, removed when the process exits. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const made: string[] = [];
process.on("exit", () => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = "keel-test-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
}
