/** previews.yml is generated for the stack whose file turns previews on (components/github/index.ts: previewsBaseIn). */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { previewsBaseIn } from "../../components/github";
import { tempDir } from "../support/tempDir";

describe("the base previews.yml is generated for", () => {
    it("the first stack by name whose file sets keel:previews.enabled: true, with its ttlDays; never a preview's own file", () => {
        const root = tempDir("keel-previews-base-");
        const write = (stack: string, yaml: string) => fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), yaml);
        write("prod", "config:\n  keel:stage: prod\n");
        assert.equal(previewsBaseIn(root), undefined);
        write("pr-4", "config:\n  keel:previews:\n    enabled: true\n");
        write("staging", "config:\n  keel:previews:\n    enabled: false\n");
        assert.equal(previewsBaseIn(root), undefined);
        write("staging", "config:\n  keel:previews:\n    enabled: true\n    ttlDays: 3\n");
        assert.deepEqual(previewsBaseIn(root), { base: "staging", ttlDays: 3 });
        write("qa", "config:\n  keel:previews:\n    enabled: true\n");
        assert.deepEqual(previewsBaseIn(root), { base: "qa", ttlDays: 7 });
    });
});
