/**
 * Finds a working Pulumi CLI. npm puts node_modules/.bin first on PATH, and a
 * `pulumi` there is npm's launcher (the `pulumi` package: not a Keel dependency,
 * but a project may add it), which downloads the CLI on first use and fails
 * without internet; so every `pulumi` on PATH is asked in turn (a launcher
 * last), then the one `npm run pulumi:build` leaves in .keel/bin, and the first
 * that answers `pulumi version` is used. The version Keel pins (and CI installs)
 * is tools/pulumi/go.mod's (components/pulumiVersion.ts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../../components/errors";
import { pinnedPulumiVersion } from "../../components/pulumiVersion";

export interface PulumiCli {
    /** What `pulumi version` printed, e.g. `v3.274.1`. */
    version: string;
    /** Absolute path of the binary that answered. */
    bin: string;
}

export class PulumiCliMissingError extends KeelError {
    constructor(asked: string[], pinned?: string) {
        super(
            `no working Pulumi CLI (asked ${asked.length ? asked.join(", ") : "nothing: no pulumi on PATH"}). ` +
                (pinned
                    ? `Install the pinned one: curl -fsSL https://get.pulumi.com | sh -s -- --version ${pinned}, or build it with Go: npm run pulumi:build`
                    : `Install one: curl -fsSL https://get.pulumi.com | sh, or build the pinned one with Go: npm run pulumi:build`),
            "PulumiCliMissingError",
        );
    }
}

/** The places to ask, in order. */
export function pulumiCandidates(root: string, pathVar: string | undefined): string[] {
    const onPath = (pathVar ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.resolve(d, "pulumi"));
    const isLauncher = (bin: string) => bin.split(path.sep).includes("node_modules");
    const ordered = [...onPath.filter((b) => !isLauncher(b)), path.join(root, ".keel", "bin", "pulumi"), ...onPath.filter(isLauncher)];
    return [...new Set(ordered)];
}

const found = new Map<string, PulumiCli | undefined>();

export function findPulumiCli(root: string, env: Record<string, string | undefined> = process.env): PulumiCli | undefined {
    const key = `${root}\0${env.PATH}`;
    if (found.has(key)) return found.get(key);
    let cli: PulumiCli | undefined;
    for (const bin of pulumiCandidates(root, env.PATH)) {
        try {
            fs.accessSync(bin, fs.constants.X_OK);
        } catch {
            continue;
        }
        const res = spawnSync(bin, ["version"], {
            encoding: "utf8",
            timeout: 60_000,
            env: { ...process.env, ...env, PULUMI_SKIP_UPDATE_CHECK: "true" },
        });
        const version = (res.stdout ?? "").trim();
        if (res.status === 0 && /^v?\d+\.\d+\.\d+/.test(version)) {
            cli = { version, bin };
            break;
        }
    }
    found.set(key, cli);
    return cli;
}

export function requirePulumiCli(root: string, env: Record<string, string | undefined> = process.env): PulumiCli {
    const cli = findPulumiCli(root, env);
    if (cli) return cli;
    let pinned: string | undefined;
    try {
        pinned = pinnedPulumiVersion(root);
    } catch {
        pinned = undefined; // a project without tools/pulumi/go.mod: the hint names no version
    }
    throw new PulumiCliMissingError(
        pulumiCandidates(root, env.PATH).filter((b) => fs.existsSync(b)),
        pinned,
    );
}

/**
 * A working CLI; where there is none but Go is installed, the pinned one is built
 * first (npm run pulumi:build, with its progress on stderr), so that `npm ci &&
 * npm run up` works on a machine that has Node and Go and nothing else.
 */
export function pulumiCliOrBuild(root: string, env: Record<string, string | undefined> = process.env): PulumiCli {
    const cli = findPulumiCli(root, env);
    if (cli) return cli;
    const hasGo = spawnSync("go", ["version"], { encoding: "utf8", env: { ...process.env, ...env } }).status === 0;
    if (hasGo && fs.existsSync(path.join(root, "scripts", "pulumi-cli.sh"))) {
        process.stderr.write(
            "keel: no working Pulumi CLI found; building the pinned one with Go into .keel/bin (the first time takes several minutes)\n",
        );
        const res = spawnSync("bash", [path.join(root, "scripts", "pulumi-cli.sh")], {
            stdio: ["ignore", process.stderr, process.stderr],
            env: { ...process.env, ...env } as NodeJS.ProcessEnv,
        });
        found.clear();
        if (res.status === 0) return requirePulumiCli(root, env);
    }
    return requirePulumiCli(root, env);
}
