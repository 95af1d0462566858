/**
 * Keel's errors. Every message says what is wrong and how to fix it; the class
 * says which part of Keel raised it, so scripts can exit with a clear line.
 */
export class KeelError extends Error {
    constructor(message: string, name = "KeelError") {
        super(message);
        this.name = name;
        KEEL_ERROR_NAMES.add(name);
    }
}

/**
 * The names of Keel's errors seen in this process. In a dynamic provider's process,
 * tools/pluginPreload.js leaves out the SDK's dump of such an error (its message and
 * stack, twice over) since the engine prints the message itself as the step's error.
 */
const KEEL_ERROR_NAMES: Set<string> = ((globalThis as { __keelErrorNames?: Set<string> }).__keelErrorNames ??= new Set<string>());

/** Stack configuration that does not validate; lists every problem at once. */
export class ConfigError extends KeelError {
    constructor(
        readonly stack: string,
        readonly problems: ConfigProblem[],
    ) {
        super(
            `Stack '${stack}' has ${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n"),
            "ConfigError",
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
export class MigrationFileError extends KeelError {
    constructor(message: string) {
        super(message, "MigrationFileError");
    }
}

/** The history in the database disagrees with the files (edited, deleted, out of order, failed). */
export class MigrationHistoryError extends KeelError {
    constructor(message: string) {
        super(message, "MigrationHistoryError");
    }
}

/** A migration failed while it ran. */
export class MigrationRunError extends KeelError {
    constructor(message: string) {
        super(message, "MigrationRunError");
    }
}

/** The database connection is unusable for migrations (pooled URL, unreachable, lock held). */
export class DatabaseConnectionError extends KeelError {
    constructor(message: string) {
        super(message, "DatabaseConnectionError");
    }
}

/**
 * How to delete a protected object on purpose, or stop managing it: the same
 * three steps for every kind (Neon database, Fly app, Render service).
 */
export function protectedDeletionFix(stack: string, allowDeleteKey: string): string {
    return (
        `To delete it on purpose: (1) npm run pulumi -- config set --path ${allowDeleteKey} true --stack ${stack}; ` +
        `(2) KEEL_SKIP_POLICY=1 npm run up -- ${stack} (records allowDelete and lifts Pulumi's protect and retainOnDelete; the policy pack refuses ` +
        `unprotected prod resources, so this one update runs without it); (3) npm run destroy -- ${stack}. ` +
        `To stop managing it and keep it instead, remove it from the state: npm run pulumi -- state delete '<urn>' --stack ${stack} ` +
        `(npm run pulumi -- stack --show-urns --stack ${stack} lists the URNs).`
    );
}
