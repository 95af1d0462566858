import { strict as assert } from "assert";
import fc from "fast-check";
import { parseKeelConfig, STAGES } from "../../components/config";
import { HISTORY_TABLE } from "../../components/schema/historyTable";
import { previewValues } from "../support/previewStack";
import { engineSettings, schemaSettings } from "../../components/schema/settings";

describe("migration settings (components/schema/settings.ts)", () => {
    it("carry every keel:migrations setting from the validated config to the engine, on every stage", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...STAGES),
                fc.record({
                    historySchema: fc.constantFrom("public", "keel", "ops_1"),
                    lockTimeout: fc.constantFrom("3s", "250ms", "1min"),
                    lockWaitSeconds: fc.integer({ min: 0, max: 3600 }),
                    allowMissing: fc.boolean(),
                    outOfOrder: fc.boolean(),
                    baseline: fc.option(fc.bigInt({ min: 0n, max: 99999999999999n }).map(String), { nil: undefined }),
                }),
                (stage, m) => {
                    // A preview is the stack pr-<n> that keel pr up writes.
                    const stack = stage === "preview" ? "pr-1" : stage;
                    const values: Record<string, string> = {
                        "keel:migrations": JSON.stringify(m),
                        ...(stage === "preview" ? previewValues(1) : {}),
                    };
                    if (stage !== "dev") values["keel:databaseUrl"] = "postgres://app:pw@db.internal:5432/app";
                    const config = parseKeelConfig({ stack, values, secretKeys: new Set(["keel:databaseUrl"]), env: {} });
                    const { dir, settings } = schemaSettings(config.migrations);
                    assert.equal(dir, config.migrations.dir);
                    assert.ok(!("dir" in settings));
                    assert.equal("baseline" in settings, m.baseline !== undefined);
                    const engine = engineSettings(settings, `${stack}:alice`);
                    assert.deepEqual(engine, {
                        historySchema: m.historySchema,
                        historyTable: HISTORY_TABLE,
                        lockTimeout: m.lockTimeout,
                        statementTimeout: config.defaults.migrations.statementTimeout,
                        lockWaitSeconds: m.lockWaitSeconds,
                        plan: {
                            allowMissing: m.allowMissing,
                            outOfOrder: m.outOfOrder,
                            ...(m.baseline !== undefined ? { baseline: m.baseline } : {}),
                        },
                        appliedBy: `${stack}:alice`,
                    });
                },
            ),
            { numRuns: 50 },
        );
    });
});
