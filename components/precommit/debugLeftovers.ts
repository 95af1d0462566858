/** Debug leftovers (console.log, debugger, .only) on the added lines of code files. */
import type { Finding } from "../preflight/index";
import type { AddedLine } from "./gitDiff";

/** Files whose added lines are checked for debug leftovers. */
export const CODE_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

/** On a line, this marker keeps the debug-leftover check quiet (for a console.log that is meant). */
export const ALLOW_DEBUG = "keel:allow-debug";

/** Where printing with console.log is the point: the benchmarks and the build tools report on the console. */
export const CONSOLE_PROGRAMS = /^(bench|tools)\//;

const LEFTOVERS: { what: string; pattern: RegExp; allowedIn?: RegExp }[] = [
    { what: "console.log(", pattern: /\bconsole\s*\.\s*log\s*\(/, allowedIn: CONSOLE_PROGRAMS },
    { what: "debugger;", pattern: /(^|[^\w$.])debugger\s*(;|$)/ },
    { what: ".only(", pattern: /\b(describe|context|suite|it|test|specify)\s*\.\s*only\s*\(/ },
];

/**
 * A line of JavaScript/TypeScript with its string literals emptied and its
 * comments removed, so that a leftover is found in code, not in a message or a
 * remark that names it. A line that continues a block comment (` * …`) is all comment.
 * Line by line: a string or comment that spans lines is seen only where it starts.
 */
export function codeOf(line: string): string {
    if (/^\s*(\*|\/\*)/.test(line)) return "";
    let out = "";
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "/" && line[i + 1] === "/") break;
        if (c === "/" && line[i + 1] === "*") {
            const end = line.indexOf("*/", i + 2);
            if (end < 0) break;
            out += " ";
            i = end + 1;
            continue;
        }
        if (c === '"' || c === "'" || c === "`") {
            let j = i + 1;
            while (j < line.length && line[j] !== c) j += line[j] === "\\" ? 2 : 1;
            out += c + c;
            i = j;
            continue;
        }
        out += c;
    }
    return out;
}

/** `console.log(`, `debugger;` and `.only(` on the added lines of a code file. */
export function debugLeftovers(file: string, lines: AddedLine[]): Finding[] {
    if (!CODE_FILE.test(file)) return [];
    const findings: Finding[] = [];
    for (const { line, text } of lines) {
        if (text.includes(ALLOW_DEBUG)) continue;
        const code = codeOf(text);
        for (const l of LEFTOVERS) {
            if (l.allowedIn?.test(file) || !l.pattern.test(code)) continue;
            findings.push({
                level: "error",
                message: `${file}:${line}: debug leftover '${l.what}'`,
                fix: `remove it (a line that means it ends with // ${ALLOW_DEBUG})`,
            });
        }
    }
    return findings;
}
