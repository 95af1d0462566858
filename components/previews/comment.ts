/**
 * The pull request's one preview comment, written from the summary `keel pr up` leaves (summary.ts): where the
 * preview is, when it goes, whether its database was recreated, the migrations the pull request adds (destructive
 * ones flagged), its schema against the base stack and the pre-commit checks' findings. It starts with
 * PREVIEW_MARKER, by which `keel pr comment` finds it again to edit it in place.
 *
 * Whatever the summary holds, the body stays within GitHub's limit for a comment (65,536 characters) and holds the
 * marker exactly once: every value is cut to a length, `<!--` in a value is broken up (a value cannot end the
 * comment's HTML or repeat the marker), and the long sections share what is left, each cut at a line with a note
 * saying how much was left out and where to see it whole. Pure: no Pulumi imports, no clock.
 */
import type { Finding } from "../preflight/index";
import type { PreviewMigration, PreviewSummary } from "./summary";

/** The hidden first line of the comment, by which it is found again. */
export const PREVIEW_MARKER = "<!-- keel-preview -->";

/** GitHub's limit on a comment's body, in characters. */
export const COMMENT_LIMIT = 65536;

export interface PreviewCommentInput extends PreviewSummary {
    /** The workflow run that made this preview, linked from the footer. */
    runUrl?: string;
}

/** The longest a value on one line may be (a URL, a branch, a finding's message). */
const INLINE_MAX = 500;
/** The longest line of the schema diff kept whole. */
const CODE_LINE_MAX = 1000;
/** Room kept for the notes that say a section was cut. */
const NOTE_ROOM = 400;

/** `<!--` broken up with a zero-width space: a value can neither open an HTML comment nor repeat the marker. */
function defuse(text: string): string {
    return text.replace(/<!--/g, "<!\u200b--");
}

/** One line of text: defused, newlines as spaces, cut to `max` characters with …. */
function inline(text: string, max = INLINE_MAX): string {
    const one = defuse(text).replace(/[\r\n]+/g, " ");
    return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** Text inside an HTML element. */
function html(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A code span that holds `text` whatever backticks it has. */
function code(text: string, max = INLINE_MAX): string {
    const t = inline(text, max);
    const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
    const fence = "`".repeat(longest + 1);
    const pad = t.startsWith("`") || t.endsWith("`") ? " " : "";
    return `${fence}${pad}${t}${pad}${fence}`;
}

/** `2026-12-14 23:05 UTC` for an ISO time; the text itself when it is not one. */
export function formatTime(iso: string): string {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return inline(iso, 60);
    return new Date(ms)
        .toISOString()
        .replace("T", " ")
        .replace(/:\d\d(\.\d+)?Z$/, " UTC");
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A long section: lines always kept (heading, fences) around body lines that may be cut. */
interface Section {
    head: string[];
    body: string[];
    tail: string[];
    /** Where to see it whole, for the note when it is cut. */
    whole: string;
}

const size = (lines: string[]) => lines.reduce((n, l) => n + l.length + 1, 0);
const sectionSize = (s: Section) => size(s.head) + size(s.body) + size(s.tail);

/** The section within `budget` characters: as many body lines as fit, then a note saying how many were cut. */
function fit(s: Section, budget: number): string[] {
    if (sectionSize(s) <= budget) return [...s.head, ...s.body, ...s.tail];
    const room = budget - size(s.head) - size(s.tail) - NOTE_ROOM;
    const kept: string[] = [];
    let used = 0;
    for (const line of s.body) {
        if (used + line.length + 1 > room) break;
        kept.push(line);
        used += line.length + 1;
    }
    const cut = s.body.length - kept.length;
    const note = `… ${plural(cut, "more line")} cut to keep this comment within GitHub's ${COMMENT_LIMIT.toLocaleString("en-US")} characters: ${s.whole}.`;
    // A note inside a code block stays plain text; elsewhere it is set apart in italics.
    const inCode = s.head.some((l) => /^`{3,}/.test(l));
    return [...s.head, ...kept, inCode ? note : `_${note}_`, ...s.tail];
}

/**
 * Budgets for the sections, in their order, from `total`: a section that needs less than an even share keeps
 * all it needs and leaves the rest to the others.
 */
function shares(needs: number[], total: number): number[] {
    const out = needs.map(() => 0);
    let left = Math.max(0, total);
    let open = needs.map((_, i) => i);
    while (open.length) {
        const share = Math.floor(left / open.length);
        const small = open.filter((i) => needs[i] <= share);
        if (!small.length) {
            for (const i of open) out[i] = share;
            break;
        }
        for (const i of small) {
            out[i] = needs[i];
            left -= needs[i];
        }
        open = open.filter((i) => !small.includes(i));
    }
    return out;
}

function migrationLines(m: PreviewMigration, base: string): string[] {
    const flag = m.destructive.length ? " ⚠️ **destructive**" : "";
    const does = m.description ? `: ${code(m.description)}` : "";
    const lines = [`- **${code(`${m.version}_${m.name}`, 200)}** (${code(m.file, 300)})${flag}${does}`];
    for (const d of m.destructive) {
        const allowed = m.allowDestructive
            ? "allowed by `-- keel:allow-destructive`"
            : `${code(base, 100)} and prod refuse it without \`-- keel:allow-destructive\``;
        lines.push(`  - ⚠️ ${inline(d)} (${allowed})`);
    }
    for (const w of m.warnings ?? []) lines.push(`  - ${inline(w)}`);
    if (!m.transaction) lines.push("  - runs outside a transaction (`-- keel:no-transaction`)");
    return lines;
}

function migrationsSection(c: PreviewCommentInput): Section {
    const destructive = c.migrations.filter((m) => m.destructive.length).length;
    const heading = `#### Migrations this pull request adds: ${c.migrations.length}${destructive ? `, ${destructive} destructive ⚠️` : ""}`;
    return {
        head: [heading, ""],
        body: c.migrations.length ? c.migrations.flatMap((m) => migrationLines(m, c.base)) : ["None: the schema is the base stack's."],
        tail: [""],
        whole: `${code(`./keel stack preview --stack ${c.stack}`, 150)} lists each one`,
    };
}

function schemaSection(c: PreviewCommentInput): Section | undefined {
    if (c.schemaDiff === undefined) return undefined;
    const lines = c.schemaDiff.split(/\r?\n/).filter((l, i, all) => l !== "" || i < all.length - 1);
    const text = lines.map((l) => (l.length > CODE_LINE_MAX ? `${l.slice(0, CODE_LINE_MAX - 1)}…` : l)).map(defuse);
    const longest = Math.max(2, ...text.flatMap((l) => (l.match(/`+/g) ?? []).map((r) => r.length)));
    const fence = "`".repeat(longest + 1);
    return {
        head: [
            `#### Schema against ${code(c.base, 100)}`,
            "",
            `<details><summary>${html(inline(lines[0] ?? "no difference", 200))}</summary>`,
            "",
            `${fence}text`,
        ],
        body: text,
        tail: [fence, "", "</details>", ""],
        whole: `${code(`./keel schema diff ${c.base} ${c.stack}`, 250)} prints it all`,
    };
}

function findingLine(f: Finding): string {
    const mark = f.level === "error" ? "✗" : f.level === "warning" ? "!" : "·";
    return `- ${mark} ${inline(f.message)}${f.fix ? ` (fix: ${inline(f.fix)})` : ""}`;
}

function lintSection(c: PreviewCommentInput): Section {
    const shown = c.lint.filter((f) => f.level !== "ok");
    const errors = shown.filter((f) => f.level === "error").length;
    const warnings = shown.filter((f) => f.level === "warning").length;
    const counts = [errors ? plural(errors, "problem") : "", warnings ? plural(warnings, "warning") : ""].filter(Boolean).join(", ");
    return {
        head: [`#### Pre-commit checks: ${counts || (shown.length ? "notes only" : "nothing found")}`, ""],
        body: [
            ...shown.filter((f) => f.level === "error"),
            ...shown.filter((f) => f.level === "warning"),
            ...shown.filter((f) => f.level === "info"),
        ].map(findingLine),
        tail: [""],
        whole: "the pre-commit hook (`./keel hooks install`) prints them all",
    };
}

function headLines(c: PreviewCommentInput): string[] {
    const lines = [PREVIEW_MARKER, `### Preview ${code(c.stack, 100)} of this pull request is up`, ""];
    const { backend, health, frontend, frontendVariable } = c.urls;
    if (backend) lines.push(`- **Backend**: ${inline(backend)}${health ? ` (health: ${inline(health)})` : ""}`);
    else if (health) lines.push(`- **Health**: ${inline(health)}`);
    if (frontend) lines.push(`- **Frontend**: ${inline(frontend)}`);
    if (frontendVariable)
        lines.push(
            `- **Frontend previews**: Vercel's preview deployments of ${code(frontendVariable.gitBranch, 200)} get ` +
                `${code(frontendVariable.key, 200)} = the backend above (project ${code(frontendVariable.project, 200)}); ` +
                "a deployment made before this preview needs a redeploy to see it",
        );
    const db = c.database;
    if (db.name || db.data)
        lines.push(
            `- **Database**: ${db.name ? code(db.name, 200) : "its own"}${db.data ? ` (${inline(db.data, 20)} from ${code(c.base, 100)})` : ""}`,
        );
    lines.push(
        `- **Made from**: ${code(c.base, 100)}, branch ${code(c.branch, 300)}${c.headSha ? ` at ${code(c.headSha.slice(0, 12), 20)}` : ""}`,
    );
    lines.push(
        `- **Expires**: ${formatTime(c.expiresAt)} unless pushed to again (a push extends it); removed as soon as the pull request closes`,
    );
    if (db.recreatedFor)
        lines.push(
            "",
            "> [!WARNING]",
            `> The preview's database was dropped and recreated: ${code(db.recreatedFor, 300)}, which it had applied, was edited since. ` +
                "Data written to the preview before this push is gone.",
        );
    lines.push("");
    return lines;
}

function footLines(c: PreviewCommentInput): string[] {
    const run = c.runUrl ? ` by [this run](${inline(c.runUrl).replace(/[()\s]/g, encodeURIComponent)})` : "";
    return [
        `<sub>Updated ${formatTime(c.updatedAt)}${run}. Keel edits this comment on every push. ` +
            `To remove the preview now: \`npm run pr:down -- --pr ${c.pr}\`.</sub>`,
    ];
}

/** The comment's Markdown for the summary: at most `limit` characters, PREVIEW_MARKER first and only once. */
export function previewComment(input: PreviewCommentInput, limit = COMMENT_LIMIT): string {
    const head = headLines(input);
    const foot = footLines(input);
    const sections = [migrationsSection(input), schemaSection(input), lintSection(input)].filter((s): s is Section => !!s);
    const budgets = shares(sections.map(sectionSize), limit - size(head) - size(foot) - 16);
    const body = [...head, ...sections.flatMap((s, i) => fit(s, budgets[i])), ...foot].join("\n") + "\n";
    // The sections' shares keep it within the limit; the fixed parts are bounded too, so this never cuts in practice.
    return body.length <= limit ? body : `${body.slice(0, limit - 2)}…\n`;
}
