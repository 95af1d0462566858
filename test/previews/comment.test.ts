/** The preview comment's Markdown (components/previews/comment.ts) and the summary it is written from (summary.ts). */
import { strict as assert } from "assert";
import fc from "fast-check";
import { COMMENT_LIMIT, formatTime, PREVIEW_MARKER, previewComment } from "../../components/previews/comment";
import { parsePreviewSummary, PreviewSummaryError, previewSummaryProblems } from "../../components/previews/summary";
import { previewMigration as migration, SUMMARY } from "../support/previewSummary";

const count = (text: string, part: string) => text.split(part).length - 1;

describe("the preview comment", () => {
    const body = previewComment({ ...SUMMARY, runUrl: "https://github.com/acme/shop/actions/runs/99" });

    it("starts with the hidden marker, once, and says where the preview is and until when", () => {
        assert.ok(body.startsWith(`${PREVIEW_MARKER}\n`));
        assert.equal(count(body, PREVIEW_MARKER), 1);
        assert.match(body, /### Preview `pr-12` of this pull request is up/);
        assert.match(
            body,
            /- \*\*Backend\*\*: https:\/\/shop-staging-pr-12\.fly\.dev \(health: https:\/\/shop-staging-pr-12\.fly\.dev\/healthz\)/,
        );
        assert.match(
            body,
            /Vercel's preview deployments of `feature\/orders` get `NEXT_PUBLIC_API_URL` = the backend above \(project `shop`\)/,
        );
        assert.match(body, /- \*\*Database\*\*: `preview\/pr-12` \(schema-only from `staging`\)/);
        assert.match(body, /- \*\*Made from\*\*: `staging`, branch `feature\/orders` at `0123456789ab`/);
        assert.match(body, /- \*\*Expires\*\*: 2026-12-14 23:05 UTC unless pushed to again/);
        assert.match(body, /Updated 2026-12-07 23:05 UTC by \[this run\]\(https:\/\/github\.com\/acme\/shop\/actions\/runs\/99\)/);
        assert.match(body, /npm run pr:down -- --pr 12/);
        assert.ok(!/recreated/.test(body), "no warning when the database was kept");
        assert.ok(body.length < 4000);
    });

    it("lists the migrations the pull request adds with the parser's facts, destructive ones flagged", () => {
        assert.match(body, /#### Migrations this pull request adds: 2, 1 destructive ⚠️/);
        assert.match(body, /- \*\*`0005_add_orders`\*\* \(`migrations\/0005_add_orders\.sql`\): `CREATE TABLE orders/);
        const drop = body.split("\n").find((l) => l.includes("0006_drop_legacy`**"))!;
        assert.match(drop, /⚠️ \*\*destructive\*\*: `DROP TABLE legacy_users`/);
        assert.ok(
            !body
                .split("\n")
                .find((l) => l.includes("0005_add_orders`**"))!
                .includes("destructive"),
        );
        assert.match(body, / {2}- ⚠️ line 3: DROP TABLE legacy_users \(`staging` and prod refuse it without `-- keel:allow-destructive`\)/);
        assert.match(body, / {2}- line 5: uses 'x', added by ALTER TYPE/);
        assert.match(body, / {2}- runs outside a transaction/);
        const allowed = previewComment({
            ...SUMMARY,
            migrations: [migration({ destructive: ["line 1: DROP TABLE t"], allowDestructive: true })],
        });
        assert.match(allowed, /DROP TABLE t \(allowed by `-- keel:allow-destructive`\)/);
        assert.match(previewComment({ ...SUMMARY, migrations: [] }), /adds: 0\n\nNone: the schema is the base stack's\./);
    });

    it("shows the schema against the base in a code block, and the pre-commit findings, errors first, without the ok ones", () => {
        assert.match(body, /#### Schema against `staging`\n\n<details><summary>schema objects: 2 only on pr-12/);
        assert.ok(
            body.includes(
                "```text\nschema objects: 2 only on pr-12, 1 only on staging (140 the same)\n  table public.orders: only on pr-12\n",
            ),
        );
        assert.match(
            body,
            /#### Pre-commit checks: 1 problem, 1 warning\n\n- ✗ migrations\/0006_drop_legacy\.sql is destructive \(fix: add -- keel:allow-destructive\)\n- ! src\/api\.ts:14/,
        );
        assert.ok(!body.includes("migrations parse"));
        const clean = previewComment({ ...SUMMARY, lint: [], schemaDiff: undefined });
        assert.match(clean, /#### Pre-commit checks: nothing found/);
        assert.ok(!clean.includes("#### Schema against"), "no schema section when it was not compared");
    });

    it("warns when the database was recreated because an applied migration was edited, naming the file", () => {
        const text = previewComment({ ...SUMMARY, database: { ...SUMMARY.database, recreatedFor: "migrations/0005_add_orders.sql" } });
        assert.match(
            text,
            /> \[!WARNING\]\n> The preview's database was dropped and recreated: `migrations\/0005_add_orders\.sql`, which it had applied, was edited since\./,
        );
    });

    it("cuts long sections at a line, with a note saying how much and where to see it all", () => {
        const many = Array.from({ length: 3000 }, (_, i) =>
            migration({ version: String(1000 + i), name: `m${i}`, file: `migrations/${1000 + i}_m${i}.sql`, description: "x".repeat(60) }),
        );
        const diff = Array.from({ length: 5000 }, (_, i) => `  column public.t.c${i}: text on pr-12, missing on staging`).join("\n");
        const text = previewComment({ ...SUMMARY, migrations: many, schemaDiff: diff });
        assert.ok(text.length <= COMMENT_LIMIT, `${text.length}`);
        assert.match(
            text,
            /_… \d+ more lines cut to keep this comment within GitHub's 65,536 characters: `\.\/keel stack preview --stack pr-12` lists each one\._/,
        );
        assert.match(
            text,
            /\n… \d+ more lines cut to keep this comment within GitHub's 65,536 characters: `\.\/keel schema diff staging pr-12` prints it all\.\n```\n\n<\/details>/,
        );
        // The lint section, small, is whole; the code block is closed.
        assert.match(text, /#### Pre-commit checks: 1 problem, 1 warning/);
        assert.equal(count(text, "```text"), 1);
        assert.ok(text.trimEnd().endsWith("</sub>"));
    });

    it("keeps a value from closing the code block or repeating the marker", () => {
        const text = previewComment({
            ...SUMMARY,
            branch: "evil`<!-- keel-preview -->",
            schemaDiff: "```\n<!-- keel-preview -->\n````",
            lint: [{ level: "error", message: "a\nb <!-- keel-preview -->" }],
        });
        assert.equal(count(text, PREVIEW_MARKER), 1);
        assert.ok(text.includes("`````text\n```\n"), "the fence is longer than any backtick run inside");
        assert.match(text, /- ✗ a b <!\u200b-- keel-preview -->/);
    });

    it("always stays within GitHub's limit with the marker first and only once, whatever the summary holds", () => {
        const text = (max: number) =>
            fc.string({ maxLength: max, size: "max", unit: fc.constantFrom("a", "`", "<!--", " ", "\n", "|", "é", "😀", "x".repeat(50)) });
        const anyMigration = fc.record({
            version: text(30),
            name: text(200),
            file: text(300),
            checksum: fc.string(),
            transaction: fc.boolean(),
            allowDestructive: fc.boolean(),
            destructive: fc.array(text(300), { maxLength: 3 }),
            warnings: fc.option(fc.array(text(300), { maxLength: 3 }), { nil: undefined }),
            description: fc.option(text(300), { nil: undefined }),
        });
        const summary = fc.record({
            stack: text(80),
            base: text(80),
            branch: text(1000),
            headSha: fc.option(text(60), { nil: undefined }),
            updatedAt: fc.oneof(fc.constant("2026-12-07T23:05:37Z"), text(100)),
            expiresAt: fc.oneof(fc.constant("2026-12-14T23:05:37Z"), text(100)),
            urls: fc.record({
                backend: fc.option(text(3000), { nil: undefined }),
                health: fc.option(text(3000), { nil: undefined }),
                frontend: fc.option(text(3000), { nil: undefined }),
            }),
            database: fc.record({
                name: fc.option(text(500), { nil: undefined }),
                recreatedFor: fc.option(text(3000), { nil: undefined }),
            }),
            migrations: fc.array(anyMigration, { maxLength: 400, size: "medium" }),
            schemaDiff: fc.option(text(5000), { nil: undefined }),
            lint: fc.array(
                fc.record({
                    level: fc.constantFrom("error", "warning", "info", "ok" as const),
                    message: text(500),
                    fix: fc.option(text(500), { nil: undefined }),
                }),
                { maxLength: 300, size: "medium" },
            ),
            runUrl: fc.option(text(500), { nil: undefined }),
        });
        let cut = 0;
        fc.assert(
            fc.property(summary, fc.integer({ min: 1, max: 999_999_999 }), (s, pr) => {
                const out = previewComment({ version: 1, pr, ...s } as any);
                if (out.includes("more lines cut to keep this comment")) cut++;
                assert.ok(out.length <= COMMENT_LIMIT, `${out.length} characters`);
                assert.ok(out.startsWith(PREVIEW_MARKER));
                assert.equal(count(out, PREVIEW_MARKER), 1);
                // Within the limit by the sections' shares, never by the last-resort cut of the whole.
                assert.ok(out.endsWith("</sub>\n"), out.slice(-200));
            }),
            { numRuns: 60, endOnFailure: true },
        );
        // The generator reaches the limit often: the cutting is what this checks.
        assert.ok(cut >= 10, `${cut} of 60 bodies were cut`);
    });

    it("formats times as UTC minutes, and leaves a non-time as it is", () => {
        assert.equal(formatTime("2026-01-02T03:04:59.999Z"), "2026-01-02 03:04 UTC");
        assert.equal(formatTime("2026-01-02T05:04:05+02:00"), "2026-01-02 03:04 UTC");
        assert.equal(formatTime("soon"), "soon");
    });
});

describe("the preview summary", () => {
    it("is plain JSON: a summary survives JSON.stringify and parses back the same", () => {
        assert.deepEqual(parsePreviewSummary(JSON.stringify(SUMMARY), "s.json"), SUMMARY);
        assert.deepEqual(previewSummaryProblems(SUMMARY), []);
    });

    it("refuses what is not JSON or not the shape, naming every field and the fix", () => {
        assert.throws(
            () => parsePreviewSummary("{", "s.json"),
            (e: unknown) => e instanceof PreviewSummaryError && /s\.json is not JSON/.test(e.message),
        );
        const bad = {
            ...SUMMARY,
            version: 2,
            pr: -1,
            urls: { backend: 3 },
            migrations: [{ version: "1" }],
            lint: [{ level: "fatal", message: "x" }],
        };
        assert.throws(
            () => parsePreviewSummary(JSON.stringify(bad), "s.json"),
            (e: unknown) => {
                assert.ok(e instanceof PreviewSummaryError);
                for (const part of [
                    "version: 2, not 1",
                    "pr: not a pull request number",
                    "urls.backend: not a string",
                    "migrations[0]",
                    "lint[0]",
                    "Fix: pass the file `keel pr up --summary <file>` wrote",
                ])
                    assert.ok(e.message.includes(part), `${part} in ${e.message}`);
                return true;
            },
        );
        assert.deepEqual(previewSummaryProblems([]), ["the document: not a JSON object"]);
    });
});
