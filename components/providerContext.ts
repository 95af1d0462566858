/**
 * What every dynamic provider shares: how the engine finds it (a stand-in that
 * names its module, below), a client made per call from the provider's
 * configuration (the credential is never captured: configure() fills a settings
 * object that exists only in the provider's process, else the environment
 * variable is read when a client is made), progress lines, the engine's marker
 * for values unknown during preview, and the stage every Keel resource carries.
 */
import * as pulumi from "@pulumi/pulumi";
import { runningStackStage } from "./config/runningStage";
import * as path from "path";

/** Marker the engine uses for values that are not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

/** Known and different (an unknown value at preview is not a change to act on). */
export function changed(a: unknown, b: unknown): boolean {
    if (isUnknown(a) || isUnknown(b)) return false;
    return JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);
}

export interface Log {
    info(message: string): void;
    warn(message: string): void;
}

/** `keel fly: ...` lines; dynamic providers have no engine connection, so pulumi.log reaches the console. */
export function vendorLog(vendor: string): Log {
    return {
        info: (message) => pulumi.log.info(`keel ${vendor}: ${message}`),
        warn: (message) => pulumi.log.warn(`keel ${vendor}: ${message}`),
    };
}

export interface ProviderContext<Client> {
    /** Reads the provider's config keys (for example keel:flyApiToken and keel:flyApiUrl). */
    configure(req: pulumi.dynamic.ConfigureRequest): Promise<void>;
    /** A client with the credential resolved now; throws the vendor's credentials error saying how to set one. */
    client(): Client;
    log: Log;
}

/**
 * One per provider. `makeClient` receives what configure() read (undefined
 * outside the provider's process) and process.env.
 */
export function providerContext<Client>(
    vendor: string,
    keys: { secret: string; url: string },
    makeClient: (
        configSecret: string | undefined,
        configUrl: string | undefined,
        env: Record<string, string | undefined>,
        log: Log,
    ) => Client,
): ProviderContext<Client> {
    const settings: { secret?: string; url?: string } = {};
    const log = vendorLog(vendor);
    return {
        async configure(req) {
            settings.secret = req.config.get(keys.secret);
            settings.url = req.config.get(keys.url);
        },
        client() {
            return makeClient(settings.secret, settings.url, process.env, log);
        },
        log,
    };
}

// ---- How the engine finds Keel's providers -------------------------------------

/**
 * Keel's dynamic resources, and how the engine finds their providers.
 *
 * A dynamic resource carries its provider in the `__provider` input: the text
 * of a module whose `handler()` returns the provider object, which the engine's
 * nodejs dynamic-provider plugin loads with require-from-string, in the project
 * directory. Pulumi's own `dynamic.Resource` fills it by serializing the
 * provider with everything it captures (over 100 KB per resource, stored in the
 * state and serialized again, with TypeScript's parser, at every preview).
 * Keel writes a stand-in instead: a few lines that name the module exporting
 * the provider (relative to the project) and load it when a method is called,
 * through tools/build.js (the built file, rebuilt first when its source is
 * newer; the source itself where ts-node is loaded, as in the tests).
 *
 * Why this is safe for refresh and destroy, which run the provider stored in
 * the state, possibly written by an older Keel: the plugin runs in the project
 * directory, so the stand-in loads the project's current implementation, which
 * reads the outputs of every older Keel (a resource's outputs carry the version
 * of their shape). Nothing but the module's id and the export's name is in the
 * text: no credential, no client, no path of the machine that wrote it.
 *
 * The text is an input, so a new wording reaches every resource's state at the
 * next `up` without an update: each Keel provider's diff compares its own
 * inputs only, so the engine records the new text as unchanged. What must stay
 * is where a provider is exported (module and name): refresh and delete load
 * the one named in the state.
 */

/** `pulumi-nodejs:dynamic/keel:<name>`: the type token the engine and the policy pack see. */
export function dynamicType(name: string): string {
    return `pulumi-nodejs:dynamic/keel:${name}`;
}

export abstract class KeelDynamicResource extends pulumi.CustomResource {
    /** `type` is the class's own `__pulumiType` (dynamicType): policies select resources by the class, not a string. */
    constructor(provider: object, type: string, name: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        super(type, name, { ...props, stage: runningStackStage(), __provider: standInSource(provider) }, opts);
    }
}

const sources = new Map<object, string>();

/** The `__provider` text for a provider exported by one of Keel's modules. */
export function standInSource(provider: object): string {
    const known = sources.get(provider);
    if (known) return known;
    const { moduleId, exportName } = exporterOf(provider);
    const methods = Object.keys(provider).filter((k) => typeof (provider as Record<string, unknown>)[k] === "function");
    const text = [
        `// Keel's ${exportName}: loaded by name from the project directory, through tools/build.js.`,
        `exports.handler = function () {`,
        `    var load = function () { return require(require("path").resolve("tools/build.js")).load(${JSON.stringify(moduleId)})[${JSON.stringify(exportName)}]; };`,
        `    var call = function (method) { return function () { var p = load(); return p[method].apply(p, arguments); }; };`,
        `    return { ${methods.map((m) => `${m}: call(${JSON.stringify(m)})`).join(", ")} };`,
        `};`,
        ``,
    ].join("\n");
    sources.set(provider, text);
    return text;
}

/** The project-relative module (`components/backend/fly/app`) and the export that hold a provider. */
function exporterOf(provider: object): { moduleId: string; exportName: string } {
    // components/ sits in the project root, or in dist/ when built.
    const sourceRoot = path.resolve(__dirname, "..");
    for (const [file, mod] of Object.entries(require.cache)) {
        const exports = mod?.exports;
        if (!exports || typeof exports !== "object" || !file.startsWith(sourceRoot + path.sep)) continue;
        const exportName = Object.keys(exports).find((k) => exports[k] === provider);
        if (exportName) {
            const moduleId = path
                .relative(sourceRoot, file)
                .replace(/\.(ts|js)$/, "")
                .split(path.sep)
                .join("/");
            return { moduleId, exportName };
        }
    }
    throw new Error("a dynamic provider must be exported from a module of Keel's components/ so that the engine can load it by name");
}

// ---- The shape of a provider's outputs over time ------------------------------

/**
 * Outputs change shape as Keel changes (the schema's catalog became packed, the
 * latest backup was added): every Keel provider stamps its outputs with the
 * version of their shape, and reads outputs written by an older Keel through
 * its upgrades first, so that refresh, diff, update and delete after an upgrade
 * see the shape the code expects (no crash, no spurious change). Version 0 is
 * state written before versions existed.
 */
export interface StateShape {
    /** The shape this code writes. */
    version: number;
    /** `upgrades[n]` turns outputs of shape n into shape n + 1; a missing step means the shapes are the same. */
    upgrades?: Record<number, (outputs: Record<string, any>) => Record<string, any>>;
}

export const STATE_VERSION = "stateVersion";

/** Outputs of any older shape, as this shape. */
export function upgradeOutputs<T extends Record<string, any>>(shape: StateShape, outputs: T): T {
    if (!outputs || typeof outputs !== "object") return outputs;
    let v = typeof outputs[STATE_VERSION] === "number" ? (outputs[STATE_VERSION] as number) : 0;
    if (v > shape.version) {
        throw new Error(
            `these outputs were written by a newer Keel (state shape ${v}, this Keel knows up to ${shape.version}): update Keel (git pull && npm ci) before running this stack`,
        );
    }
    let current: Record<string, any> = outputs;
    for (; v < shape.version; v++) current = shape.upgrades?.[v]?.(current) ?? current;
    return { ...current, [STATE_VERSION]: shape.version } as unknown as T;
}

/**
 * A provider whose outputs carry their shape's version and whose older outputs
 * are upgraded before any method reads them.
 */
export function versioned<I, O extends Record<string, any>>(
    shape: StateShape,
    provider: pulumi.dynamic.ResourceProvider<I, O>,
): pulumi.dynamic.ResourceProvider<I, O> {
    const stamp = (outs: O | undefined): O | undefined => (outs ? ({ ...outs, [STATE_VERSION]: shape.version } as O) : outs);
    const up = (outs: O): O => upgradeOutputs(shape, outs);
    return {
        ...provider,
        ...(provider.create
            ? {
                  create: async (inputs: I) => {
                      const r = await provider.create!(inputs);
                      return { ...r, outs: stamp(r.outs) };
                  },
              }
            : {}),
        ...(provider.update
            ? {
                  update: async (id: string, olds: O, news: I) => {
                      const r = await provider.update!(id, up(olds), news);
                      return { ...r, outs: stamp(r.outs) };
                  },
              }
            : {}),
        ...(provider.read
            ? {
                  read: async (id: string, props?: O) => {
                      const r = await provider.read!(id, props && up(props));
                      return { ...r, props: stamp(r.props as O) };
                  },
              }
            : {}),
        ...(provider.diff ? { diff: (id: string, olds: O, news: I) => provider.diff!(id, up(olds), news) } : {}),
        ...(provider.delete ? { delete: (id: string, props: O) => provider.delete!(id, up(props)) } : {}),
    } as pulumi.dynamic.ResourceProvider<I, O>;
}
