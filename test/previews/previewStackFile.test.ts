/**
 * The preview's stack file as `keel pr up` writes it from the repository's staging
 * file (Neon, Fly, Vercel, GitHub) reads back as a valid preview config at any time
 * of day: its expiry is RFC 3339 with whole seconds (what keel:database.neon.branch.expiresAt
 * accepts; toISOString's milliseconds were refused), and its Fly strategy (immediate,
 * the preview's default) is allowed on a preview.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { readPreviewBase, writePreviewStackFile } from "../../scripts/lib/previewStackFile";
import { readStackConfig } from "../../scripts/lib/stackConfig";
import { ROOT } from "../support/repoRoot";
import { tempDir } from "../support/tempDir";

describe("the preview's stack file from staging's", () => {
    let root: string;
    before(() => {
        root = tempDir("keel-preview-file-");
        for (const f of ["Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(root, f));
        fs.appendFileSync(path.join(root, "Pulumi.staging.yaml"), "  keel:previews:\n    enabled: true\n");
    });

    it("reads back valid at any time, with an expiry in whole seconds ttlDays after the run", () => {
        const base = readPreviewBase(root, "staging", {});
        fc.assert(
            fc.property(fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2030-01-01T00:00:00Z") }), (ms) => {
                const now = new Date(ms);
                writePreviewStackFile(root, base, { pr: 5, branch: "feature/x", now });
                const config = readStackConfig(root, "pr-5", {});
                const expiresAt = config.preview!.expiresAt;
                assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
                assert.equal(Date.parse(expiresAt), Math.floor(ms / 1000) * 1000 + 7 * 86_400_000);
                assert.equal(config.database.kind === "neon" && config.database.branch.expiresAt, expiresAt);
                assert.equal(config.backend?.kind === "fly" && config.backend.fly.strategy, "immediate");
            }),
            { numRuns: 25 },
        );
    });
});
