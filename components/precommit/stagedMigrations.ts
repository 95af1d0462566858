/** Staged migration files: parsed and linted as preflight lints them, and checked against the order of those at HEAD. */
import * as path from "path";
import { MigrationFileError } from "../errors";
import { checkMigrationFiles, Finding, LintedFile, lintedFile } from "../preflight/index";
import { compareVersions, MAX_VERSION, MIGRATION_FILE_PATTERN, migrationSource, parseMigration } from "../schema/migrationSet";
import type { StagedChange } from "./gitDiff";

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
