/**
 * The data guard's pure parts (components/dataGuard.ts, components/config/dataLoss.ts):
 * which names it knows, `keel:allowDataLoss` as a user writes it (a typo is a problem,
 * never a silent no-op), the refusal's message, the engine's own refusal read back,
 * and the provider wrapper that refuses a replacement. Through the engine:
 * test/e2e/dataGuard.test.ts.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseKeelConfig } from "../components/config";
import {
    DATA_HOLDER_NAMES,
    dataGuardFor,
    dataLossRefusalIn,
    dataHolders,
    dataLossMessage,
    DataLossRefusedError,
    guardsData,
    nameOfUrn,
    protectRefusalIn,
} from "../components/dataGuard";
import { ConfigError } from "../components/errors";

const KINDS = ["local", "docker", "external", "neon"] as const;

function devConfig(extra: Record<string, string>) {
    return parseKeelConfig({
        stack: "dev",
        values: { "keel:database": JSON.stringify({ kind: "local" }), "keel:migrations": JSON.stringify({ dir: "migrations" }), ...extra },
        secretKeys: new Set(),
        env: {},
    });
}

function problemsOf(fn: () => unknown): { key: string; message: string; fix: string }[] {
    try {
        fn();
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    return [];
}

describe("data guard", () => {
    it("every kind's data holders are known names, and the schema resource holds data on every kind", () => {
        for (const kind of KINDS) {
            const names = dataHolders(kind).map((h) => h.name);
            assert.ok(names.includes("schema-migrations"), kind);
            for (const n of names) assert.ok(DATA_HOLDER_NAMES.includes(n), n);
        }
        // The Neon endpoint is compute, not data: it is free to be replaced.
        assert.ok(!DATA_HOLDER_NAMES.includes("database-neon-endpoint"));
    });

    it("keel:allowDataLoss takes a name or a list of names; with none, nothing is allowed", () => {
        assert.deepEqual(devConfig({}).allowDataLoss, []);
        assert.deepEqual(devConfig({ "keel:allowDataLoss": "database-local" }).allowDataLoss, ["database-local"]);
        assert.deepEqual(devConfig({ "keel:allowDataLoss": JSON.stringify(["database-local", "schema-migrations"]) }).allowDataLoss, [
            "database-local",
            "schema-migrations",
        ]);
    });

    it("property: a name that is not a data holder is a problem naming the key, the kinds' names and the fix; it lifts nothing", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !DATA_HOLDER_NAMES.includes(s)),
                fc.boolean(),
                (name, asList) => {
                    const raw = asList ? JSON.stringify([name]) : name;
                    const problems = problemsOf(() => devConfig({ "keel:allowDataLoss": raw }));
                    const ours = problems.filter((p) => p.key.startsWith("keel:allowDataLoss"));
                    assert.equal(ours.length, 1, JSON.stringify(problems));
                    assert.equal(ours[0].key, asList ? "keel:allowDataLoss[0]" : "keel:allowDataLoss");
                    assert.match(ours[0].message, /is not a resource that holds data; expected one of database-local, schema-migrations$/);
                    assert.match(ours[0].fix, /npm run pulumi -- config rm keel:allowDataLoss --stack dev/);
                },
            ),
        );
    });

    it("keel:database.neon.allowDelete, the older form, still lifts the guard of the Neon resources", () => {
        const config = parseKeelConfig({
            stack: "staging",
            values: {
                "keel:database": JSON.stringify({
                    kind: "neon",
                    neon: { project: { name: "p" }, branch: { name: "staging", parent: "main" }, allowDelete: true },
                }),
                "keel:migrations": JSON.stringify({ dir: "migrations" }),
                "keel:neonApiKey": "k",
            },
            secretKeys: new Set(["keel:neonApiKey"]),
            env: {},
            deployCredentials: false,
        });
        assert.deepEqual(
            [...config.allowDataLoss].sort(),
            dataHolders("neon")
                .map((h) => h.name)
                .filter((n) => n.startsWith("database-neon"))
                .sort(),
        );
    });

    it("property: the refusal names the resource, what it holds, why, the key to set with the stack, and destroy", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...DATA_HOLDER_NAMES),
                fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
                fc.constantFrom("replace" as const, "delete" as const),
                fc.array(fc.stringMatching(/^[a-z][A-Za-z]{0,10}$/), { maxLength: 3 }),
                (name, stack, action, properties) => {
                    const text = dataLossMessage({ stack, name, action, properties });
                    assert.ok(text.startsWith(`Keel refused to ${action} ${name} (`), text);
                    assert.ok(text.includes(`on the ${stack} stack`));
                    if (action === "replace" && properties.length) assert.ok(text.includes(`because its ${properties.join(", ")} changed`));
                    if (action === "delete") assert.ok(text.includes("the program no longer declares it"));
                    assert.ok(text.includes(`npm run pulumi -- config set --path 'keel:allowDataLoss[0]' ${name} --stack ${stack}`));
                    assert.ok(text.includes(`npm run destroy -- ${stack}`));
                    assert.ok(!/(^|[^-])pulumi config /.test(text.replace(/npm run pulumi -- config/g, "")), "no bare pulumi command");
                },
            ),
        );
    });

    it("reads the engine's own refusals of a protected resource back, and nothing else", () => {
        const urn = "urn:pulumi:dev::keel::keel:database:Database$pulumi-nodejs:dynamic/keel:LocalPostgres::database-local";
        assert.deepEqual(protectRefusalIn(`unable to replace resource "${urn}"\nas it is currently marked for protection.`), {
            urn,
            action: "replace",
        });
        assert.deepEqual(protectRefusalIn(`resource "${urn}" cannot be deleted\nbecause it is protected.`), { urn, action: "delete" });
        assert.equal(protectRefusalIn("error: something else"), undefined);
        assert.equal(nameOfUrn(urn), "database-local");
        assert.equal(nameOfUrn("database-local"), "database-local");
        // Either refusal, as a rollback's preview reports it.
        assert.deepEqual(dataLossRefusalIn(`failed: ${dataLossMessage({ stack: "dev", name: "database-local", action: "replace" })}`), {
            name: "database-local",
            action: "replace",
        });
        assert.deepEqual(dataLossRefusalIn(`resource "${urn}" cannot be deleted\nbecause it is protected.`), {
            name: "database-local",
            action: "delete",
        });
        assert.equal(dataLossRefusalIn("Keel refused to replace the-app (not data)"), undefined);
    });

    it("guardsData: a replacement the stack has not allowed is refused with the properties; an allowed one, or an update, passes", async () => {
        const provider = guardsData({
            diff: async (_id: string, _olds: unknown, news: { replaces: string[] }) => ({ changes: true, replaces: news.replaces }),
        });
        const refused = provider.diff!("id", {}, {
            replaces: ["user"],
            stack: "dev",
            dataGuard: dataGuardFor("database-local", []),
        } as never);
        await assert.rejects(refused, (err: Error) => err instanceof DataLossRefusedError && /because its user changed/.test(err.message));
        const allowed = await provider.diff!("id", {}, {
            replaces: ["user"],
            stack: "dev",
            dataGuard: dataGuardFor("database-local", ["database-local"]),
        } as never);
        assert.deepEqual(allowed.replaces, ["user"]);
        const update = await provider.diff!("id", {}, {
            replaces: [],
            stack: "dev",
            dataGuard: dataGuardFor("database-local", []),
        } as never);
        assert.deepEqual(update.replaces, []);
    });
});
