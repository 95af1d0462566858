/**
 * The migrations directory: file naming, versions, checksums, directives and
 * the parser's facts for each file. Reads files; no database, no Pulumi.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../errors";
import { analyzeSql, DestructiveStatement, SqlStatement } from "./sql";

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

export interface MigrationFile {
    /** Numeric version as a canonical decimal string (no leading zeros). */
    version: string;
    name: string;
    /** File name inside the migrations directory. */
    file: string;
    /** sha256 of the file's bytes, hex. */
    checksum: string;
    directives: MigrationDirectives;
    statements: SqlStatement[];
    destructive: DestructiveStatement[];
}

export const MIGRATION_FILE_PATTERN = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)\.sql$/;
const DURATION = /^\d+\s*(us|ms|s|min|h|d)?$/;

/** True for a PostgreSQL duration such as `5s`, `250ms`, `10min` or a bare number of milliseconds. */
export function isPgDuration(value: string): boolean {
    return DURATION.test(value.trim());
}

export function checksumOf(bytes: Buffer | string): string {
    return createHash("sha256").update(bytes).digest("hex");
}

/** Compares two canonical version strings numerically. */
export function compareVersions(a: string, b: string): number {
    return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** Reads the directives from the file's leading comment lines. */
export function parseDirectives(text: string, file: string): MigrationDirectives {
    const directives: MigrationDirectives = { transaction: true, allowDestructive: false };
    const problems: string[] = [];
    for (const rawLine of text.split("\n")) {
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
                if (value) problems.push(`'-- keel:${name}' takes nothing after it (found '${value}'); put remarks on their own comment line`);
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

/** Parses one file's text into a MigrationFile. */
export async function migrationFromText(fileName: string, bytes: Buffer, displayPath = fileName): Promise<MigrationFile> {
    const m = MIGRATION_FILE_PATTERN.exec(fileName);
    if (!m) throw new MigrationFileError(`${displayPath}: name must be <version>_<name>.sql, for example 0001_create_users.sql.`);
    const text = bytes.toString("utf8");
    const directives = parseDirectives(text, displayPath);
    const { statements, destructive } = await analyzeSql(text, displayPath);
    if (directives.transaction) {
        const problems: string[] = [];
        for (const st of statements) {
            if (st.kind === "TransactionStmt") {
                problems.push(
                    `line ${st.line}: transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed: Keel runs each file in its own transaction. ` +
                        `Remove it, or start the file with '-- keel:no-transaction'`,
                );
            } else if (st.needsNoTransaction) {
                problems.push(
                    `line ${st.line}: this statement cannot run inside a transaction. Start the file with '-- keel:no-transaction' ` +
                        `(and keep such a file to the statements that need it)`,
                );
            }
        }
        if (problems.length) throw new MigrationFileError(`${displayPath}: ${problems.join("; ")}.`);
    }
    return {
        version: BigInt(m[1]).toString(),
        name: m[2],
        file: fileName,
        checksum: checksumOf(bytes),
        directives,
        statements,
        destructive,
    };
}

/**
 * Loads every migration in `dir`, ordered by version. Reports every naming,
 * duplicate-version, directive and syntax problem at once.
 */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err: any) {
        if (err.code === "ENOENT") {
            throw new MigrationFileError(
                `Migrations directory '${dir}' does not exist. Create it (mkdir -p ${dir}) or set keel:migrations.dir to the right path.`,
            );
        }
        throw err;
    }
    const problems: string[] = [];
    const byVersion = new Map<string, string>();
    const loads: Promise<MigrationFile | undefined>[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const name = entry.name;
        // Hidden files and READMEs may live beside the migrations.
        if (name.startsWith(".") || /^readme/i.test(name)) continue;
        const display = path.join(dir, name);
        if (!entry.isFile() || !MIGRATION_FILE_PATTERN.test(name)) {
            problems.push(`${display}: name must be <version>_<name>.sql (for example 0001_create_users.sql); rename or move it.`);
            continue;
        }
        const version = BigInt(MIGRATION_FILE_PATTERN.exec(name)![1]).toString();
        const other = byVersion.get(version);
        if (other) {
            problems.push(`${display}: version ${version} is also used by ${other}; give one of them a new version.`);
            continue;
        }
        byVersion.set(version, name);
        loads.push(
            migrationFromText(name, fs.readFileSync(display), display).catch((err) => {
                problems.push(err instanceof MigrationFileError ? err.message : `${display}: ${err.message}`);
                return undefined;
            }),
        );
    }
    const files = (await Promise.all(loads)).filter((f): f is MigrationFile => f !== undefined);
    if (problems.length) {
        throw new MigrationFileError(
            `The migrations in '${dir}' have ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing has been run:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
    }
    return files.sort((a, b) => compareVersions(a.version, b.version));
}
