/**
 * keel stack new refuses to make a preview: a pull request's preview is the
 * stack pr-<n>, made and removed by keel pr up|down, so neither --stage preview
 * nor a pr-<n> name is a stack of one's own. Both are usage errors (exit 2)
 * that name keel pr up, and nothing is written.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { keel } from "../support/keel";
import { tempDir } from "../support/tempDir";

function project(): string {
    const root = tempDir("keel-stack-new-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
    fs.writeFileSync(path.join(root, "Pulumi.staging.yaml"), "config:\n  keel:database:\n    kind: neon\n");
    return root;
}

describe("keel stack new: no previews by hand", () => {
    it("--stage preview is a usage error naming keel pr up; nothing is written", async () => {
        const root = project();
        const r = await keel(["stack", "new", "qa", "--stage", "preview"], root, { PULUMI_CONFIG_PASSPHRASE: "p" });
        assert.equal(r.code, 2, r.err);
        assert.match(
            r.err,
            /--stage preview is not for keel stack new: a pull request's preview is the stack pr-<n>, made by keel pr up --pr <n>/,
        );
        assert.match(r.err, /choose another name and --stage <dev\|staging\|prod>/);
        assert.ok(!fs.existsSync(path.join(root, "Pulumi.qa.yaml")));
    });

    it("a pr-<n> name is a usage error, whatever the stage", async () => {
        const root = project();
        const r = await keel(["stack", "new", "pr-12", "--stage", "staging"], root, { PULUMI_CONFIG_PASSPHRASE: "p" });
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, /'pr-12' is the name of pull request 12's preview: .*keel pr up --pr 12 \[--from <stack>\]/);
        assert.ok(!fs.existsSync(path.join(root, "Pulumi.pr-12.yaml")));
    });

    it("an unknown stage lists the stages one chooses by hand; the help lists them too", async () => {
        const r = await keel(["stack", "new", "qa", "--stage", "qa"], project());
        assert.equal(r.code, 2);
        assert.match(r.err, /--stage needs one of dev, staging, prod, not 'qa'/);
        const help = await keel(["stack", "new", "--help"], project());
        assert.equal(help.code, 0);
        assert.match(help.out, /--stage <dev\|staging\|prod>/);
        assert.match(help.out, /keel pr up/);
    });
});
