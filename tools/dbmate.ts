/**
 * dbmate, pinned, installed outside the project's lock file. dbmate ships its Go binary as
 * per-platform npm packages and the registry here serves only linux-x64's, so a lock file
 * that names dbmate cannot satisfy `npm ci` (it wants every platform's entry). Tests and the
 * migrations bench install it once into `.keel/tools/` (ignored) and run it from there.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./repoRoot";

export const DBMATE_VERSION = "2.36.0";

export const DBMATE_HOME = path.join(ROOT, ".keel", "tools", `dbmate-${DBMATE_VERSION}`);
const DBMATE_BIN = path.join(DBMATE_HOME, "node_modules", ".bin", "dbmate");

export class DbmateUnavailableError extends Error {
    constructor(detail: string) {
        super(
            `dbmate@${DBMATE_VERSION} could not be installed into ${DBMATE_HOME}: ${detail}. ` +
                `Install it by hand with: npm install --prefix ${DBMATE_HOME} --no-save --no-package-lock dbmate@${DBMATE_VERSION}`,
        );
        this.name = "DbmateUnavailableError";
    }
}

/**
 * The path of the dbmate bin (a node wrapper around the Go binary), installing it on first use.
 * The install goes to a temporary prefix renamed into place, so an interrupted one leaves nothing half-done.
 */
export function dbmateBin(log: (line: string) => void = () => {}): string {
    if (fs.existsSync(DBMATE_BIN)) return DBMATE_BIN;
    log(`installing dbmate@${DBMATE_VERSION} into ${DBMATE_HOME} (once)`);
    const staging = `${DBMATE_HOME}.partial-${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    const res = spawnSync(
        "npm",
        ["install", "--prefix", staging, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `dbmate@${DBMATE_VERSION}`],
        { encoding: "utf8" },
    );
    if (res.status !== 0 || !fs.existsSync(path.join(staging, "node_modules", ".bin", "dbmate"))) {
        fs.rmSync(staging, { recursive: true, force: true });
        const last = `${res.stderr ?? ""}${res.stdout ?? ""}`.trim().split("\n").pop();
        throw new DbmateUnavailableError(res.error?.message ?? last ?? `npm exited with ${res.status}`);
    }
    fs.rmSync(DBMATE_HOME, { recursive: true, force: true });
    fs.renameSync(staging, DBMATE_HOME);
    return DBMATE_BIN;
}

/** The Go binary behind the bin's node wrapper, if it can be found (the bench times both). */
export function dbmateGoBinary(): string | undefined {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { resolveBinary } = require(path.join(DBMATE_HOME, "node_modules", "dbmate", "dist", "resolveBinary.js"));
        const bin = resolveBinary();
        return typeof bin === "string" && fs.existsSync(bin) ? bin : undefined;
    } catch {
        return undefined;
    }
}
