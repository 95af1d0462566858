/**
 * no-plaintext-secrets: no plain-text value under a key that looks secret
 * (token, password, secret, api key, private key, database URL, connection
 * string), anywhere in a resource's inputs: nested objects, env maps
 * (`env: { STRIPE_SECRET_KEY: "..." }`), `{ key|name, value }` pairs and
 * `NAME=value` strings. Mandatory on staging and prod, advisory on dev.
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
import { ADVISORY_IN_DEV, isSecret, isUnknown, raw, report, secretsAreVisible, stageFromUrn, Violation } from "../support";

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

function looksSecret(key: string): boolean {
    return SECRET_KEY.test(key) && !NAMES_A_SECRET.test(key);
}

/** A plain string worth reporting: known, non-empty, not a secret reference. */
function plainValue(v: unknown): v is string {
    return typeof v === "string" && v.trim() !== "" && !isUnknown(v) && !SECRET_REFERENCE.test(v);
}

/**
 * Plain-text strings under secret-looking keys. `trusted` top-level properties
 * (used only when the SDK hides secrets) are skipped.
 */
export function plaintextSecrets(props: Record<string, any>, trusted: readonly string[] = []): PlaintextFinding[] {
    const found: PlaintextFinding[] = [];
    const walk = (v: unknown, path: string, key: string | undefined): void => {
        if (isSecret(v) || isUnknown(v) || v === null || v === undefined) return;
        if (typeof v === "string") {
            if (key !== undefined && looksSecret(key) && plainValue(v)) found.push({ path, key });
            const m = ASSIGNMENT.exec(v);
            if (m && looksSecret(m[1]) && plainValue(m[2])) found.push({ path: `${path} (${m[1]}=…)`, key: m[1] });
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
        if (pairName !== undefined && "value" in obj && looksSecret(pairName) && plainValue(obj.value)) {
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

export function checkNoPlaintextSecrets(args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name" | "opts">): Violation[] {
    const level = ADVISORY_IN_DEV[stageFromUrn(args.urn)];
    if (!level) return [];
    const props = raw(args.props);
    const visible = secretsAreVisible();
    const trusted = visible ? [] : (args.opts?.additionalSecretOutputs ?? []);
    return plaintextSecrets(props, trusted).map((f) => ({
        urn: args.urn,
        enforcementLevel: level,
        message:
            `'${args.name}' (${args.type}) has a plain-text value at ${f.path}, and '${f.key}' looks like a secret: it would be stored unencrypted in the state. ` +
            (args.type.startsWith("pulumi:providers:")
                ? "Fix: give the provider its credential from a secret config value (e.g. pulumi config set --secret keel:githubToken ...) wrapped in pulumi.secret(); a provider that reads it from an environment variable stores it in plain text"
                : `Fix: keep it in config as a secret (pulumi config set --secret ...; a backend env var: pulumi config set --secret --path keel:backendSecrets.${f.key} ...) and pass it with pulumi.secret()`) +
            (visible ? "." : `; the policy cannot see secrets here, so also list '${f.path.split(/[.[ ]/)[0]}' in the resource's additionalSecretOutputs.`),
    }));
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
    name: "no-plaintext-secrets",
    description: "No plain-text value under a secret-looking key (token, password, secret, API key, database URL ...) in any resource input.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkNoPlaintextSecrets(args)) report(reportViolation, v);
    },
};
