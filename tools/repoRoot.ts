import * as fs from "fs";
import * as path from "path";

/** The repository: the directory above this file with Pulumi.yaml (this file also runs built, from dist/tools). */
export const ROOT = (() => {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, "Pulumi.yaml")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return dir;
})();
