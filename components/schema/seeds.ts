/**
 * Seeds: sample data for a dev database, the `*.sql` files of a directory
 * (`db/seeds/`) run in name order, each in one transaction. They are read and
 * split by the migrations' parser (sql.ts: the same byte checks, statements
 * where PostgreSQL's grammar puts them, a syntax error named by file, line and
 * column) and run by the migrations' runner (runFileInTransaction: one message
 * per file, a failing statement named by file and line). Every file is parsed
 * before the first one runs. Nothing is recorded: a seed runs each time it is
 * asked to, so `npm run dev:reset` runs them on an empty database and a seed
 * meant to be run again by `npm run dev:seed` says ON CONFLICT DO NOTHING.
 * db:reset's sanitization file runs the same way (runSqlFile).
 */
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../errors";
import { openClient } from "../postgres/connection";
import { runFileInTransaction } from "./runner";
import { analyzeSql, decodeSqlFile, type SqlStatement } from "./sql";

/** A seed that cannot be read or parsed, or failed while it ran. */
export class SeedError extends KeelError {
    constructor(message: string) {
        super(message, "SeedError");
    }
}

/** Where seeds live unless a command is told otherwise. */
export const DEFAULT_SEEDS_DIR = "db/seeds";

export interface SeedFile {
    /** The file name inside the seeds directory. */
    name: string;
    /** The path messages use (the directory as given, and the name). */
    path: string;
    statements: SqlStatement[];
}

export interface SeedSettings {
    /** `SET LOCAL lock_timeout` and `statement_timeout` per file (the stack's keel:migrations values). */
    lockTimeout: string;
    statementTimeout: string;
}

/**
 * Reads and parses every seed of `dir` (`display` names it in messages), in
 * name order; none when the directory does not exist. Every problem of every
 * file is reported at once, and then nothing runs.
 */
export async function loadSeeds(dir: string, display = dir): Promise<SeedFile[]> {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err: any) {
        if (err.code === "ENOENT") return [];
        throw err;
    }
    const problems: string[] = [];
    const seeds: SeedFile[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (entry.name.startsWith(".") || !entry.name.endsWith(".sql")) continue;
        const shown = path.join(display, entry.name);
        const full = path.join(dir, entry.name);
        try {
            // A symbolic link is read through (as git checks it out); a directory is a mistake worth naming.
            if (!fs.statSync(full).isFile()) {
                problems.push(`${shown}: is not a file; move it out of the seeds directory.`);
                continue;
            }
            const statements = await oneTransactionStatements(decodeSqlFile(fs.readFileSync(full), shown), shown, "seed", problems);
            if (statements) seeds.push({ name: entry.name, path: shown, statements });
        } catch (err: any) {
            problems.push(err instanceof KeelError ? err.message : `${shown}: ${err?.message ?? err}`);
        }
    }
    if (problems.length) {
        throw new SeedError(
            `The seeds in '${display}' have ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing has been run:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
    }
    return seeds;
}

/**
 * A file's statements, split by the migrations' parser, for running in one
 * transaction: transaction control and statements PostgreSQL refuses in a
 * transaction block are added to `problems` by file and line (undefined then).
 */
async function oneTransactionStatements(
    text: string,
    shown: string,
    what: string,
    problems: string[],
): Promise<SqlStatement[] | undefined> {
    const { statements } = await analyzeSql(text, shown);
    const refused = statements.filter((s) => s.kind === "TransactionStmt" || s.needsNoTransaction);
    for (const s of refused) {
        problems.push(
            s.kind === "TransactionStmt"
                ? `${shown}:${s.line}: transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed: the ${what} runs in one transaction. Remove it.`
                : `${shown}:${s.line}: ${s.refusedAs ?? "this statement"} cannot run inside a transaction, and the ${what} runs in one. Leave it to a migration.`,
        );
    }
    return refused.length ? undefined : statements;
}

/**
 * One SQL file (`text`, named `file` in messages) in one transaction on the
 * database at `url`: parsed first, then run as a seed is, so a failing
 * statement is named by file and line and nothing of the file stays.
 */
export async function runSqlFile(url: string, file: string, text: string, settings: SeedSettings): Promise<void> {
    const problems: string[] = [];
    const statements = await oneTransactionStatements(text, file, "file", problems);
    if (!statements) throw new SeedError(`${file} cannot run; nothing has been run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    const client = await openClient(url, { applicationName: "keel-sql-file" });
    try {
        await runFileInTransaction(
            client,
            { file, statements },
            {
                ...settings,
                rolledBack: "Its transaction was rolled back: nothing of the file was applied.",
                error: SeedError,
                directives: false,
            },
        );
    } finally {
        await client.end().catch(() => undefined);
    }
}

/**
 * Runs the seeds in order, each in one transaction, on one connection. A seed
 * that fails is rolled back and stops the run: the error names its file and
 * line and says which seeds before it stay applied.
 */
export async function runSeeds(
    url: string,
    seeds: SeedFile[],
    settings: SeedSettings,
    progress: (line: string) => void = () => undefined,
): Promise<{ ran: { path: string; statements: number; ms: number }[] }> {
    const ran: { path: string; statements: number; ms: number }[] = [];
    if (!seeds.length) return { ran };
    const client = await openClient(url, { applicationName: "keel-seed" });
    try {
        for (const seed of seeds) {
            const started = Date.now();
            await runFileInTransaction(
                client,
                { file: seed.path, statements: seed.statements },
                {
                    lockTimeout: settings.lockTimeout,
                    statementTimeout: settings.statementTimeout,
                    rolledBack:
                        `The seed's transaction was rolled back` +
                        (ran.length
                            ? `; the seeds before it stay applied (${ran.map((r) => path.basename(r.path)).join(", ")}).`
                            : "; no seed was applied."),
                    error: SeedError,
                    directives: false,
                },
            );
            const ms = Date.now() - started;
            ran.push({ path: seed.path, statements: seed.statements.length, ms });
            progress(`seeded ${seed.path} (${seed.statements.length} statement${seed.statements.length === 1 ? "" : "s"}) in ${ms} ms`);
        }
    } finally {
        await client.end().catch(() => undefined);
    }
    return { ran };
}
