/** The first executable file called `name` in `dirs` (PATH's, .keel/bin...), or undefined. */
import * as fs from "fs";
import * as path from "path";

export function findExecutable(name: string, dirs: string[]): string | undefined {
    for (const dir of dirs.filter(Boolean)) {
        const bin = path.resolve(dir, name);
        try {
            fs.accessSync(bin, fs.constants.X_OK);
            if (fs.statSync(bin).isFile()) return bin;
        } catch {
            // Not here.
        }
    }
    return undefined;
}
