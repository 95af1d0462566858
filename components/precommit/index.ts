/**
 * What the pre-commit hook (`.githooks/pre-commit`, turned on by `npm run hooks:install`)
 * decides about the staged changes: migration files parsed and linted as preflight
 * lints them, debug leftovers in added code lines, and added text that looks like a
 * secret. No git and no files here: scripts/preCommit.ts reads the index and hands
 * the facts over (staged bytes through a callback), these functions say what they mean.
 */
import * as path from "path";
import { MigrationFileError } from "../errors";
import { checkMigrationFiles, Finding, LintedFile, lintedFile, maskSecrets } from "../preflight/index";
import { compareVersions, MAX_VERSION, MIGRATION_FILE_PATTERN, migrationSource, parseMigration } from "../schema/migrationSet";

/** One entry of `git diff --cached --name-status -z -M`. */
export interface StagedChange {
    /** A added, C copied, D deleted, M modified, R renamed, T type changed, U unmerged. */
    status: string;
    /** The path in the index (for D: the deleted path). */
    path: string;
    /** R and C: where it came from. */
    from?: string;
}

export function parseNameStatus(output: string): StagedChange[] {
    const parts = output.split("\0");
    const changes: StagedChange[] = [];
    for (let i = 0; i < parts.length;) {
        const code = parts[i++];
        if (!code) continue;
        const status = code[0];
        if (status === "R" || status === "C") {
            const from = parts[i++];
            changes.push({ status, path: parts[i++], from });
        } else changes.push({ status, path: parts[i++] });
    }
    return changes;
}

/** A line the commit adds: its number in the staged file and its text (without the line end). */
export interface AddedLine {
    line: number;
    text: string;
}

/**
 * The added lines of each file in a unified diff (`git diff --cached -U0
 * --src-prefix=a/ --dst-prefix=b/`), keyed by the staged path. Binary files have
 * no hunks, so they have no lines here.
 */
export function addedLines(patch: string): Map<string, AddedLine[]> {
    const files = new Map<string, AddedLine[]>();
    let current: AddedLine[] | undefined;
    let inHeader = false;
    let next = 0;
    for (const raw of patch.split("\n")) {
        if (raw.startsWith("diff --git ")) {
            current = undefined;
            inHeader = true;
            continue;
        }
        if (inHeader) {
            if (raw.startsWith("+++ ")) {
                const name = unquotePath(raw.slice(4));
                current = undefined;
                if (name.startsWith("b/")) {
                    current = files.get(name.slice(2)) ?? [];
                    files.set(name.slice(2), current);
                }
                continue;
            }
            if (!raw.startsWith("@@")) continue;
            inHeader = false;
        }
        const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
        if (hunk) {
            next = Number(hunk[1]);
            continue;
        }
        if (!current) continue;
        if (raw.startsWith("+")) current.push({ line: next++, text: raw.slice(1).replace(/\r$/, "") });
        else if (raw.startsWith(" ")) next++;
    }
    return files;
}

/** A path as git prints it in a diff header: C-quoted ("a\tb", octal bytes) when it holds unusual characters. */
export function unquotePath(s: string): string {
    s = s.replace(/\t$/, "");
    if (!s.startsWith('"') || !s.endsWith('"') || s.length < 2) return s;
    const bytes: number[] = [];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '"': 34, "\\": 92 };
    const body = s.slice(1, -1);
    for (let i = 0; i < body.length; i++) {
        const c = body[i];
        if (c !== "\\") {
            bytes.push(...Buffer.from(c, "utf8"));
            continue;
        }
        const e = body[++i];
        if (/[0-7]/.test(e)) {
            bytes.push(parseInt(body.slice(i, i + 3), 8));
            i += 2;
        } else bytes.push(simple[e] ?? e.charCodeAt(0));
    }
    return Buffer.from(bytes).toString("utf8");
}

// ---------------------------------------------------------------- debug leftovers

/** Files whose added lines are checked for debug leftovers. */
export const CODE_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

/** On a line, this marker keeps the debug-leftover check quiet (for a console.log that is meant). */
export const ALLOW_DEBUG = "keel:allow-debug";
/** On a line, this marker keeps the secret check quiet (for a fixture that only looks like a secret). */
export const ALLOW_SECRET = "keel:allow-secret";

/** Where printing with console.log is the point: the benchmarks and the build tools report on the console. */
export const CONSOLE_PROGRAMS = /^(bench|tools)\//;

const LEFTOVERS: { what: string; pattern: RegExp; allowedIn?: RegExp }[] = [
    { what: "console.log(", pattern: /\bconsole\s*\.\s*log\s*\(/, allowedIn: CONSOLE_PROGRAMS },
    { what: "debugger;", pattern: /(^|[^\w$.])debugger\s*(;|$)/ },
    { what: ".only(", pattern: /\b(describe|context|suite|it|test|specify)\s*\.\s*only\s*\(/ },
];

/**
 * A line of JavaScript/TypeScript with its string literals emptied and its
 * comments removed, so that a leftover is found in code, not in a message or a
 * remark that names it. A line that continues a block comment (` * …`) is all comment.
 * Line by line: a string or comment that spans lines is seen only where it starts.
 */
export function codeOf(line: string): string {
    if (/^\s*(\*|\/\*)/.test(line)) return "";
    let out = "";
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "/" && line[i + 1] === "/") break;
        if (c === "/" && line[i + 1] === "*") {
            const end = line.indexOf("*/", i + 2);
            if (end < 0) break;
            out += " ";
            i = end + 1;
            continue;
        }
        if (c === '"' || c === "'" || c === "`") {
            let j = i + 1;
            while (j < line.length && line[j] !== c) j += line[j] === "\\" ? 2 : 1;
            out += c + c;
            i = j;
            continue;
        }
        out += c;
    }
    return out;
}

/** `console.log(`, `debugger;` and `.only(` on the added lines of a code file. */
export function debugLeftovers(file: string, lines: AddedLine[]): Finding[] {
    if (!CODE_FILE.test(file)) return [];
    const findings: Finding[] = [];
    for (const { line, text } of lines) {
        if (text.includes(ALLOW_DEBUG)) continue;
        const code = codeOf(text);
        for (const l of LEFTOVERS) {
            if (l.allowedIn?.test(file) || !l.pattern.test(code)) continue;
            findings.push({
                level: "error",
                message: `${file}:${line}: debug leftover '${l.what}'`,
                fix: `remove it (a line that means it ends with // ${ALLOW_DEBUG})`,
            });
        }
    }
    return findings;
}

// ---------------------------------------------------------------- secrets

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

// ---------------------------------------------------------------- migrations

/** A stack's keel:migrations as far as the hook needs it. */
export interface StackMigrations {
    stack: string;
    dir: string;
    outOfOrder: boolean;
}

export interface StagedMigrationsInput {
    /** The migrations directory, relative to the repository's top, `/`-separated, no trailing slash. */
    dir: string;
    /** Every staged change (those outside `dir` are ignored). */
    changes: StagedChange[];
    /** File names directly in `dir` in the index (what the commit will hold). */
    indexNames: string[];
    /** File names directly in `dir` at HEAD; undefined before the first commit. */
    headNames?: string[];
    /** The stacks whose keel:migrations.dir is `dir` (none: the defaults, out of order refused). */
    stacks: StackMigrations[];
    /** The staged bytes of a path. */
    read(path: string): Buffer;
}

function versionOf(name: string): string | undefined {
    const m = MIGRATION_FILE_PATTERN.exec(name);
    return m ? BigInt(m[1]).toString() : undefined;
}

function newestOf(names: string[]): { version: string; name: string } | undefined {
    let newest: { version: string; name: string } | undefined;
    for (const name of names) {
        const version = versionOf(name);
        if (version && (!newest || compareVersions(version, newest.version) > 0)) newest = { version, name };
    }
    return newest;
}

function messageOf(err: unknown, where: string): string {
    return err instanceof MigrationFileError ? err.message : `${where}: ${(err as any)?.message ?? err}`;
}

/**
 * The staged migration files of one directory: names and versions, directives,
 * syntax and transaction mode (the parser's messages, file:line:column), a
 * destructive statement without `-- keel:allow-destructive` (an error, as on
 * staging and prod), a new file older than the newest committed one unless every
 * stack using the directory allows out-of-order files. Committed files that are
 * edited, renamed or deleted get a warning: a stack that applied them refuses that.
 */
export async function checkStagedMigrations(input: StagedMigrationsInput): Promise<Finding[]> {
    const { dir } = input;
    const inDir = (p: string | undefined) => p !== undefined && path.posix.dirname(p) === dir;
    const head = new Set(input.headNames ?? []);
    const headVersions = new Map<string, string>();
    for (const name of head) {
        const v = versionOf(name);
        if (v) headVersions.set(v, name);
    }
    const newest = newestOf([...head]);
    const problems: string[] = [];
    const files: LintedFile[] = [];
    const findings: Finding[] = [];
    const applied = "a stack that has applied it refuses that at preview (applied files must not change)";

    for (const c of input.changes) {
        const fromName = c.from && path.posix.basename(c.from);
        if (c.status === "D" && inDir(c.path) && head.has(path.posix.basename(c.path))) {
            findings.push({
                level: "warning",
                message: `${c.path}: a committed migration is deleted; ${applied}`,
                fix: `keep the file (git restore --staged --worktree ${c.path}) unless no stack has applied it`,
            });
        }
        if (c.status === "R" && inDir(c.from) && head.has(fromName!)) {
            findings.push({
                level: "warning",
                message: `${c.from} is renamed to ${c.path}; ${applied}`,
                fix: `keep the committed name unless no stack has applied it`,
            });
        }
        if (c.status === "D" || !inDir(c.path)) continue;
        const name = path.posix.basename(c.path);
        // Hidden files and READMEs may live beside the migrations (as readMigrationDir allows).
        if (name.startsWith(".") || /^readme/i.test(name)) continue;
        let source;
        try {
            source = migrationSource(name, input.read(c.path), c.path);
        } catch (err) {
            problems.push(messageOf(err, c.path));
            continue;
        }
        const { version } = source;
        if (BigInt(version) > MAX_VERSION) {
            findings.push({
                level: "error",
                message: `${c.path}: version ${version} is above the largest version, ${MAX_VERSION} (the history keeps versions as PostgreSQL bigint)`,
                fix: `give it a smaller version, for example a UTC timestamp such as 20240101120000 (npm run schema:new -- <name> picks one)`,
            });
            continue;
        }
        const twin = input.indexNames.find((n) => n !== name && versionOf(n) === version);
        if (twin) {
            findings.push({
                level: "error",
                message: `${c.path}: version ${version} is also used by ${dir}/${twin}`,
                fix: "give one of them a new version (git mv it)",
            });
        }
        const committedAs = headVersions.get(version);
        if (committedAs === name && c.status !== "A") {
            findings.push({
                level: "warning",
                message: `${c.path}: a committed migration is edited; ${applied}`,
                fix: `put the change in a new migration (npm run schema:new -- <name>) unless no stack has applied ${name}`,
            });
        }
        if (!committedAs && newest && compareVersions(version, newest.version) < 0) {
            const refusing = input.stacks.filter((s) => !s.outOfOrder).map((s) => s.stack);
            if (!input.stacks.length || refusing.length) {
                findings.push({
                    level: "error",
                    message:
                        `${c.path}: version ${version} is older than ${dir}/${newest.name}, the newest committed migration: ` +
                        `a database that has applied ${newest.version} refuses it ` +
                        (refusing.length
                            ? `(keel:migrations.outOfOrder is off on ${refusing.join(", ")})`
                            : "(keel:migrations.outOfOrder is off by default)"),
                    fix:
                        `give it a version newer than ${newest.version} (git mv; npm run schema:new -- <name> picks one), ` +
                        `or let ${refusing.length ? "those stacks" : "every stack"} run files out of order: ` +
                        `npm run pulumi -- config set --path keel:migrations.outOfOrder true --stack <stack>`,
                });
            }
        }
        try {
            files.push(lintedFile(await parseMigration(source)));
        } catch (err) {
            problems.push(messageOf(err, c.path));
        }
    }
    if (!problems.length && !files.length) return findings;
    // The same verdicts as preflight on staging and prod: a destructive file without the directive is an error.
    const check = checkMigrationFiles({ stage: "prod", dir, files, problems });
    return [...findings, ...check.findings.filter((f) => f.level === "error" || f.level === "warning")];
}

// ---------------------------------------------------------------- the report

/** How to commit anyway, printed under every refusal. */
export const BYPASS = "git commit --no-verify";

/** The hook's output: each problem (✗) and warning (!) with its fix, then what to do; empty when there is nothing to say. */
export function formatHookReport(findings: Finding[], checkedFiles: number): string[] {
    const errors = findings.filter((f) => f.level === "error").length;
    const warnings = findings.filter((f) => f.level === "warning").length;
    const lines: string[] = [];
    if (!errors && !warnings) return [`pre-commit: ${checkedFiles} staged file${checkedFiles === 1 ? "" : "s"} checked, no problems`];
    lines.push(
        errors
            ? `pre-commit: ${errors} problem${errors === 1 ? "" : "s"} in the staged changes; nothing was committed:`
            : `pre-commit: ${warnings} warning${warnings === 1 ? "" : "s"} about the staged changes (committing anyway):`,
    );
    for (const level of ["error", "warning"] as const) {
        for (const f of findings.filter((x) => x.level === level)) {
            lines.push(`${level === "error" ? "✗" : "!"} ${f.message}`);
            if (f.fix) lines.push(`    fix: ${f.fix}`);
        }
    }
    if (errors) {
        lines.push(`Fix the files and stage them again (git add), then commit. To commit anyway, once and on purpose: ${BYPASS}`);
    }
    return lines;
}
