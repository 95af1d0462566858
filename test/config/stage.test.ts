/**
 * One rule for a stack's stage (components/config/stage.ts: stageOf), and the
 * places that used to work it out for themselves agreeing with it: config
 * validation, the scripts (from the stack file), the policy pack.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { parseKeelConfig } from "../../components/config";
import { isStage, MANUAL_STAGES, STAGES, stageOf } from "../../components/config/stage";
import { stageOfStackName } from "../../policies/support";
import { stackFileStage } from "../../scripts/lib/engine";
import { previewValues } from "../support/previewStack";
import { prOfStack } from "../../components/previews/naming";
import { tempDir } from "../support/tempDir";

const stackName = fc.oneof(
    fc.constantFrom(...STAGES, "pr-0", "pr-01", "pr-7-x"),
    fc.integer({ min: 1, max: 99999 }).map((n) => `pr-${n}`),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
);
const configured = fc.option(fc.oneof(fc.constantFrom(...STAGES, ""), fc.stringMatching(/^[a-z]{1,8}$/)), { nil: undefined });

describe("a stack's stage: one rule", () => {
    it("keel:stage when set, else dev, staging or prod for a stack so named, preview for pr-<n>, else none", () => {
        fc.assert(
            fc.property(stackName, configured, (stack, stage) => {
                const got = stageOf(stack, stage);
                const byName = (MANUAL_STAGES as readonly string[]).includes(stack)
                    ? stack
                    : /^pr-[1-9][0-9]*$/.test(stack)
                      ? "preview"
                      : undefined;
                const expected = stage ? (isStage(stage) ? stage : undefined) : byName;
                assert.equal(got, expected);
            }),
        );
    });

    it("a pull request's stack pr-<n> is a preview by its name; a stack named preview is not", () => {
        assert.equal(stageOf("pr-12"), "preview");
        assert.equal(stageOf("pr-12", ""), "preview");
        assert.equal(stageOf("pr-12", "preview"), "preview");
        for (const stack of ["preview", "pr-0", "pr-012", "pr-", "pr-12-fix", "xpr-12"]) assert.equal(stageOf(stack), undefined, stack);
        assert.equal(stageOfStackName("pr-12"), "preview");
        assert.equal(stageOfStackName("preview"), "prod", "a stack named preview is judged as prod");
    });

    it("config validation, the scripts' stack-file reading and the policy pack agree with it", () => {
        fc.assert(
            fc.property(stackName, configured, (stack, stage) => {
                const expected = stageOf(stack, stage);
                // Config: the stage it validates to, or a keel:stage problem.
                const values: Record<string, string> = {
                    "keel:databaseUrl": "postgres://a:b@h/db",
                    ...(stage !== undefined ? { "keel:stage": stage } : {}),
                    // A preview stack as keel pr up writes it.
                    ...(expected === "preview" && prOfStack(stack) ? previewValues(prOfStack(stack)!) : {}),
                };
                let fromConfig: string | undefined;
                try {
                    fromConfig = parseKeelConfig({ stack, values, secretKeys: new Set(["keel:databaseUrl"]), env: {} }).stage;
                } catch (err) {
                    assert.ok(
                        (err as { problems?: { key: string }[] }).problems?.some((p) => p.key === "keel:stage"),
                        String(err),
                    );
                }
                if (expected) assert.ok(fromConfig === expected || fromConfig === undefined, `${fromConfig} vs ${expected}`);
                else assert.equal(fromConfig, undefined);
                // The scripts: the same rule over the stack file.
                const root = tempDir("keel-stage-");
                fs.writeFileSync(
                    path.join(root, `Pulumi.${stack}.yaml`),
                    stage !== undefined ? `config:\n  keel:stage: "${stage}"\n` : "config: {}\n",
                );
                assert.equal(stackFileStage(root, stack), expected);
                // The policy pack, for a resource that carries no stage: the rule, else the strictest.
                assert.equal(stageOfStackName(stack), stageOf(stack) ?? "prod");
            }),
            { numRuns: 60 },
        );
    });
});
