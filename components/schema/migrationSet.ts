/**
 * The migrations directory: file naming, versions, checksums, directives and
 * the parser's facts for each file. Reads files; no database, no Pulumi.
 */
import { isPgDuration } from "../postgres/duration";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../errors";
import { splitLines } from "./pgLexer";
import { AnalyzeOptions, analyzeSql, BreakingStatement, decodeSqlFile, DestructiveStatement, IntroducedObject, SqlStatement } from "./sql";

export interface MigrationDirectives {
    /** False when the file starts with `-- keel:no-transaction`. */
    transaction: boolean;
    /** From `-- keel:lock-timeout <duration>`; overrides config. */
    lockTimeout?: string;
    /** From `-- keel:statement-timeout <duration>`; overrides config. */
    statementTimeout?: string;
    /** `-- keel:allow-destructive`: the author accepts the destructive statements. */
    allowDestructive: boolean;
}

/** A migration file as read from disk: identity, checksum, directives. Cheap: no SQL parsing. */
export interface MigrationSource {
    /** Numeric version as a canonical decimal string (no leading zeros). */
    version: string;
    name: string;
    /** File name inside the migrations directory. */
    file: string;
    /** The path used in messages (directory and file name). */
    path: string;
    /** sha256 of the file's bytes, hex. */
    checksum: string;
    text: string;
    directives: MigrationDirectives;
}

/** A lint finding that does not stop the file, shown like a destructive statement. */
export interface LintWarning {
    line: number;
    what: string;
}

/** A migration parsed by the PostgreSQL parser: its statements and lint facts. */
export interface MigrationFile extends MigrationSource {
    statements: SqlStatement[];
    destructive: DestructiveStatement[];
    /** What code written before this file may not survive (sql.ts oldCodeBreaks): what a rollback keeping the schema checks. */
    breaking: BreakingStatement[];
    /** The tables, views and columns it creates (sql.ts introducedObjects). */
    introduces: IntroducedObject[];
    /** For example a use of an enum value that ALTER TYPE … ADD VALUE adds in the same transaction. */
    warnings: LintWarning[];
}

export function isParsed(f: MigrationSource): f is MigrationFile {
    return Array.isArray((f as MigrationFile).statements);
}

export const MIGRATION_FILE_PATTERN = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)\.sql$/;
export { isPgDuration };

export function checksumOf(bytes: Buffer | string): string {
    return createHash("sha256").update(bytes).digest("hex");
}

/** Compares two canonical version strings numerically. */
export function compareVersions(a: string, b: string): number {
    return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** Reads the directives from the file's leading comment lines (a line ends at \r\n, \n or \r, as a `--` comment does). */
export function parseDirectives(text: string, file: string): MigrationDirectives {
    const directives: MigrationDirectives = { transaction: true, allowDestructive: false };
    const problems: string[] = [];
    for (const rawLine of splitLines(text)) {
        const line = rawLine.trim();
        if (line === "") continue;
        if (!line.startsWith("--")) break; // the leading comment block ends at the first statement
        const m = /^--\s*keel:([a-z-]+)(.*)$/.exec(line);
        if (!m) continue;
        const [, name, arg] = m;
        const value = arg.trim();
        switch (name) {
            case "no-transaction":
            case "allow-destructive":
                // A flag takes no argument: '-- keel:no-transaction, except…' is more likely a sentence than a directive.
                if (value)
                    problems.push(`'-- keel:${name}' takes nothing after it (found '${value}'); put remarks on their own comment line`);
                else if (name === "no-transaction") directives.transaction = false;
                else directives.allowDestructive = true;
                break;
            case "lock-timeout":
            case "statement-timeout":
                if (!isPgDuration(value)) {
                    problems.push(`'-- keel:${name} ${value}' needs a duration such as 5s, 250ms or 10min`);
                } else if (name === "lock-timeout") directives.lockTimeout = value;
                else directives.statementTimeout = value;
                break;
            default:
                problems.push(
                    `unknown directive '-- keel:${name}' (known: no-transaction, lock-timeout, statement-timeout, allow-destructive)`,
                );
        }
    }
    if (problems.length) throw new MigrationFileError(`${file}: ${problems.join("; ")}.`);
    return directives;
}

/** Reads one file's identity and directives; throws MigrationFileError naming the file. */
export function migrationSource(fileName: string, bytes: Buffer, displayPath = fileName): MigrationSource {
    const m = MIGRATION_FILE_PATTERN.exec(fileName);
    if (!m) throw new MigrationFileError(`${displayPath}: name must be <version>_<name>.sql, for example 0001_create_users.sql.`);
    // A NUL byte or bytes that are not UTF-8 refuse the file here; a leading BOM is skipped, as psql skips it.
    const text = decodeSqlFile(bytes, displayPath);
    return {
        version: BigInt(m[1]).toString(),
        name: m[2],
        file: fileName,
        path: displayPath,
        checksum: checksumOf(bytes),
        text,
        directives: parseDirectives(text, displayPath),
    };
}

/** Parses one source with the PostgreSQL parser and checks it fits its transaction mode. */
export async function parseMigration(source: MigrationSource, options: AnalyzeOptions = {}): Promise<MigrationFile> {
    if (isParsed(source)) return source;
    const { statements, destructive, breaking, introduces, enumValueUses } = await analyzeSql(source.text, source.path, options);
    if (source.directives.transaction) {
        const problems: string[] = [];
        for (const st of statements) {
            if (st.kind === "TransactionStmt") {
                problems.push(
                    `line ${st.line}: transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed: Keel runs each file in its own transaction. ` +
                        `Remove it, or start the file with '-- keel:no-transaction'`,
                );
            } else if (st.needsNoTransaction) {
                problems.push(
                    `line ${st.line}: this statement cannot run inside a transaction${st.refusedAs ? ` (PostgreSQL refuses ${st.refusedAs} in one)` : ""}. ` +
                        `Start the file with '-- keel:no-transaction' ` +
                        `(and keep such a file to the statements that need it)`,
                );
            }
        }
        if (problems.length) throw new MigrationFileError(`${source.path}: ${problems.join("; ")}.`);
    }
    // Without a transaction every statement commits on its own, so a new enum value is usable by the next one.
    const warnings: LintWarning[] = source.directives.transaction
        ? enumValueUses.map((u) => ({
              line: u.line,
              what:
                  `uses '${u.value}', added by ALTER TYPE ${u.type} ADD VALUE at line ${u.addedAt} in the same transaction: ` +
                  `PostgreSQL refuses that (unsafe use of new value) until the value is committed. ` +
                  `Move the ALTER TYPE into an earlier migration (or this file to '-- keel:no-transaction')`,
          }))
        : [];
    return { ...source, statements, destructive, breaking, introduces, warnings };
}

/** Parses one file's text into a MigrationFile. */
export async function migrationFromText(fileName: string, bytes: Buffer, displayPath = fileName): Promise<MigrationFile> {
    return parseMigration(migrationSource(fileName, bytes, displayPath));
}

export function problemReport(where: string, problems: string[]): MigrationFileError {
    return new MigrationFileError(
        `The migrations in '${where}' have ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing has been run:\n` +
            problems.map((p) => `  - ${p}`).join("\n"),
    );
}

/** The largest version the history table can hold: PostgreSQL's bigint. */
export const MAX_VERSION = 9223372036854775807n;

/**
 * Why an entry named like a migration cannot be read as one, or undefined when
 * it is a regular file or a symbolic link to one (followed, as git checks them out).
 */
function notARegularFile(full: string, entry: fs.Dirent): string | undefined {
    if (entry.isDirectory()) return "is a directory, not a migration file; move it out of the migrations directory or rename it.";
    if (!entry.isSymbolicLink()) return "is not a regular file (a socket, FIFO or device); move it out of the migrations directory.";
    const target = fs.readlinkSync(full);
    let stat: fs.Stats;
    try {
        stat = fs.statSync(full);
    } catch (err: any) {
        if (err.code === "ENOENT" || err.code === "ENOTDIR") {
            return `is a symbolic link to ${target}, which does not exist (a dangling link); point it at the migration file or remove it.`;
        }
        if (err.code === "ELOOP")
            return `is a symbolic link to ${target}, which loops back on itself; point it at the migration file or remove it.`;
        return `is a symbolic link to ${target}, which cannot be read (${err.code ?? err.message}); fix or remove the link.`;
    }
    if (stat.isFile()) return undefined;
    if (stat.isDirectory()) return `is a symbolic link to a directory (${target}), not to a migration file; remove the link.`;
    return `is a symbolic link to ${target}, which is not a regular file; point it at the migration file or remove it.`;
}

/**
 * Reads the directory: the usable sources, and every problem with the rest.
 * `display` is how messages name the directory (the configured, relative path).
 */
export function readMigrationDir(dir: string, display = dir): { sources: MigrationSource[]; problems: string[] } {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err: any) {
        if (err.code === "ENOENT") {
            throw new MigrationFileError(
                `Migrations directory '${display}' does not exist. Create it (mkdir -p ${display}) or set keel:migrations.dir to the right path.`,
            );
        }
        if (err.code === "ENOTDIR") {
            throw new MigrationFileError(
                `Migrations directory '${display}' is a file, not a directory. Set keel:migrations.dir to the directory that holds the migration files.`,
            );
        }
        throw err;
    }
    const problems: string[] = [];
    const byVersion = new Map<string, string>();
    const sources: MigrationSource[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const name = entry.name;
        // Hidden files and READMEs may live beside the migrations.
        if (name.startsWith(".") || /^readme/i.test(name)) continue;
        const shown = path.join(display, name);
        const m = MIGRATION_FILE_PATTERN.exec(name);
        if (!m) {
            problems.push(`${shown}: name must be <version>_<name>.sql (for example 0001_create_users.sql); rename or move it.`);
            continue;
        }
        const notAFile = entry.isFile() ? undefined : notARegularFile(path.join(dir, name), entry);
        if (notAFile) {
            problems.push(`${shown}: ${notAFile}`);
            continue;
        }
        const value = BigInt(m[1]);
        const version = value.toString();
        if (value > MAX_VERSION) {
            problems.push(
                `${shown}: version ${version} is above the largest version, ${MAX_VERSION} (the history table keeps versions as PostgreSQL bigint). ` +
                    `Give it a smaller version, for example a UTC timestamp such as 20240101120000.`,
            );
            continue;
        }
        const other = byVersion.get(version);
        if (other) {
            problems.push(`${shown}: version ${version} is also used by ${other}; give one of them a new version.`);
            continue;
        }
        byVersion.set(version, name);
        try {
            // readFileSync follows a symbolic link: the migration is the target's bytes under the link's name.
            sources.push(migrationSource(name, fs.readFileSync(path.join(dir, name)), shown));
        } catch (err: any) {
            problems.push(err instanceof MigrationFileError ? err.message : `${shown}: ${err.message}`);
        }
    }
    return { sources: sources.sort((a, b) => compareVersions(a.version, b.version)), problems };
}

/**
 * Reads every migration in `dir` (names, versions, checksums, directives),
 * ordered by version, without parsing SQL. Reports every problem at once.
 */
export function scanMigrations(dir: string): MigrationSource[] {
    const { sources, problems } = readMigrationDir(dir);
    if (problems.length) throw problemReport(dir, problems);
    return sources;
}

/** The directory the sources were read from, as their paths show it (readMigrationDir joins it to each name). */
function directoryOf(sources: MigrationSource[]): string {
    const dirs = [...new Set(sources.map((s) => path.dirname(s.path)))];
    return dirs.join("', '");
}

/**
 * Parses sources one after another (memory stays flat with thousands of
 * files) and reports every syntax or transaction-mode problem at once.
 * `where` names the directory in the report; by default the one in the sources' paths.
 */
export async function parseMigrations(
    sources: MigrationSource[],
    where = directoryOf(sources),
    earlier: string[] = [],
): Promise<MigrationFile[]> {
    const problems: string[] = [...earlier];
    const files: MigrationFile[] = [];
    for (const source of sources) {
        try {
            files.push(await parseMigration(source));
        } catch (err: any) {
            problems.push(err instanceof MigrationFileError ? err.message : `${source.path}: ${err.message}`);
        }
    }
    if (problems.length) throw problemReport(where, problems);
    return files;
}

/** Scans and parses every migration in `dir`. */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
    const { sources, problems } = readMigrationDir(dir);
    return parseMigrations(sources, dir, problems);
}
