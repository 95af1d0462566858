/**
 * What `keel pr up --summary <file>` writes when a preview is up, and `keel pr comment --summary <file>` reads to
 * write the pull request's comment (comment.ts). Plain JSON: every field a string, number, boolean, array or
 * object of those, so the file is the object as JSON.stringify gives it. Pure: no Pulumi imports.
 */
import { KeelError } from "../errors";
import type { Finding } from "../preflight/index";
import type { MigrationSummary } from "../schema/summary";

/** The version of the file's shape; a reader refuses another. */
export const PREVIEW_SUMMARY_VERSION = 1;

/** A migration file the pull request adds (not applied on the base stack), with the parser's facts. */
export interface PreviewMigration extends MigrationSummary {
    /** What it does in one line, as `keel stack preview` lists a pending migration (describeSql): `CREATE TABLE orders (…) (+1 more statement)`. */
    description?: string;
}

export interface PreviewSummary {
    /** PREVIEW_SUMMARY_VERSION (1). */
    version: 1;
    /** The pull request's number. */
    pr: number;
    /** The preview's stack: previewStackName(pr), `pr-12`. */
    stack: string;
    /** The stack the preview was made from (`keel pr up --from`), e.g. `staging`. */
    base: string;
    /** The pull request's head branch (the Vercel variable's gitBranch). */
    branch: string;
    /** The commit the preview runs, when known. */
    headSha?: string;
    /** When `pr up` finished (ISO 8601, UTC). */
    updatedAt: string;
    /** When the preview is removed unless pushed to again (ISO 8601, UTC): the stack's keel:preview.expiresAt. */
    expiresAt: string;
    urls: {
        /** The preview backend's public URL (Fly app or Render service), when it has a backend. */
        backend?: string;
        /** The URL its health check probes. */
        health?: string;
        /** The frontend's preview deployment URL, when Keel knows it (Vercel builds it from the branch). */
        frontend?: string;
        /**
         * The Vercel project variable that points the branch's preview deployments at this backend
         * (VercelPreviewVariable): the base's project, its key (keel:frontend.backendUrlEnv) and the branch.
         */
        frontendVariable?: { project: string; key: string; gitBranch: string };
    };
    database: {
        /** What holds the preview's data: the Neon branch `preview/pr-12`, or the database `app_pr_12`. */
        name?: string;
        /** How it was filled (the base's keel:previews.data). */
        data?: "schema-only" | "seed" | "masked";
        /**
         * Set when this run dropped and recreated the preview's database because a migration it had applied was
         * edited since (its checksum changed): the edited file, e.g. `migrations/0005_add_orders.sql`.
         */
        recreatedFor?: string;
    };
    /** The migration files this pull request adds (pending against the base stack), in version order. */
    migrations: PreviewMigration[];
    /**
     * The preview's schema against the base stack's, as `keel schema diff <base> <stack>` prints it
     * (formatComparison's lines, joined with \n); absent when it was not compared.
     */
    schemaDiff?: string;
    /** The pre-commit checks' findings on the pull request's changes (components/precommit); the comment shows all but `ok`. */
    lint: Finding[];
}

/** A summary file that is missing, not JSON, or not in this shape. */
export class PreviewSummaryError extends KeelError {
    constructor(message: string) {
        super(message, "PreviewSummaryError");
    }
}

const isString = (v: unknown): v is string => typeof v === "string";
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const optional = (v: unknown, check: (x: unknown) => boolean) => v === undefined || check(v);
const LEVELS = ["error", "warning", "info", "ok"];
const strings = (v: unknown) => Array.isArray(v) && v.every(isString);

/** Every way `value` departs from PreviewSummary, as `field: what` ([] when none). */
export function previewSummaryProblems(value: unknown): string[] {
    const problems: string[] = [];
    const want = (ok: boolean, field: string, what: string) => void (ok || problems.push(`${field}: ${what}`));
    if (!isObject(value)) return ["the document: not a JSON object"];
    const v = value;
    want(v.version === PREVIEW_SUMMARY_VERSION, "version", `${JSON.stringify(v.version)}, not ${PREVIEW_SUMMARY_VERSION}`);
    want(typeof v.pr === "number" && Number.isSafeInteger(v.pr) && v.pr > 0, "pr", "not a pull request number");
    for (const f of ["stack", "base", "branch", "updatedAt", "expiresAt"]) want(isString(v[f]), f, "not a string");
    want(optional(v.headSha, isString), "headSha", "not a string");
    want(optional(v.schemaDiff, isString), "schemaDiff", "not a string");
    for (const f of ["updatedAt", "expiresAt"])
        want(!isString(v[f]) || !Number.isNaN(Date.parse(v[f] as string)), f, "not an ISO 8601 time");
    const urls = v.urls;
    if (!isObject(urls)) problems.push("urls: not an object");
    else {
        for (const f of ["backend", "health", "frontend"]) want(optional(urls[f], isString), `urls.${f}`, "not a string");
        const fv = urls.frontendVariable;
        want(
            optional(fv, (x) => isObject(x) && isString(x.project) && isString(x.key) && isString(x.gitBranch)),
            "urls.frontendVariable",
            "not { project, key, gitBranch } strings",
        );
    }
    const db = v.database;
    if (!isObject(db)) problems.push("database: not an object");
    else {
        want(optional(db.name, isString), "database.name", "not a string");
        want(optional(db.recreatedFor, isString), "database.recreatedFor", "not a string");
        want(
            optional(db.data, (x) => x === "schema-only" || x === "seed" || x === "masked"),
            "database.data",
            "not schema-only, seed or masked",
        );
    }
    if (!Array.isArray(v.migrations)) problems.push("migrations: not an array");
    else
        v.migrations.forEach((m: unknown, i) => {
            const ok =
                isObject(m) &&
                ["version", "name", "file", "checksum"].every((f) => isString(m[f])) &&
                typeof m.transaction === "boolean" &&
                typeof m.allowDestructive === "boolean" &&
                strings(m.destructive) &&
                optional(m.warnings, strings) &&
                optional(m.description, isString);
            want(
                ok,
                `migrations[${i}]`,
                "not a migration summary (version, name, file, checksum, transaction, allowDestructive, destructive)",
            );
        });
    if (!Array.isArray(v.lint)) problems.push("lint: not an array");
    else
        v.lint.forEach((f: unknown, i) => {
            const ok = isObject(f) && LEVELS.includes(f.level as string) && isString(f.message) && optional(f.fix, isString);
            want(ok, `lint[${i}]`, "not a finding ({ level: error|warning|info|ok, message, fix? })");
        });
    return problems;
}

/** The summary in `text` (from `file`, for messages); throws PreviewSummaryError naming every problem. */
export function parsePreviewSummary(text: string, file: string): PreviewSummary {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (err) {
        throw new PreviewSummaryError(
            `${file} is not JSON (${(err as Error).message}). Fix: pass the file \`keel pr up --summary <file>\` wrote, after it succeeded.`,
        );
    }
    const problems = previewSummaryProblems(value);
    if (problems.length)
        throw new PreviewSummaryError(
            `${file} is not a preview summary: ${problems.join("; ")}. Fix: pass the file \`keel pr up --summary <file>\` wrote ` +
                `(components/previews/summary.ts), with a Keel of the same version.`,
        );
    return value as PreviewSummary;
}
