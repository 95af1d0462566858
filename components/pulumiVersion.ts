/**
 * The Pulumi CLI version Keel runs everywhere, read in one place: the version of
 * github.com/pulumi/pulumi/pkg/v3 that tools/pulumi/go.mod requires (what
 * `npm run pulumi:build` builds into .keel/bin). The generated workflows install
 * exactly this version; the hint for a missing CLI names it.
 */
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "./errors";

/** tools/pulumi/go.mod is missing or pins no release of the CLI. */
export class PulumiPinError extends KeelError {
    constructor(message: string) {
        super(message, "PulumiPinError");
    }
}

/** The go.mod pinning the CLI, relative to the project. */
export const PULUMI_GO_MOD = "tools/pulumi/go.mod";
/** The module whose version is the CLI's. */
export const PULUMI_MODULE = "github.com/pulumi/pulumi/pkg/v3";

/**
 * The version go.mod text requires of a module, without the leading `v` ("3.276.0"), or
 * undefined when it requires none. Reads `require` lines, in a block or on their own;
 * a `replace` or `exclude` of the module changes nothing here.
 */
export function goModRequirement(goMod: string, module: string): string | undefined {
    let inRequire = false;
    for (const raw of goMod.split(/\r?\n/)) {
        const line = raw.replace(/\/\/.*$/, "").trim();
        if (inRequire) {
            if (line === ")") {
                inRequire = false;
                continue;
            }
        } else if (/^require\s*\($/.test(line)) {
            inRequire = true;
            continue;
        }
        const fields = (inRequire ? line : (/^require\s+(.*)$/.exec(line)?.[1] ?? "")).split(/\s+/);
        if (fields.length === 2 && fields[0] === module) return fields[1].replace(/^v/, "");
    }
    return undefined;
}

/** The Pulumi CLI version the project pins ("3.276.0"); a missing or changed go.mod is refused with the fix. */
export function pinnedPulumiVersion(root: string): string {
    const file = path.join(root, PULUMI_GO_MOD);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new PulumiPinError(`${PULUMI_GO_MOD} is missing: it pins the Pulumi CLI Keel runs. Fix: git checkout -- ${PULUMI_GO_MOD}`);
    }
    const version = goModRequirement(text, PULUMI_MODULE);
    if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
        throw new PulumiPinError(
            `${PULUMI_GO_MOD} requires ${version ? `${PULUMI_MODULE} ${version}, not a release version` : `no ${PULUMI_MODULE}`}: it pins the Pulumi CLI Keel runs. Fix: git checkout -- ${PULUMI_GO_MOD}`,
        );
    }
    return version;
}
