import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../components/errors";
import { goModRequirement, PULUMI_GO_MOD, PULUMI_MODULE, pinnedPulumiVersion } from "../components/pulumiVersion";
import { ROOT } from "./support/repoRoot";
import { tempDir } from "./support/tempDir";

describe("the pinned Pulumi CLI version (tools/pulumi/go.mod)", () => {
    describe("goModRequirement", () => {
        const goMod = [
            "// a comment naming github.com/pulumi/pulumi/pkg/v3 v9.9.9",
            "module keel/tools/pulumi",
            "",
            "go 1.26.6",
            "",
            "require github.com/single/line v1.2.3",
            "",
            "require (",
            "\tcel.dev/expr v0.25.3 // indirect",
            "\tgithub.com/pulumi/pulumi/pkg/v3 v3.276.0 // indirect",
            "\tgithub.com/pulumi/pulumi/pkg/v3/extra v3.1.0 // indirect",
            ")",
            "",
            "replace github.com/other/mod v1.0.0 => github.com/other/fork v1.0.1",
        ].join("\n");

        it("reads a requirement from a block or a line of its own, without the v", () => {
            assert.equal(goModRequirement(goMod, "github.com/pulumi/pulumi/pkg/v3"), "3.276.0");
            assert.equal(goModRequirement(goMod, "github.com/single/line"), "1.2.3");
            assert.equal(goModRequirement(goMod, "cel.dev/expr"), "0.25.3");
        });

        it("matches the whole module path, never a comment, a prefix or a replace", () => {
            assert.equal(goModRequirement(goMod, "github.com/pulumi/pulumi/pkg"), undefined);
            assert.equal(goModRequirement(goMod, "github.com/other/mod"), undefined);
            assert.equal(goModRequirement("module x\n", PULUMI_MODULE), undefined);
            assert.equal(goModRequirement("module x\nrequire (\n)\n// github.com/pulumi/pulumi/pkg/v3 v1.0.0\n", PULUMI_MODULE), undefined);
        });

        it("reads CRLF files", () => {
            assert.equal(goModRequirement(goMod.replace(/\n/g, "\r\n"), PULUMI_MODULE), "3.276.0");
        });
    });

    describe("pinnedPulumiVersion", () => {
        it("is the repository's pin, the same as a plain reading of the file", () => {
            const text = fs.readFileSync(path.join(ROOT, PULUMI_GO_MOD), "utf8");
            const line = text.split("\n").find((l) => l.trim().startsWith(`${PULUMI_MODULE} v`));
            assert.ok(line);
            assert.equal(pinnedPulumiVersion(ROOT), line.trim().split(/\s+/)[1].slice(1));
            assert.match(pinnedPulumiVersion(ROOT), /^\d+\.\d+\.\d+$/);
        });

        it("refuses a missing go.mod or one without a release of the CLI, with the fix", () => {
            const root = tempDir("keel-pin-");
            const refused = (re: RegExp) => (e: unknown) =>
                e instanceof KeelError &&
                e.name === "PulumiPinError" &&
                re.test(e.message) &&
                /Fix: git checkout -- tools\/pulumi\/go\.mod/.test(e.message);
            assert.throws(() => pinnedPulumiVersion(root), refused(/tools\/pulumi\/go\.mod is missing/));
            fs.mkdirSync(path.join(root, "tools/pulumi"), { recursive: true });
            fs.writeFileSync(path.join(root, PULUMI_GO_MOD), "module x\n");
            assert.throws(() => pinnedPulumiVersion(root), refused(/requires no github\.com\/pulumi\/pulumi\/pkg\/v3/));
            fs.writeFileSync(path.join(root, PULUMI_GO_MOD), `module x\nrequire ${PULUMI_MODULE} v3.277.0-alpha.1\n`);
            assert.throws(() => pinnedPulumiVersion(root), refused(/3\.277\.0-alpha\.1, not a release version/));
            fs.writeFileSync(path.join(root, PULUMI_GO_MOD), `module x\nrequire ${PULUMI_MODULE} v3.277.0 // indirect\n`);
            assert.equal(pinnedPulumiVersion(root), "3.277.0");
        });
    });
});
