/** keel:backend.watch: the deploy watch's settings, the stage's default minutes, and every mistake named with a fix that works. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseKeelConfig, RawConfig, Stage, stageDefaults, STAGES, WATCH_DEFAULTS, WATCH_MAX_MINUTES } from "../../components/config";
import { previewStackName } from "../../components/previews/naming";
import { examplesFor } from "../../components/config/context";
import { previewValues } from "../support/previewStack";
import { prOfStack } from "../../components/previews/naming";
import { ConfigError } from "../../components/errors";

const URL = "postgres://app:pw@db.internal:5432/app";
const TOKENS = { FLY_API_TOKEN: "fo1_x", RENDER_API_KEY: "rnd_x" };
const FLY = { kind: "fly", image: "registry.fly.io/shop:1.2.3", fly: { app: "shop-app", regions: [{ region: "iad", count: 2 }] } };
const RENDER = { kind: "render", image: "ghcr.io/shop/api:1.2.3", render: { ownerId: "tea-abc123" } };

function raw(stack: string, backend: object): RawConfig {
    return {
        stack,
        values: {
            "keel:databaseUrl": URL,
            "keel:backend": JSON.stringify(backend),
            ...(prOfStack(stack) ? previewValues(prOfStack(stack)!) : {}),
        },
        secretKeys: new Set(["keel:databaseUrl"]),
        env: TOKENS,
    };
}

function problems(fn: () => unknown): { key: string; message: string; fix: string }[] {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return err.problems;
    }
    assert.fail("expected a ConfigError");
}

/** Applies `npm run pulumi -- config set --path keel:backend.watch.<key> <value> --stack <s>` to a backend object. */
function applyFix(backend: any, fix: string, stack: string): any {
    const m = /^npm run pulumi -- config set --path keel:backend\.watch\.(\w+) (\d+) --stack (\S+)/.exec(fix);
    assert.ok(m, `not a watch fix: ${fix}`);
    assert.equal(m[3], stack);
    return { ...backend, watch: { ...backend.watch, [m[1]]: Number(m[2]) } };
}

/** A stack of the stage: a preview's is pr-<n>. */
const stackOf = (stage: Stage) => (stage === "preview" ? previewStackName(1) : stage);

const watchOf = (stack: string, backend: object) => parseKeelConfig(raw(stack, backend)).backend!.watch;

describe("keel:backend.watch", () => {
    it("watches prod 5 minutes by default, no other stage; a probe every 20 s, 3 failures in a row roll back", () => {
        assert.deepEqual(watchOf("prod", FLY), { minutes: 5, intervalSeconds: 20, failures: 3 });
        assert.deepEqual(watchOf("staging", FLY), { minutes: 0, intervalSeconds: 20, failures: 3 });
        assert.deepEqual(watchOf("dev", FLY), { minutes: 0, intervalSeconds: 20, failures: 3 });
        assert.deepEqual(watchOf("prod", RENDER), { minutes: 5, intervalSeconds: 20, failures: 3 });
        // The default lives with the stage's others, and so does a stack named otherwise.
        assert.deepEqual(
            STAGES.map((s) => stageDefaults(s).backend.watchMinutes),
            [0, 0, 5, 0],
        );
        const eu = parseKeelConfig({ ...raw("prod-eu", FLY), values: { ...raw("prod-eu", FLY).values, "keel:stage": "prod" } });
        assert.equal(eu.backend!.watch.minutes, 5);
        // Set on any stage, kept as set; 0 turns prod's off.
        assert.deepEqual(watchOf("staging", { ...FLY, watch: { minutes: 10, intervalSeconds: 30, failures: 4 } }), {
            minutes: 10,
            intervalSeconds: 30,
            failures: 4,
        });
        assert.equal(watchOf("prod", { ...FLY, watch: { minutes: 0 } }).minutes, 0);
    });

    it("takes every setting in range, any stage: minutes as set or the stage's default, the rest as set or default", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...STAGES),
                fc.option(fc.integer({ min: 0, max: WATCH_MAX_MINUTES }), { nil: undefined }),
                fc.option(fc.integer({ min: 5, max: 300 }), { nil: undefined }),
                fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
                fc.constantFrom(FLY, RENDER),
                (stage, minutes, intervalSeconds, failures, backend) => {
                    const stack = stackOf(stage);
                    const expected = {
                        minutes: minutes ?? stageDefaults(stage).backend.watchMinutes,
                        intervalSeconds: intervalSeconds ?? WATCH_DEFAULTS.intervalSeconds,
                        failures: failures ?? WATCH_DEFAULTS.failures,
                    };
                    const watch = Object.fromEntries(
                        Object.entries({ minutes, intervalSeconds, failures }).filter(([, v]) => v !== undefined),
                    );
                    const b = { ...backend, watch };
                    const fits = expected.minutes === 0 || expected.failures * expected.intervalSeconds <= expected.minutes * 60;
                    if (fits) {
                        assert.deepEqual(watchOf(stack, b), expected);
                        return;
                    }
                    // A watch too short for its failures could never roll back: one problem, and its fix fixes it.
                    const found = problems(() => parseKeelConfig(raw(stack, b)));
                    assert.equal(found.length, 1, JSON.stringify(found));
                    assert.equal(found[0].key, "keel:backend.watch.failures");
                    assert.match(found[0].message, /could never roll back/);
                    // "<fix> (or <fix>) …", a fix being one command or "<command> and <command>": each one works.
                    for (const alternative of found[0].fix.split(" (or ").map((f) => f.replace(/\)$/, ""))) {
                        const fixed = alternative.split(" and ").reduce((before, command) => applyFix(before, command, stack), b);
                        assert.doesNotThrow(() => parseKeelConfig(raw(stack, fixed)), alternative);
                    }
                },
            ),
            { numRuns: 300 },
        );
    });

    it("names a value out of range or of the wrong type with a `npm run pulumi -- config set` fix that is valid on the stage", () => {
        const bad = fc.oneof(
            fc.integer({ min: -1000, max: -1 }),
            fc.integer({ min: 10_000, max: 1_000_000 }),
            fc.double({ min: 0.01, max: 29.99, noInteger: true, noNaN: true }),
            fc.constantFrom("5", "five", true, null, [], {}),
        );
        fc.assert(
            fc.property(fc.constantFrom(...STAGES), fc.constantFrom("minutes", "intervalSeconds", "failures"), bad, (stage, key, value) => {
                const stack = stackOf(stage);
                const found = problems(() => parseKeelConfig(raw(stack, { ...FLY, watch: { [key]: value } })));
                const p = found.find((x) => x.key === `keel:backend.watch.${key}`);
                assert.ok(p, JSON.stringify(found));
                const example = examplesFor(stage, stageDefaults(stage))[`backend.watch.${key}`];
                assert.equal(p.fix, `npm run pulumi -- config set --path keel:backend.watch.${key} ${example} --stack ${stack}`);
                assert.doesNotThrow(() => parseKeelConfig(raw(stack, applyFix({ ...FLY, watch: {} }, p.fix, stack))));
            }),
            { numRuns: 200 },
        );
    });

    it("suggests the stage's own minutes (5 on prod, 0 elsewhere), and refuses unknown watch settings", () => {
        const fix = (stage: string) =>
            problems(() => parseKeelConfig(raw(stage, { ...FLY, watch: { minutes: -1 } }))).find(
                (p) => p.key === "keel:backend.watch.minutes",
            )!.fix;
        assert.equal(fix("prod"), "npm run pulumi -- config set --path keel:backend.watch.minutes 5 --stack prod");
        assert.equal(fix("staging"), "npm run pulumi -- config set --path keel:backend.watch.minutes 0 --stack staging");
        assert.equal(fix("dev"), "npm run pulumi -- config set --path keel:backend.watch.minutes 0 --stack dev");
        const tooLong = problems(() => parseKeelConfig(raw("prod", { ...FLY, watch: { minutes: WATCH_MAX_MINUTES + 1 } })));
        assert.match(tooLong[0].message, new RegExp(`${WATCH_MAX_MINUTES}`));
        const unknown = problems(() => parseKeelConfig(raw("prod", { ...FLY, watch: { minuts: 5 } })));
        assert.deepEqual(
            unknown.map((p) => [p.key, p.fix]),
            [["keel:backend.watch.minuts", "npm run pulumi -- config rm --path keel:backend.watch.minuts --stack prod"]],
        );
    });

    it("reports watch settings with the section's other problems at once, and says exactly why a short watch cannot work", () => {
        const found = problems(() =>
            parseKeelConfig(raw("prod", { ...FLY, port: 0, watch: { minutes: -1, intervalSeconds: 1, failures: 0 } })),
        );
        assert.deepEqual(found.map((p) => p.key).sort(), [
            "keel:backend.port",
            "keel:backend.watch.failures",
            "keel:backend.watch.intervalSeconds",
            "keel:backend.watch.minutes",
        ]);
        const short = problems(() => parseKeelConfig(raw("prod", { ...FLY, watch: { minutes: 1, intervalSeconds: 60, failures: 3 } })));
        assert.equal(short.length, 1);
        assert.equal(
            short[0].message,
            "is 3: 3 failed probes 60 s apart take 180 s, longer than the 1-minute watch (backend.watch.minutes), so it could never roll back",
        );
        assert.equal(
            short[0].fix,
            "npm run pulumi -- config set --path keel:backend.watch.minutes 3 --stack prod (or npm run pulumi -- config set --path keel:backend.watch.failures 1 --stack prod) (or npm run pulumi -- config set --path keel:backend.watch.intervalSeconds 20 --stack prod)",
        );
        // Nothing single fits (20 probes 300 s apart in a 1-minute watch): the defaults, together.
        const stuck = problems(() => parseKeelConfig(raw("prod", { ...FLY, watch: { minutes: 1, intervalSeconds: 300, failures: 20 } })));
        assert.equal(
            stuck[0].fix,
            "npm run pulumi -- config set --path keel:backend.watch.failures 3 --stack prod and npm run pulumi -- config set --path keel:backend.watch.intervalSeconds 20 --stack prod",
        );
    });
});
