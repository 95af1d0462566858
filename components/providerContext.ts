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

