/** What git prints about the staged changes, read: name-status entries, the lines a patch adds, C-quoted paths. */

/** One entry of `git diff --cached --name-status -z -M`. */
export interface StagedChange {
    /** A added, C copied, D deleted, M modified, R renamed, T type changed, U unmerged. */
    status: string;
    /** The path in the index (for D: the deleted path). */
    path: string;
    /** R and C: where it came from. */
    from?: string;
}

export function parseNameStatus(output: string): StagedChange[] {
    const parts = output.split("\0");
    const changes: StagedChange[] = [];
    for (let i = 0; i < parts.length;) {
        const code = parts[i++];
        if (!code) continue;
        const status = code[0];
        if (status === "R" || status === "C") {
            const from = parts[i++];
            changes.push({ status, path: parts[i++], from });
        } else changes.push({ status, path: parts[i++] });
    }
    return changes;
}

/** A line the commit adds: its number in the staged file and its text (without the line end). */
export interface AddedLine {
    line: number;
    text: string;
}

/**
 * The added lines of each file in a unified diff (`git diff --cached -U0
 * --src-prefix=a/ --dst-prefix=b/`), keyed by the staged path. Binary files have
 * no hunks, so they have no lines here.
 */
export function addedLines(patch: string): Map<string, AddedLine[]> {
    const files = new Map<string, AddedLine[]>();
    let current: AddedLine[] | undefined;
    let inHeader = false;
    let next = 0;
    for (const raw of patch.split("\n")) {
        if (raw.startsWith("diff --git ")) {
            current = undefined;
            inHeader = true;
            continue;
        }
        if (inHeader) {
            if (raw.startsWith("+++ ")) {
                const name = unquotePath(raw.slice(4));
                current = undefined;
                if (name.startsWith("b/")) {
                    current = files.get(name.slice(2)) ?? [];
                    files.set(name.slice(2), current);
                }
                continue;
            }
            if (!raw.startsWith("@@")) continue;
            inHeader = false;
        }
        const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
        if (hunk) {
            next = Number(hunk[1]);
            continue;
        }
        if (!current) continue;
        if (raw.startsWith("+")) current.push({ line: next++, text: raw.slice(1).replace(/\r$/, "") });
        else if (raw.startsWith(" ")) next++;
    }
    return files;
}

/** A path as git prints it in a diff header: C-quoted ("a\tb", octal bytes) when it holds unusual characters. */
export function unquotePath(s: string): string {
    s = s.replace(/\t$/, "");
    if (!s.startsWith('"') || !s.endsWith('"') || s.length < 2) return s;
    const bytes: number[] = [];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '"': 34, "\\": 92 };
    const body = s.slice(1, -1);
    for (let i = 0; i < body.length; i++) {
        const c = body[i];
        if (c !== "\\") {
            bytes.push(...Buffer.from(c, "utf8"));
            continue;
        }
        const e = body[++i];
        if (/[0-7]/.test(e)) {
            bytes.push(parseInt(body.slice(i, i + 3), 8));
            i += 2;
        } else bytes.push(simple[e] ?? e.charCodeAt(0));
    }
    return Buffer.from(bytes).toString("utf8");
}
