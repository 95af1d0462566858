/**
 * What every backend dynamic provider shares: a client made per call from the
 * provider's configuration (the credential is never captured: configure()
 * fills a settings object that exists only in the provider's process, else the
 * environment variable is read when a client is made), progress lines, and the
 * engine's marker for values unknown during preview.
 */
import type * as pulumi from "@pulumi/pulumi";

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
        info(message) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require("@pulumi/pulumi").log.info(`keel ${vendor}: ${message}`);
        },
        warn(message) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require("@pulumi/pulumi").log.warn(`keel ${vendor}: ${message}`);
        },
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
 * outside the provider's process) and process.env; it must require what it uses.
 */
export function providerContext<Client>(
    vendor: string,
    keys: { secret: string; url: string },
    makeClient: (configSecret: string | undefined, configUrl: string | undefined, env: Record<string, string | undefined>, log: Log) => Client,
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

/**
 * The engine stores every dynamic resource's provider, serialized with all it
 * captures, in the state, and serializes it again at every preview: a provider
 * object that closes over its modules is over 100 KB per resource. What a
 * resource hands the engine instead is this stand-in, whose methods only name
 * the module that exports the provider (relative to the project) and load it
 * when called, through tools/build.js (the built file, rebuilt first when its
 * source is newer; the source itself under ts-node).
 *
 * Why this is safe for refresh and destroy, which run the provider stored in
 * the state, possibly written by an older Keel: the engine starts the provider
 * process in the project directory, so the stand-in loads the project's current
 * implementation, which reads the outputs of every older Keel (a resource's
 * outputs carry their shape's version). Nothing but the module's id and the
 * export's name is captured: no credential, no client, no path of the machine
 * that serialized it.
 */
const standIns = new Map<object, object>();

export function serializable<P extends object>(provider: P): P {
    const known = standIns.get(provider);
    if (known) return known as P;
    const { moduleId, exportName } = exporterOf(provider);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const call = (method: string, args: unknown[]) => require(require("path").resolve("tools/build.js")).load(moduleId)[exportName][method](...args);
    const standIn: Record<string, unknown> = {};
    for (const method of Object.keys(provider).filter((k) => typeof (provider as any)[k] === "function")) {
        standIn[method] = (...args: unknown[]) => call(method, args);
    }
    standIns.set(provider, standIn);
    return standIn as P;
}

/** The project-relative module (`components/backend/fly/app`) and the export that hold a provider. */
function exporterOf(provider: object): { moduleId: string; exportName: string } {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path = require("path") as typeof import("path");
    // components/ sits in the project root, or in dist/ when built.
    const sourceRoot = path.resolve(__dirname, "..");
    for (const [file, mod] of Object.entries(require.cache)) {
        const exports = mod?.exports;
        if (!exports || typeof exports !== "object" || !file.startsWith(sourceRoot + path.sep)) continue;
        const exportName = Object.keys(exports).find((k) => exports[k] === provider);
        if (exportName) {
            const moduleId = path.relative(sourceRoot, file).replace(/\.(ts|js)$/, "").split(path.sep).join("/");
            return { moduleId, exportName };
        }
    }
    throw new Error("a dynamic provider must be exported from a module of Keel's components/ so that the engine can load it by name");
}
