/**
 * What a message may not carry: a deploy notification or a record is built from
 * error texts and outputs that can hold a secret (a database URL with its
 * password in a driver's error, a token echoed by a vendor). Known secret values
 * (the environment's tokens, the stack's decrypted secrets) are replaced whole;
 * then the shapes that are secrets whatever their value: a URL's password, a
 * query parameter named like a credential, a bearer token, the well-known token
 * formats. Pure.
 */

export const MASK = "***";

/** Environment variables whose values are secrets wherever they appear. */
const SECRET_VARIABLE = /(TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|ACCESS_KEY|WEBHOOK|DATABASE_URL|CONNECTION_STRING|SAS)/i;

/** The values of `env`'s secret-named variables (long enough to be worth masking: a 1-character value would mask every such letter). */
export function secretValuesIn(env: Record<string, string | undefined>): string[] {
    return Object.entries(env)
        .filter(([name, value]) => SECRET_VARIABLE.test(name) && typeof value === "string" && value.length >= 6)
        .map(([, value]) => value as string);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const SHAPES: [RegExp, string][] = [
    // scheme://user:password@host: the password.
    [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):[^\s@/]*@/gi, `$1:${MASK}@`],
    // ?password=…, &token=…, sig=… (SAS), key=…
    [
        /([?&;](?:password|passwd|pwd|token|access_token|api_key|apikey|key|secret|sig|signature|x-amz-signature|x-amz-credential)=)[^&\s#'"]+/gi,
        `$1${MASK}`,
    ],
    [/\b(Bearer|token|Basic)\s+[A-Za-z0-9._~+/=-]{12,}/g, `$1 ${MASK}`],
    // GitHub, Slack, Neon, Fly, Vercel-style tokens and Slack webhook paths.
    [
        /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|napi_[A-Za-z0-9]{20,}|fo1_[A-Za-z0-9_-]{20,}|FlyV1 [^\s]+)/g,
        MASK,
    ],
    [/(hooks\.slack\.com\/services\/)[A-Za-z0-9/_-]+/g, `$1${MASK}`],
];

/** `text` with every known secret value and every secret-shaped part replaced by ***. */
export function maskSecrets(text: string, known: readonly string[] = []): string {
    let out = text;
    // Longest first: a value containing another is masked whole.
    for (const value of [...new Set(known)].filter((v) => v.length >= 6).sort((a, b) => b.length - a.length)) {
        out = out.replace(new RegExp(escape(value), "g"), MASK);
    }
    for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
    return out;
}
