/**
 * A parsed SQL file run in one transaction as one message, and the error that
 * names the file and line of a failing statement. Migrations (runner.ts) and
 * seeds (seeds.ts) both run their files this way.
 */
import { Query } from "pg";
import type { Client } from "pg";
import { MigrationRunError } from "../errors";
import { lineAndColumn, type SqlStatement } from "./sql";

/** Where in the file a PostgreSQL error points: the statement's line, refined by the error's position. */
function errorLocation(stmt: { sql: string; line: number }, err: any): number {
    const pos = Number(err?.position);
    if (!pos) return stmt.line;
    // Lines end at \r\n, \n or \r, as editors count them.
    return stmt.line + lineAndColumn(stmt.sql, pos - 1).line - 1;
}

export function runError(
    file: { file: string },
    stmt: { sql: string; line: number },
    err: any,
    after: string,
    Failure: new (message: string) => Error = MigrationRunError,
    directives = true,
): Error {
    const line = errorLocation(stmt, err);
    const code = err?.code ? ` [SQLSTATE ${err.code}]` : "";
    const hint =
        err?.code === "55P03"
            ? " The lock_timeout fired: another session holds a lock on the table. Retry when it is idle" +
              (directives ? ", or raise it for this file with '-- keel:lock-timeout 30s'." : ".")
            : err?.code === "57014"
              ? " The statement_timeout fired." +
                (directives ? " If the statement needs longer, raise it for this file with '-- keel:statement-timeout 30min'." : "")
              : "";
    return new Failure(`${file.file}:${line}: ${err?.message ?? err}${code}.${hint} ${after}`);
}

/** Result of one simple-protocol message: how many statements completed before an error, if any. */
interface MessageResult {
    completed: number;
    error?: any;
}

/**
 * Sends many statements as one simple-protocol message (one round trip) and
 * counts the statements that completed, so an error can be pinned to its statement.
 */
function sendCountingStatements(client: Client, text: string): Promise<MessageResult> {
    let completed = 0;
    // handleCommandComplete is pg's own hook, not in its types.
    class CountingQuery extends (Query as unknown as new (...args: any[]) => any) {
        handleCommandComplete(msg: unknown, connection: unknown): void {
            completed++;
            super.handleCommandComplete(msg, connection);
        }
    }
    return new Promise((resolve) => {
        client.query(new CountingQuery(text, undefined, (error: unknown) => resolve({ completed, error: error ?? undefined })) as any);
    });
}

/** How runFileInTransaction runs a file and words its failure. */
export interface FileTransactionOptions {
    /** `SET LOCAL lock_timeout` and `statement_timeout`: validated durations (digits and a unit), inlined. */
    lockTimeout: string;
    statementTimeout: string;
    /** Keel's own statements after the file's, inside its transaction (the history row). */
    trailer?: string[];
    /** What the trailer does, for an error in it: "recorded the file in the history". */
    trailerWhat?: string;
    /** The sentence that ends a failure's message: what the rollback left. */
    rolledBack: string;
    /** The error raised (default MigrationRunError). */
    error?: new (message: string) => Error;
    /** Whether a timeout's hint may suggest the file's `-- keel:` directives (migrations: yes). Default true. */
    directives?: boolean;
}

/**
 * A parsed SQL file's statements in one transaction, sent as a single message
 * (one round trip): BEGIN, the timeouts, the statements, the trailer, COMMIT.
 * On an error the transaction is rolled back and the error names the file and
 * the line of the failing statement (refined by the server's error position),
 * as `<file>:<line>: <message> [SQLSTATE …]. <rolledBack>`. Migrations and seeds
 * (components/schema/seeds.ts) both run this way.
 */
export async function runFileInTransaction(
    client: Client,
    file: { file: string; statements: SqlStatement[] },
    o: FileTransactionOptions,
): Promise<void> {
    const Failure = o.error ?? MigrationRunError;
    const trailer = o.trailer ?? [];
    const prefix = [`BEGIN`, `SET LOCAL lock_timeout = '${o.lockTimeout}'`, `SET LOCAL statement_timeout = '${o.statementTimeout}'`];
    const parts = prefix.map((p) => `${p};\n`);
    let length = parts.reduce((n, p) => n + p.length, 0);
    const offsets: number[] = [];
    for (const stmt of file.statements) {
        offsets.push(length);
        // A newline before the separator: a statement may end in a -- comment.
        const part = `${stmt.sql}\n;\n`;
        parts.push(part);
        length += part.length;
    }
    parts.push(...trailer.map((t) => `${t};\n`), "COMMIT");
    const { completed, error } = await sendCountingStatements(client, parts.join(""));
    if (!error) return;
    await client.query("ROLLBACK").catch(() => undefined);
    const rolledBack = o.rolledBack;
    const index = completed - prefix.length;
    if (index >= 0 && index < file.statements.length) {
        const stmt = file.statements[index];
        // The error's position counts characters in the whole message; make it relative to the statement.
        const position = Number(error.position) - offsets[index];
        const inStatement = position > 0 && position <= stmt.sql.length ? position : undefined;
        throw runError(
            file,
            stmt,
            { message: error.message, code: error.code, position: inStatement },
            rolledBack,
            Failure,
            o.directives ?? true,
        );
    }
    const code = error?.code ? ` [SQLSTATE ${error.code}]` : "";
    if (index === file.statements.length + trailer.length) {
        // Deferred constraints and constraint triggers are checked at COMMIT, after the last statement.
        throw new Failure(
            `${file.file}: COMMIT failed: ${error.message}${code}. A deferred constraint or trigger failed at the end of the file. ${rolledBack}`,
        );
    }
    throw new Failure(
        `${file.file}: ${error.message}${code} (while Keel ${index < 0 ? "set up the file's transaction" : (o.trailerWhat ?? "finished the file")}). ${rolledBack}`,
    );
}
