/** A preview summary as `keel pr up` writes it, for the comment's tests. */
import type { PreviewMigration, PreviewSummary } from "../../components/previews/summary";

export const previewMigration = (over: Partial<PreviewMigration> = {}): PreviewMigration => ({
    version: "0005",
    name: "add_orders",
    file: "migrations/0005_add_orders.sql",
    checksum: "c5",
    transaction: true,
    allowDestructive: false,
    destructive: [],
    description: "CREATE TABLE orders (id bigint PRIMARY KEY, note text) (+1 more statement)",
    ...over,
});

/** A preview of pull request 12 from staging: two migrations (one destructive), a schema diff, two findings. */
export const SUMMARY: PreviewSummary = {
    version: 1,
    pr: 12,
    stack: "pr-12",
    base: "staging",
    branch: "feature/orders",
    headSha: "0123456789abcdef0123456789abcdef01234567",
    updatedAt: "2026-12-07T23:05:37.000Z",
    expiresAt: "2026-12-14T23:05:37.000Z",
    urls: {
        backend: "https://shop-staging-pr-12.fly.dev",
        health: "https://shop-staging-pr-12.fly.dev/healthz",
        frontendVariable: { project: "shop", key: "NEXT_PUBLIC_API_URL", gitBranch: "feature/orders" },
    },
    database: { name: "preview/pr-12", data: "schema-only" },
    migrations: [
        previewMigration(),
        previewMigration({
            version: "0006",
            name: "drop_legacy",
            file: "migrations/0006_drop_legacy.sql",
            checksum: "c6",
            destructive: ["line 3: DROP TABLE legacy_users"],
            warnings: ["line 5: uses 'x', added by ALTER TYPE in the same transaction"],
            transaction: false,
            description: "DROP TABLE legacy_users",
        }),
    ],
    schemaDiff: [
        "schema objects: 2 only on pr-12, 1 only on staging (140 the same)",
        "  table public.orders: only on pr-12",
        "  column public.orders.note: text on pr-12, missing on staging",
        "  table public.legacy_users: only on staging",
        "migrations: 2 only on pr-12",
    ].join("\n"),
    lint: [
        { level: "warning", message: "src/api.ts:14: console.log left in", fix: "remove it, or mark the line keel:allow-debug" },
        { level: "error", message: "migrations/0006_drop_legacy.sql is destructive", fix: "add -- keel:allow-destructive" },
        { level: "ok", message: "migrations parse" },
    ],
};
