/**
 * The names a pull request's preview gives what it makes, and how Keel knows its
 * own: a vendor object is a Keel preview's only when its name (or, for a Vercel
 * variable, its comment) has exactly one of these forms, so the reaper never
 * touches anything else. Pure: no Pulumi imports.
 */

/** The longest Fly app, Render service and PostgreSQL database name these names must fit in. */
const SERVICE_NAME_MAX = 63;
const DATABASE_NAME_MAX_BYTES = 63;

const PR = "([1-9][0-9]{0,8})";
const STACK = new RegExp(`^pr-${PR}$`);
const NEON_BRANCH = new RegExp(`^preview/pr-${PR}$`);
const GITHUB_ENVIRONMENT = new RegExp(`^preview-pr-${PR}$`);
const VERCEL_COMMENT = new RegExp(`^keel preview pr-${PR}$`);

/** A pull request number: a positive integer. */
export function isPullRequestNumber(n: unknown): n is number {
    return typeof n === "number" && Number.isSafeInteger(n) && n > 0 && n < 1e9;
}

function prOf(pattern: RegExp, name: string): number | undefined {
    const m = pattern.exec(name);
    return m ? Number(m[1]) : undefined;
}

export const previewStackName = (pr: number): string => `pr-${pr}`;
/** The pull request a stack is the preview of; undefined for any other stack. */
export const prOfStack = (stack: string): number | undefined => prOf(STACK, stack);

/** `<base>-pr-<n>`: the Fly app or Render service, the base's name cut so the whole fits. */
export function previewServiceName(base: string, pr: number): string {
    const suffix = `-pr-${pr}`;
    return base.slice(0, SERVICE_NAME_MAX - suffix.length).replace(/-+$/, "") + suffix;
}
/** The pull request a Fly app or Render service is the preview of, given the base's name; undefined when it is not one. */
export function prOfService(base: string, name: string): number | undefined {
    const m = /-pr-([1-9][0-9]{0,8})$/.exec(name);
    return m && previewServiceName(base, Number(m[1])) === name ? Number(m[1]) : undefined;
}

export const previewBranchName = (pr: number): string => `preview/pr-${pr}`;
export const prOfNeonBranch = (name: string): number | undefined => prOf(NEON_BRANCH, name);

export const previewEnvironmentName = (pr: number): string => `preview-pr-${pr}`;
export const prOfEnvironment = (name: string): number | undefined => prOf(GITHUB_ENVIRONMENT, name);

export const previewVariableComment = (pr: number): string => `keel preview pr-${pr}`;
export const prOfVariableComment = (comment: string | undefined): number | undefined =>
    comment === undefined ? undefined : prOf(VERCEL_COMMENT, comment);

/** `<db>_pr_<n>`, the base's database name cut so the whole fits PostgreSQL's 63 bytes. */
export function previewDatabaseName(db: string, pr: number): string {
    const suffix = `_pr_${pr}`;
    let base = db;
    while (Buffer.byteLength(base + suffix) > DATABASE_NAME_MAX_BYTES) base = [...base].slice(0, -1).join("");
    return base + suffix;
}
