/** Added text that looks like a secret (tokens, private keys, URLs with a password), found and masked. */
import { Finding, maskSecrets } from "../preflight/index";
import type { AddedLine } from "./gitDiff";

/** On a line, this marker keeps the secret check quiet (for a fixture that only looks like a secret). */
export const ALLOW_SECRET = "keel:allow-secret";

/** Something on a line that looks like a secret: what kind, and a masked form that is safe to print. */
export interface SecretMatch {
    kind: string;
    masked: string;
    /** 1-based column where it starts. */
    column: number;
}

interface TokenRule {
    kind: string;
    /** Group 1: the prefix (public: it only says what kind of token); group 2: the secret part. */
    pattern: RegExp;
}

const TOKENS: TokenRule[] = [
    { kind: "a GitHub token", pattern: /\b(gh[pousr]_)([A-Za-z0-9]{36,255})\b/g },
    { kind: "a GitHub fine-grained token", pattern: /\b(github_pat_)([A-Za-z0-9_]{50,255})\b/g },
    { kind: "an AWS access key id", pattern: /\b(AKIA|ASIA)([A-Z0-9]{16})\b/g },
    { kind: "a Stripe live key", pattern: /\b((?:sk|rk)_live_)([A-Za-z0-9]{20,255})\b/g },
    { kind: "a Slack token", pattern: /\b(xox[abposre]-)([A-Za-z0-9-]{20,255})/g },
    { kind: "a Slack webhook URL", pattern: /(https:\/\/hooks\.slack\.com\/services\/)([A-Za-z0-9_/]{20,})/g },
    { kind: "a Neon API key", pattern: /\b(napi_)([A-Za-z0-9]{40,255})\b/g },
    { kind: "a Fly.io token", pattern: /\b(fo1_)([A-Za-z0-9_-]{30,})/g },
    { kind: "a Fly.io token", pattern: /\b(FlyV1 fm\d_)([A-Za-z0-9+/=_-]{30,})/g },
    { kind: "a Render API key", pattern: /\b(rnd_)([A-Za-z0-9]{20,255})\b/g },
    { kind: "a Pulumi access token", pattern: /\b(pul-)([a-f0-9]{40})\b/g },
];

const PRIVATE_KEY = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----/g;

/** scheme://user:password@host (group 1 scheme://, 2 user, 3 password, 4 host). */
const URL_WITH_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@'"`<>]*):([^\s@/'"`<>]+)@(\[[0-9A-Fa-f:.]+\]|[^\s/:?#'"`<>@]+)/gi;

const PLACEHOLDER_WORDS = ["example", "placeholder", "dummy", "fake", "redacted", "xxxx"];

/** `word` in one case (lower, upper or capitalized), not a mixed-case run that random letters make. */
const oneCase = (word: string, text: string) =>
    text === word || text === word.toUpperCase() || text === word[0].toUpperCase() + word.slice(1);

/**
 * A token's secret part that is a stand-in, not a secret: documentation's `EXAMPLE` keys, `xxxx…`,
 * `fake_key`, or too few distinct characters to be random (a real token of 16 or more random
 * characters has many). A placeholder word counts at the start or end of a run of letters and in
 * one case (`AKIAIOSFODNN7EXAMPLE`, `sk_live_fake_key`), not anywhere: random letters spell
 * `FAke` or `xXxx` inside a run about once in 14,000 GitHub tokens, and such a token is a secret.
 */
export function isPlaceholderToken(body: string): boolean {
    if (new Set(body).size < 8) return true;
    return body
        .split(/[^A-Za-z]+/)
        .some((run) =>
            PLACEHOLDER_WORDS.some(
                (w) => run.length >= w.length && (oneCase(w, run.slice(0, w.length)) || oneCase(w, run.slice(run.length - w.length))),
            ),
        );
}

const PLACEHOLDER_PASSWORDS = new Set([
    "pass",
    "password",
    "passwd",
    "pw",
    "pwd",
    "secret",
    "changeme",
    "postgres",
    "test",
    "example",
    "redacted",
    "dummy",
    "fake",
    "hunter2",
]);

/**
 * A URL password that is a stand-in: a template (`${password}`, `$PGPASSWORD`,
 * `<password>`, `%s`), masked (`****`, `xxx`), or a word such as `password` or `pw`.
 */
export function isPlaceholderPassword(password: string): boolean {
    return /[${}<>%*]/.test(password) || /^(x+|\.+)$/i.test(password) || PLACEHOLDER_PASSWORDS.has(password.toLowerCase());
}

/**
 * A host no secret is worth anything on: this machine (localhost, 127.x, ::1,
 * 0.0.0.0) or a name reserved for examples (example.com/.net/.org, .example,
 * .invalid, .test, .localhost).
 */
export function isPlaceholderHost(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, "");
    return (
        h === "localhost" ||
        h === "::1" ||
        h === "0.0.0.0" ||
        /^127\.\d+\.\d+\.\d+$/.test(h) ||
        /(^|\.)example\.(com|net|org)$/.test(h) ||
        /\.(example|invalid|test|localhost)$/.test(h)
    );
}

/** Everything on the line that looks like a secret, masked (the secret part never leaves this function). */
export function findSecrets(text: string, options: { urls?: boolean } = {}): SecretMatch[] {
    const found: SecretMatch[] = [];
    for (const rule of TOKENS) {
        for (const m of text.matchAll(rule.pattern)) {
            if (isPlaceholderToken(m[2])) continue;
            found.push({ kind: rule.kind, masked: `${m[1]}****`, column: m.index! + 1 });
        }
    }
    for (const m of text.matchAll(PRIVATE_KEY))
        found.push({ kind: "a private key", masked: `-----BEGIN ${m[1]}-----`, column: m.index! + 1 });
    for (const m of options.urls === false ? [] : text.matchAll(URL_WITH_PASSWORD)) {
        const [, scheme, user, password, host] = m;
        if (isPlaceholderPassword(password) || isPlaceholderHost(host)) continue;
        found.push({
            kind: "a URL with a password",
            masked: maskSecrets(`${scheme}${user}:${password}@${host}`, [password]),
            column: m.index! + 1,
        });
    }
    return found.sort((a, b) => a.column - b.column);
}

/**
 * Test files: a URL with a password there is a fixture (tests build connection
 * strings all the time), so only tokens and private keys are looked for.
 */
export const TEST_FILE = /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[^/]+$/;

/** Added text that looks like a secret, in any text file (in test files: tokens and private keys only). */
export function secretsIn(file: string, lines: AddedLine[]): Finding[] {
    const findings: Finding[] = [];
    const urls = !TEST_FILE.test(file);
    for (const { line, text } of lines) {
        if (text.includes(ALLOW_SECRET)) continue;
        for (const s of findSecrets(text, { urls })) {
            findings.push({
                level: "error",
                message: `${file}:${line}: looks like ${s.kind} (${s.masked})`,
                fix:
                    `take it out of the file (an environment variable, or npm run pulumi -- config set --secret) and stage the file again; ` +
                    `rotate it if it was ever pushed. A fixture that only looks like one: end the line with ${ALLOW_SECRET}`,
            });
        }
    }
    return findings;
}
