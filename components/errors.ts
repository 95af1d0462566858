/**
 * Keel's errors. Every message says what is wrong and how to fix it; the class
 * says which part of Keel raised it, so scripts can exit with a clear line.
 */
export class KeelError extends Error {
    constructor(message: string) {
        super(message);
        this.name = new.target.name;
    }
}

/** Stack configuration that does not validate; lists every problem at once. */
export class ConfigError extends KeelError {
    constructor(
        readonly stack: string,
        readonly problems: ConfigProblem[],
    ) {
        super(
            `Stack '${stack}' has ${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n"),
        );
    }
}

export interface ConfigProblem {
    /** The config key path, for example `keel:migrations.lockTimeout`. */
    key: string;
    message: string;
    /** The command (or edit) that fixes it. */
    fix: string;
}

/** A migrations directory or file that cannot be used as it is. */
export class MigrationFileError extends KeelError {}

/** The history in the database disagrees with the files (edited, deleted, out of order, failed). */
export class MigrationHistoryError extends KeelError {}

/** A migration failed while it ran. */
export class MigrationRunError extends KeelError {}

/** The database connection is unusable for migrations (pooled URL, unreachable, lock held). */
export class DatabaseConnectionError extends KeelError {}
