/** The base stack `keel pr up --from` reads (scripts/lib/previewStackFile.ts): refusals that name what to do. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { readPreviewBase } from "../../scripts/lib/previewStackFile";
import { tempDir } from "../support/tempDir";

describe("a preview's base stack", () => {
    const project = (staging: string) => {
        const root = tempDir("keel-preview-base-");
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
        fs.writeFileSync(path.join(root, "Pulumi.staging.yaml"), staging);
        return root;
    };
    const config = "  keel:database:\n    kind: external\n  keel:previews:\n    enabled: true\n  keel:databaseUrl:\n    secure: v1:abc\n";

    it("takes a base whose secrets open with its passphrase and salt", () => {
        const base = readPreviewBase(project(`encryptionsalt: v1:salt\nconfig:\n${config}`), "staging", {});
        assert.equal(base.previews.enabled, true);
        assert.equal(base.doc.encryptionsalt, "v1:salt");
    });

    it("refuses a base whose secrets another provider sealed to it (Pulumi Cloud's): a preview could not open them", () => {
        assert.throws(
            () => readPreviewBase(project(`config:\n${config}`), "staging", {}),
            /holds secrets sealed by the Pulumi Cloud secrets provider, which open on the staging stack only/,
        );
    });

    it("a mistyped --from names the stacks there are and the likely one", () => {
        assert.throws(
            () => readPreviewBase(project(`encryptionsalt: v1:salt\nconfig:\n${config}`), "stagign", {}),
            /--from names the stack 'stagign', which has no Pulumi\.stagign\.yaml \(stacks: staging\): did you mean --from staging\?/,
        );
    });
});
