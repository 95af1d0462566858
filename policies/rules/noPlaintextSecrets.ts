/**
 * no-plaintext-secrets: no plain-text value under a key that looks secret
 * (token, password, secret, api key, private key, database URL, connection
 * string), anywhere in a resource's inputs: nested objects, env maps
 * (`env: { STRIPE_SECRET_KEY: "..." }`), `{ key|name, value }` pairs,
 * `NAME=value` strings and JSON text (`"{\"env\": {...}}"`). Mandatory on staging
 * and prod, advisory on dev.
 *
 * The stack's config counts too: Keel's dynamic providers get the whole stack
 * config as the inputs of their provider resource (`pulumi:providers:pulumi-nodejs`),
 * object values such as `keel:backend` as JSON text, and the engine stores those
 * inputs in the state. So a plain `keel:backend.env.STRIPE_SECRET_KEY` is reported
 * on that provider as well as on the machines, and since the provider is
 * registered first, `pulumi up` stops before the state records it.
 *
 * How secrets reach a policy: the engine sends inputs with secrets marked, but
 * @pulumi/policy's validateResource/validateStack deserialize them unwrapped,
 * so a secret and a plain string look the same. The pack therefore switches the
 * SDK to its secret-preserving deserialization (support.ts keepSecretsVisible)
 * and this rule reads the raw tree, where a secret is a `Secret` (or, in the
 * wire form, `{ "4dabf181...": "1b470612...", value }`). Where that switch
 * could not be made, the rule cannot tell: it then accepts values under a
 * top-level property the resource lists in additionalSecretOutputs (the
 * program's own statement that the property is secret; Keel's providers and
 * generated SDKs also wrap those inputs) and reports every other match: a false
 * alarm is fixed by declaring the property secret, a missed secret is not fixed at all.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import {
    ADVISORY_IN_DEV,
    isSecret,
    isUnknown,
    raw,
    CONFIG_REFERENCE,
    report,
    secretsAreVisible,
    stackName,
    stageOf,
    Violation,
} from "../support";

export const SECRET_KEY = /token|password|passwd|secret|api[_-]?key|private[_-]?key|database[_-]?url|connection[_-]?string/i;
/** Keys naming a secret rather than holding it (`databaseUrlEnv: "DATABASE_URL"`, `secretName`, `tokenId`). */
const NAMES_A_SECRET = /(Env|EnvVar|Name|Names|Id|Ids|Digest|Digests|Version|Path|File|Ref|Hint)$/;
/** A GitHub Actions secret reference, `${{ secrets.X }}`. */
const SECRET_REFERENCE = /\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}/;
/** `NAME=value` (Docker `envs`). */
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/s;

export interface PlaintextFinding {
    /** Property path, e.g. `env.STRIPE_SECRET_KEY`. */
    path: string;
    key: string;
}

/** The rule's settings (policy config): more key names that hold secrets, and names that look secret but do not. */
export interface PlaintextSettings {
    secretKeys: string[];
    notSecretKeys: string[];
}

export const DEFAULT_SETTINGS: PlaintextSettings = { secretKeys: [], notSecretKeys: [] };

function looksSecret(key: string, settings: PlaintextSettings = DEFAULT_SETTINGS): boolean {
    if (settings.notSecretKeys.includes(key)) return false;
    return settings.secretKeys.includes(key) || (SECRET_KEY.test(key) && !NAMES_A_SECRET.test(key));
}

/** The tree inside JSON text of an object or array (config objects reach a provider as such text); undefined otherwise. */
function jsonTree(v: string): object | undefined {
    const t = v.trim();
    if (!/^[[{]/.test(t)) return undefined;
    try {
        const parsed = JSON.parse(t);
        return parsed !== null && typeof parsed === "object" ? parsed : undefined;
    } catch {
        return undefined;
    }
}

/** A plain string worth reporting: known, non-empty, not a secret reference. */
function plainValue(v: unknown): v is string {
    return typeof v === "string" && v.trim() !== "" && !isUnknown(v) && !SECRET_REFERENCE.test(v);
}

/**
 * Plain-text strings under secret-looking keys. `trusted` top-level properties
 * (used only when the SDK hides secrets) are skipped.
 */
export function plaintextSecrets(
    props: Record<string, any>,
    trusted: readonly string[] = [],
    settings: PlaintextSettings = DEFAULT_SETTINGS,
): PlaintextFinding[] {
    const found: PlaintextFinding[] = [];
    const walk = (v: unknown, path: string, key: string | undefined): void => {
        if (isSecret(v) || isUnknown(v) || v === null || v === undefined) return;
        if (typeof v === "string") {
            if (key !== undefined && looksSecret(key, settings) && plainValue(v)) found.push({ path, key });
            else {
                const tree = jsonTree(v);
                if (tree) return walk(tree, path, key);
            }
            const m = ASSIGNMENT.exec(v);
            if (m && looksSecret(m[1], settings) && plainValue(m[2])) found.push({ path: `${path} (${m[1]}=…)`, key: m[1] });
            return;
        }
        if (Array.isArray(v)) {
            v.forEach((e, i) => walk(e, `${path}[${i}]`, key));
            return;
        }
        if (typeof v !== "object") return;
        const obj = v as Record<string, unknown>;
        // { key: "STRIPE_SECRET_KEY", value: "..." } and { name: ..., value: ... } pairs.
        const pairName = [obj.key, obj.name].find((k): k is string => typeof k === "string");
        if (pairName !== undefined && "value" in obj && looksSecret(pairName, settings) && plainValue(obj.value)) {
            found.push({ path: `${path}.value (${pairName})`, key: pairName });
        }
        for (const [k, child] of Object.entries(obj)) {
            if (!path && trusted.includes(k)) continue;
            walk(child, path ? `${path}.${k}` : k, k);
        }
    };
    walk(props, "", undefined);
    return found;
}

/** The stack's config key a provider input comes from (`keel:backend` of `keel:backend.env.X`), if the path starts with one. */
function configKeyOf(type: string, path: string): string | undefined {
    if (!type.startsWith("pulumi:providers:")) return undefined;
    const first = path.split(/[.[ ]/)[0];
    return /^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/.test(first) ? first : undefined;
}

/** How to make a plain config value secret; a backend's or frontend's plain env var moves to its secret map. */
function configFix(path: string, key: string, stack: string): string {
    const env = /^keel:(backend|frontend)\.env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(path);
    if (env) {
        return `Fix: move it to secret config: npm run pulumi -- config rm --path ${path} --stack ${stack}; npm run pulumi -- config set --secret --path keel:${env[1]}Secrets.${env[2]} <value> --stack ${stack}`;
    }
    return `Fix: make it a secret: npm run pulumi -- config set --secret --path ${path} <value> --stack ${stack} (the value named '${key}')`;
}

export function checkNoPlaintextSecrets(
    args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name" | "opts">,
    settings: PlaintextSettings = DEFAULT_SETTINGS,
): Violation[] {
    const level = ADVISORY_IN_DEV[stageOf(args)];
    if (!level) return [];
    const props = raw(args.props);
    const visible = secretsAreVisible();
    const trusted = visible ? [] : (args.opts?.additionalSecretOutputs ?? []);
    const stack = stackName(args.urn);
    return plaintextSecrets(props, trusted, settings).map((f) => {
        const head = `'${args.name}' (${args.type}) has a plain-text value at ${f.path}, and '${f.key}' looks like a secret: it would be stored unencrypted in the state. `;
        const configKey = configKeyOf(args.type, f.path);
        if (configKey) {
            return {
                urn: args.urn,
                enforcementLevel: level,
                message:
                    head +
                    `It is plain config (${configKey}), which the provider gets as its input with the rest of the stack's config. ${configFix(f.path, f.key, stack)}.`,
            };
        }
        return {
            urn: args.urn,
            enforcementLevel: level,
            message:
                head +
                (args.type.startsWith("pulumi:providers:")
                    ? "Fix: give the provider its credential from a secret config value (e.g. npm run pulumi -- config set --secret keel:githubToken ...) wrapped in pulumi.secret(); a provider that reads it from an environment variable stores it in plain text"
                    : `Fix: keep it in config as a secret (npm run pulumi -- config set --secret ...; a backend env var: npm run pulumi -- config set --secret --path keel:backendSecrets.${f.key} ...) and pass it with pulumi.secret()`) +
                (visible
                    ? "."
                    : `; the policy cannot see secrets here, so also list '${f.path.split(/[.[ ]/)[0]}' in the resource's additionalSecretOutputs.`),
        };
    });
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
    name: "no-plaintext-secrets",
    description:
        "No plain-text value under a secret-looking key (token, password, secret, API key, database URL ...) in any resource input.",
    enforcementLevel: "mandatory",
    severity: "high",
    url: CONFIG_REFERENCE,
    remediationSteps:
        "Keep the value in config as a secret (npm run pulumi -- config set --secret; a backend variable goes under keel:backendSecrets) and pass it with pulumi.secret().",
    configSchema: {
        properties: {
            secretKeys: { type: "array", items: { type: "string" }, default: DEFAULT_SETTINGS.secretKeys },
            notSecretKeys: { type: "array", items: { type: "string" }, default: DEFAULT_SETTINGS.notSecretKeys },
        },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const settings = { ...DEFAULT_SETTINGS, ...args.getConfig<Partial<PlaintextSettings>>() };
        for (const v of checkNoPlaintextSecrets(args, settings)) report(reportViolation, v);
    },
};
