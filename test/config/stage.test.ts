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
import { isStage, STAGES, stageOf } from "../../components/config/stage";
import { stageOfStackName } from "../../policies/support";
import { stackFileStage } from "../../scripts/lib/engine";
import { tempDir } from "../support/tempDir";

const stackName = fc.oneof(fc.constantFrom(...STAGES), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/));
const configured = fc.option(fc.oneof(fc.constantFrom(...STAGES, ""), fc.stringMatching(/^[a-z]{1,8}$/)), { nil: undefined });

describe("a stack's stage: one rule", () => {
    it("keel:stage when set, else the stack's name when it is a stage, else none", () => {
        fc.assert(
            fc.property(stackName, configured, (stack, stage) => {
                const got = stageOf(stack, stage);
                const expected = stage ? (isStage(stage) ? stage : undefined) : isStage(stack) ? stack : undefined;
                assert.equal(got, expected);
            }),
        );
    });

    it("config validation, the scripts' stack-file reading and the policy pack agree with it", () => {
        fc.assert(
            fc.property(stackName, configured, (stack, stage) => {
                const expected = stageOf(stack, stage);
                // Config: the stage it validates to, or a keel:stage problem.
                const values: Record<string, string> = {
                    "keel:databaseUrl": "postgres://a:b@h/db",
                    ...(stage !== undefined ? { "keel:stage": stage } : {}),
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
