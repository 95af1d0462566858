/**
 * Finds a working Pulumi CLI on PATH. The npm launcher (node_modules/.bin/pulumi)
 * comes first on npm's PATH and cannot fetch the CLI offline, so every `pulumi`
 * on PATH is asked in turn, and the first that answers `pulumi version` is used.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface PulumiCli {
    version: string;
    /** Absolute path of the binary that answered. */
    bin: string;
}

let cached: PulumiCli | false | undefined;

export function findPulumiCli(): PulumiCli | false {
    if (cached !== undefined) return cached;
    cached = false;
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const bin = path.join(dir, "pulumi");
        try {
            fs.accessSync(bin, fs.constants.X_OK);
        } catch {
            continue;
        }
        const res = spawnSync(bin, ["version"], {
            encoding: "utf8",
            timeout: 30_000,
            env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
        });
        if (res.status === 0 && /^v?\d+\.\d+/.test(res.stdout.trim())) {
            cached = { version: res.stdout.trim(), bin: path.resolve(bin) };
            break;
        }
    }
    return cached;
}
