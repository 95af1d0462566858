/**
 * Secret env maps (`keel:backendSecrets`, `keel:frontendSecrets`) and API tokens,
 * which the backend and frontend sections both read. Pure: no Pulumi imports.
 */
import { ConfigContext, envMap, NAMESPACE, parseSection } from "./context";

/** A secret object key (keel:backendSecrets): values never appear in messages. */
export function parseSecrets(ctx: ConfigContext, key: string): Record<string, string> {
    const raw = ctx.get(key);
    if (raw === undefined) return {};
    const parsed = parseSection(ctx, key, envMap, { raw, secret: true, examples: { [`${key}.API_KEY`]: "<value>" } });
    return parsed ?? {};
}

export function credentialProblem(ctx: ConfigContext, configKey: string, envKey: string, what: string, howToGet: string): void {
    if (ctx.deployCredentials && ctx.get(configKey) === undefined && !ctx.env[envKey]) {
        ctx.problems.push({
            key: `${NAMESPACE}:${configKey}`,
            message: `is not set and ${envKey} is not in the environment; ${what}`,
            fix: `npm run pulumi -- config set --secret ${NAMESPACE}:${configKey} <${howToGet}> --stack ${ctx.stack} (or export ${envKey})`,
        });
    }
}
