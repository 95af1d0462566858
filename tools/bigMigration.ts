/**
 * A large data migration for the big-file test and bench: two CREATE TABLEs,
 * then INSERTs (72 bytes a line, so 50 MB holds about 690,000 of them;
 * every 1000th carries a multi-byte character), then a DROP TABLE on the last
 * line, so the lint facts (line numbers, the destructive statement) can be
 * checked at the far end of the file.
 */
import * as fs from "fs";

export interface BigMigration {
    text: string;
    /** How many INSERTs. */
    inserts: number;
    /** Statements in all (two CREATE TABLEs, the INSERTs, a DROP TABLE). */
    statements: number;
    /** Line of the DROP TABLE (the last line). */
    dropLine: number;
}

export function bigMigration(targetBytes: number): BigMigration {
    const lines = ["CREATE TABLE big_t (id int PRIMARY KEY, name text NOT NULL, note text);", "CREATE TABLE big_scratch (id int);"];
    let bytes = lines.reduce((n, l) => n + l.length + 1, 0) + 24;
    let i = 0;
    for (; bytes < targetBytes; i++) {
        // Neither a comment nor the end of the statement: both are inside the string.
        const note = i % 1000 === 999 ? "é; /*" : "a; --";
        const line = `INSERT INTO big_t (id, name, note) VALUES (${i}, 'n${i}', '${note}');`.padEnd(71, " ");
        lines.push(line);
        bytes += Buffer.byteLength(line) + 1;
    }
    lines.push("DROP TABLE big_scratch;");
    return { text: lines.join("\n") + "\n", inserts: i, statements: i + 3, dropLine: lines.length };
}

/** Peak resident memory of a server backend (VmHWM), in MB, or undefined where /proc does not show it. */
export function backendPeakMb(pid: number): number | undefined {
    try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) / 1024 : undefined;
    } catch {
        return undefined;
    }
}
