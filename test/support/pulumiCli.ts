/** Whether a working Pulumi CLI is on PATH (the npm launcher alone, offline, is not one). */
import { spawnSync } from "child_process";

let cached: string | false | undefined;

/** The CLI's version, or false when `pulumi version` does not answer. */
export function pulumiCliVersion(): string | false {
    if (cached === undefined) {
        const res = spawnSync("pulumi", ["version"], { encoding: "utf8", timeout: 30_000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
        cached = res.status === 0 && /^v?\d+\.\d+/.test(res.stdout.trim()) ? res.stdout.trim() : false;
    }
    return cached;
}
