/** Where the Fly dynamic providers and commands find the API token and URL. */
import { resolveCredential } from "../credentials";
import { FlyCredentialsError } from "./errors";

export const DEFAULT_FLY_API_URL = "https://api.machines.dev/v1";

export interface FlyCredentialSources {
    /** `keel:flyApiToken` as the dynamic provider's configure() read it. */
    configApiToken?: string;
    /** `keel:flyApiUrl`, likewise (tests point it at a fake). */
    configApiUrl?: string;
    env: Record<string, string | undefined>;
}

export interface FlyCredentials {
    token: string;
    baseUrl: string;
    /** Where the token came from, for messages (never the token itself). */
    source: "keel:flyApiToken" | "FLY_API_TOKEN";
}

/** The token from provider config, else FLY_API_TOKEN; the base URL from config, else FLY_API_URL, else Fly's. */
export function resolveFlyCredentials(sources: FlyCredentialSources): FlyCredentials {
    const { secret, baseUrl, source } = resolveCredential(
        {
            what: "Fly.io API token",
            configKey: "keel:flyApiToken",
            envKey: "FLY_API_TOKEN",
            urlEnvKey: "FLY_API_URL",
            defaultUrl: DEFAULT_FLY_API_URL,
            howToGet: "Create one with `fly tokens create org` (or `fly tokens create deploy -a <app>`)",
        },
        sources.configApiToken,
        sources.configApiUrl,
        sources.env,
        (m) => new FlyCredentialsError(m),
    );
    return { token: secret, baseUrl, source };
}
