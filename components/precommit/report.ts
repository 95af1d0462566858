/** The hook's report: problems and warnings with their fixes, and how to commit anyway. */
import type { Finding } from "../preflight/index";

/** How to commit anyway, printed under every refusal. */
export const BYPASS = "git commit --no-verify";

/** The hook's output: each problem (✗) and warning (!) with its fix, then what to do; empty when there is nothing to say. */
export function formatHookReport(findings: Finding[], checkedFiles: number): string[] {
    const errors = findings.filter((f) => f.level === "error").length;
    const warnings = findings.filter((f) => f.level === "warning").length;
    const lines: string[] = [];
    if (!errors && !warnings) return [`pre-commit: ${checkedFiles} staged file${checkedFiles === 1 ? "" : "s"} checked, no problems`];
    lines.push(
        errors
            ? `pre-commit: ${errors} problem${errors === 1 ? "" : "s"} in the staged changes; nothing was committed:`
            : `pre-commit: ${warnings} warning${warnings === 1 ? "" : "s"} about the staged changes (committing anyway):`,
    );
    for (const level of ["error", "warning"] as const) {
        for (const f of findings.filter((x) => x.level === level)) {
            lines.push(`${level === "error" ? "✗" : "!"} ${f.message}`);
            if (f.fix) lines.push(`    fix: ${f.fix}`);
        }
    }
    if (errors) {
        lines.push(`Fix the files and stage them again (git add), then commit. To commit anyway, once and on purpose: ${BYPASS}`);
    }
    return lines;
}
