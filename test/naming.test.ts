/** Physical names: every vendor's rules hold for any project and stack, and a cut name stays stable and distinct. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseKeelConfig } from "../components/config";
import { NAME_RULES, NameKind, nameHash, physicalName } from "../components/naming";

const KINDS = Object.keys(NAME_RULES) as NameKind[];
/** Project and stack names as people write them, and as they should not. */
const part = fc.oneof(
    fc.string({ maxLength: 90 }),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    fc.string({ unit: "grapheme", maxLength: 40 }),
);

describe("physical names", () => {
    it("keep every vendor's length and character rules, whatever the parts", () => {
        fc.assert(
            fc.property(fc.constantFrom(...KINDS), fc.array(part, { minLength: 1, maxLength: 4 }), (kind, parts) => {
                const rule = NAME_RULES[kind];
                const name = physicalName(kind, ...parts);
                assert.ok(name.length >= 1 && name.length <= rule.max, `${kind}: ${name.length} characters`);
                for (const ch of name) assert.ok(rule.allowed.test(ch), `${kind}: '${ch}' in ${name}`);
                assert.ok(rule.edges.test(name[0]) && rule.edges.test(name[name.length - 1]), `${kind}: edges of ${name}`);
                assert.equal(physicalName(kind, ...parts), name, "stable");
            }),
        );
    });

    it("leave a name that already fits as it is", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,19}$/), fc.constantFrom("dev", "staging", "prod"), (project, stack) => {
                assert.equal(physicalName("flyApp", project, stack), `${project}-${stack}`);
                assert.equal(physicalName("vercelProject", project, stack, "web"), `${project}-${stack}-web`);
            }),
        );
    });

    it("cut a long name to its vendor's limit, ending in a hash of the whole name: different names stay different", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[a-z]{70,90}$/), fc.stringMatching(/^[a-z]{70,90}$/), (a, b) => {
                fc.pre(a !== b);
                const x = physicalName("flyApp", a, "prod");
                const y = physicalName("flyApp", b, "prod");
                assert.equal(x.length <= 63, true);
                assert.ok(x.endsWith(`-${nameHash(`${a}-prod`)}`), x);
                assert.notEqual(x, y);
            }),
        );
    });

    it("a project name too long for Fly gives a default app name Fly takes, found by config validation", () => {
        const project = "an-exceedingly-long-product-name-that-a-founder-typed-once-and-kept";
        const config = parseKeelConfig({
            project,
            stack: "staging",
            values: {
                "keel:databaseUrl": "postgres://u:p@db.internal:5432/app",
                "keel:backend": JSON.stringify({ kind: "fly", image: "registry.fly.io/x:1.0.0", fly: { region: "iad" } }),
            },
            secretKeys: new Set(["keel:databaseUrl"]),
            env: { FLY_API_TOKEN: "t" },
        });
        assert.ok(config.backend?.kind === "fly");
        const app = config.backend.fly.app;
        assert.ok(app.length <= 63, app);
        assert.match(app, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
        assert.ok(app.startsWith("an-exceedingly-long-product"), app);
    });
});
