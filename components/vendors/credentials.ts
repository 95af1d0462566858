/**
 * One rule for every vendor's credential: the stack's secret config key (as a
 * dynamic provider's configure() read it) wins over the environment variable;
 * the base URL comes from config, else its environment variable, else the
 * vendor's. A missing credential is an error that says both ways to set it.
 */
export interface CredentialRule {
    /** e.g. "Neon API key". */
    what: string;
    /** Stack config key, e.g. "keel:neonApiKey". */
    configKey: string;
    /** Environment variable, e.g. "NEON_API_KEY". */
    envKey: string;
    /** Environment variable overriding the base URL, e.g. "NEON_API_URL". */
    urlEnvKey: string;
    defaultUrl: string;
    /** Where to get one, e.g. "Create a key in the Neon console (Account settings > API keys)". */
    howToGet: string;
}

export interface ResolvedCredential<Source extends string> {
    secret: string;
    baseUrl: string;
    source: Source;
}

export function resolveCredential<Source extends string>(
    rule: CredentialRule & { configKey: Source; envKey: Source },
    configSecret: string | undefined,
    configUrl: string | undefined,
    env: Record<string, string | undefined>,
    missing: (message: string) => Error,
): ResolvedCredential<Source> {
    const fromConfig = configSecret?.trim();
    const secret = fromConfig || env[rule.envKey]?.trim();
    if (!secret) {
        throw missing(
            `No ${rule.what}: Keel reads it from the stack's config key ${rule.configKey} or from the ${rule.envKey} environment variable, and neither is set. ` +
                `${rule.howToGet}, then either \`export ${rule.envKey}=...\` ` +
                `or \`npm run pulumi -- config set --secret ${rule.configKey} ...\` (add \`--stack <stack>\` for another stack).`,
        );
    }
    const baseUrl = (configUrl?.trim() || env[rule.urlEnvKey]?.trim() || rule.defaultUrl).replace(/\/+$/, "");
    return { secret, baseUrl, source: fromConfig ? rule.configKey : rule.envKey };
}
