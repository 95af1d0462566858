/**
 * End-to-end tests through the real engine: Keel's own program inline (as
 * `npm run up` runs it, scripts/lib/engine.ts), in a copy of the workspace with
 * the project's own stack files (so a test never changes the repository), and
 * the state in a temporary file backend.
 *
 * Without a working Pulumi CLI the tests skip with one line; with CI=true they
 * fail instead (skipOrFail), since CI builds the pinned CLI (npm run pulumi:build).
 */
import * as path from "path";
import { findPulumiCli, PulumiCli } from "../../scripts/lib/pulumiCli";
import { ROOT } from "../../tools/repoRoot";
import { skipOrFail } from "./skipOrFail";

/** The workspace copy itself is tools/engineWorkspace.ts, shared with the benchmarks. */
export { EngineWorkspace, lastUpdateLosses, ROOT } from "../../tools/engineWorkspace";

/** The engine's CLI, or a skip (a failure under CI=true) saying why there is none. */
export function requireEngine(ctx: Mocha.Context): PulumiCli {
    const cli = findPulumiCli(ROOT);
    if (cli) {
        // The engine's provider processes load dist/: bring it up to date once, here.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(path.join(ROOT, "tools/build.js")).buildStale(ROOT);
        return cli;
    }
    return skipOrFail(
        ctx,
        "end-to-end tests need the Pulumi CLI (npm run pulumi:build builds the pinned one; no `pulumi version` answered on PATH or in .keel/bin)",
    );
}
