/**
 * The generated config reference (components/config/reference.ts, docs/config.md): the
 * check fails on a stale file and passes on a fresh one, and its keys are exactly the keys
 * the config accepts, as the config's own validation judges them.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseKeelConfig, stageDefaults, STAGES } from "../../components/config";
import { previewStackName } from "../../components/previews/naming";
import { KNOWN_KEYS } from "../../components/config/keys";
import { configReference, REFERENCE_FILE, renderReference } from "../../components/config/reference";
import { STAGE_DEFAULTED_KEYS } from "../../components/config/stage";
import { ConfigError, KeelError } from "../../components/errors";
import { checkReference, writeReference } from "../../tools/docs";
import { previewValues } from "../support/previewStack";
import { tempDir } from "../support/tempDir";

/** The problems parseKeelConfig reports for these values on a dev stack (none: []). */
function problemsFor(values: Record<string, string>): string[] {
    try {
        parseKeelConfig({ stack: "dev", values, secretKeys: new Set(Object.keys(values)), env: {} });
        return [];
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems.map((p) => `${p.key} | ${p.message}`);
    }
}

/** `keel:backend.fly.regions[].region` = v as the stack file's value of keel:backend. */
function valuesSetting(key: string, value: unknown): Record<string, string> {
    const [top, ...rest] = key.replace(/^keel:/, "").split(".");
    const build = (parts: string[]): unknown => {
        if (!parts.length) return value;
        const [head, ...tail] = parts;
        const list = head.endsWith("[]");
        const name = list ? head.slice(0, -2) : head;
        return { [name]: list ? [build(tail)] : build(tail) };
    };
    const topName = top.endsWith("[]") ? top.slice(0, -2) : top;
    const inner = rest.length ? build(rest) : value;
    return { [`keel:${topName}`]: JSON.stringify(top.endsWith("[]") ? [inner] : inner) };
}

const unknown = (problems: string[]) => problems.filter((p) => /unknown (key|setting)/.test(p));

describe("config reference (docs/config.md)", () => {
    it("docs:check fails on a missing or stale file, naming it and npm run docs, and passes on a fresh one", () => {
        const root = tempDir("keel-docs-");
        const stale = (fn: () => void) =>
            assert.throws(fn, (err: unknown) => {
                assert.ok(err instanceof KeelError);
                assert.match(err.message, new RegExp(`${REFERENCE_FILE.replace(".", "\\.")} is (missing|stale)`));
                assert.match(err.message, /npm run docs/);
                return true;
            });
        stale(() => checkReference(root));
        assert.equal(writeReference(root), REFERENCE_FILE);
        checkReference(root);
        const file = path.join(root, REFERENCE_FILE);
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("keel:migrations.lockTimeout", "keel:migrations.lockTimeOut"));
        stale(() => checkReference(root));
        // A schema that changed (its description here) makes the committed text stale too.
        writeReference(root);
        stale(() =>
            checkReference(root, renderReference(configReference().map((r, i) => (i === 3 ? { ...r, description: "changed" } : r)))),
        );
    });

    it("the committed docs/config.md is the schemas' reference", () => {
        checkReference(path.resolve(__dirname, "..", ".."));
    });

    it("describes every key (each schema key has its .describe())", () => {
        const bare = configReference().filter((r) => !r.description.trim() || !r.type.trim());
        assert.deepEqual(
            bare.map((r) => r.key),
            [],
        );
    });

    it("is deterministic", () => {
        assert.equal(renderReference(), renderReference());
    });

    it("lists every top-level key the config accepts, once", () => {
        const keys = configReference().map((r) => r.key);
        assert.equal(new Set(keys).size, keys.length, "a key listed twice");
        for (const k of KNOWN_KEYS) assert.ok(keys.includes(`keel:${k}`), `keel:${k} is not in the reference`);
        assert.deepEqual(unknown(problemsFor({ "keel:notAKey": "1" })).length, 1);
    });

    it("every key it lists is one the config accepts (no unknown-key problem when set)", () => {
        for (const row of configReference()) {
            const got = unknown(problemsFor(valuesSetting(row.key, null)));
            assert.deepEqual(got, [], `${row.key}: ${got.join("; ")}`);
        }
    });

    it("every object it lists accepts no key it does not list (the schemas are strict)", () => {
        const rows = configReference();
        const objects = rows.filter((r) => r.type === "object" || r.type === "list of objects");
        assert.ok(objects.length > 10);
        for (const row of objects) {
            const key = row.type === "list of objects" ? `${row.key}[].zzNotListed` : `${row.key}.zzNotListed`;
            const got = unknown(problemsFor(valuesSetting(key, 1)));
            assert.equal(got.length, 1, `${key}: ${got.join("; ")}`);
        }
    });

    it("gives each stage-aware default per stage, from stage.ts", () => {
        const rows = new Map(configReference().map((r) => [r.key, r]));
        for (const [key, of] of Object.entries(STAGE_DEFAULTED_KEYS)) {
            const row = rows.get(`keel:${key}`);
            assert.ok(row, `keel:${key} is not in the reference`);
            const values = STAGES.map((s) => of(stageDefaults(s)));
            for (const v of values)
                assert.ok(row.default.includes(v === undefined ? "none" : `\`${String(v)}\``), `${key}: ${row.default}`);
            if (new Set(values).size > 1) for (const s of STAGES) assert.match(row.default, new RegExp(`\\b${s}\\b`), key);
        }
    });

    it("each stage-aware default it gives is the one the config resolves to when the key is unset", () => {
        const url = "postgres://app:pw@db.internal:5432/app";
        const resolve = (stage: (typeof STAGES)[number], values: Record<string, unknown>) =>
            parseKeelConfig({
                stack: stage === "preview" ? previewStackName(1) : stage,
                values: {
                    ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
                    ...(stage === "preview" ? previewValues(1) : {}),
                },
                secretKeys: new Set(["keel:databaseUrl"]),
                env: { NEON_API_KEY: "k", FLY_API_TOKEN: "t", RENDER_API_KEY: "r" },
                deployCredentials: false,
            });
        const fly = { kind: "fly", image: "registry.fly.io/shop:1.2.3", fly: { region: "iad" } };
        const render = { kind: "render", image: "registry.fly.io/shop:1.2.3", render: { ownerId: "tea-abc" } };
        // Where each key's resolved value is, in a config that leaves it unset (the database an external one outside dev).
        const base = (stage: string) => (stage === "dev" ? {} : { "keel:databaseUrl": url });
        const cases: Record<string, (stage: (typeof STAGES)[number]) => unknown> = {
            "database.kind": (stage) => (stage === "dev" ? resolve(stage, {}).database.kind : undefined),
            "database.neon.branch.protected": (stage) => neon(resolve(stage, { "keel:database": { kind: "neon" } })).branch.protected,
            "database.neon.endpoint.maxCu": (stage) => neon(resolve(stage, { "keel:database": { kind: "neon" } })).endpoint.maxCu,
            "database.neon.endpoint.suspendTimeoutSeconds": (stage) =>
                neon(resolve(stage, { "keel:database": { kind: "neon" } })).endpoint.suspendTimeoutSeconds,
            "migrations.lockTimeout": (stage) => resolve(stage, base(stage)).migrations.lockTimeout,
            "migrations.statementTimeout": (stage) => resolve(stage, base(stage)).migrations.statementTimeout,
            "migrations.lockWaitSeconds": (stage) => resolve(stage, base(stage)).migrations.lockWaitSeconds,
            "migrations.backup": (stage) => resolve(stage, base(stage)).migrations.backup,
            "migrations.keepBackups": (stage) => resolve(stage, base(stage)).migrations.keepBackups,
            "backend.watch.minutes": (stage) => resolve(stage, { ...base(stage), "keel:backend": fly }).backend?.watch.minutes,
            "backend.fly.strategy": (stage) => flyOf(resolve(stage, { ...base(stage), "keel:backend": fly })).strategy,
            "backend.fly.autostop": (stage) => flyOf(resolve(stage, { ...base(stage), "keel:backend": fly })).autostop,
            // With autostop on: with it off every machine runs (the reference says so).
            "backend.fly.minMachinesRunning": (stage) =>
                flyOf(resolve(stage, { ...base(stage), "keel:backend": { ...fly, fly: { region: "iad", autostop: "stop" } } }))
                    .minMachinesRunning,
            "backend.render.instances": (stage) => {
                const b = resolve(stage, { ...base(stage), "keel:backend": render }).backend;
                return b?.kind === "render" ? b.render.instances : undefined;
            },
        };
        assert.deepEqual(Object.keys(cases).sort(), Object.keys(STAGE_DEFAULTED_KEYS).sort());
        for (const [key, of] of Object.entries(STAGE_DEFAULTED_KEYS)) {
            for (const stage of STAGES) assert.equal(cases[key](stage), of(stageDefaults(stage)), `${key} on ${stage}`);
        }
    });
});

function neon(c: ReturnType<typeof parseKeelConfig>) {
    assert.ok(c.database.kind === "neon");
    return c.database;
}

function flyOf(c: ReturnType<typeof parseKeelConfig>) {
    assert.ok(c.backend?.kind === "fly");
    return c.backend.fly;
}
