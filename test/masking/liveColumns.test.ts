/**
 * The live-catalog check of the masking rules, on a real PostgreSQL: a schema the migration files cannot tell
 * (DO/EXECUTE, CREATE TABLE AS, LIKE, partitions), applied by Keel's runner, read back from the catalog.
 */
import { strict as assert } from "assert";
import {
    assertLiveCoverage,
    checkLiveCoverage,
    MaskingCoverageError,
    parseMaskingRules,
    readLiveColumns,
    renderRulesFile,
} from "../../components/masking";
import { loadMigrationColumns } from "../../components/masking/migrationColumns";
import { scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { engineSettings, migrationsDir, withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";

const FILES = {
    "0001_accounts.sql": [
        "CREATE TABLE accounts (",
        "  id bigint PRIMARY KEY,",
        "  email varchar(80) NOT NULL,",
        "  legacy_pin text,",
        "  profile jsonb",
        ");",
        "CREATE VIEW account_emails AS SELECT id, email FROM accounts;",
    ].join("\n"),
    "0002_dynamic.sql": [
        "DO $$ BEGIN",
        "  EXECUTE 'CREATE TABLE audit_log (id bigint, actor_email text, at timestamptz)';",
        "END $$;",
    ].join("\n"),
    "0003_copies.sql": [
        "CREATE TABLE account_snapshots AS SELECT id, email FROM accounts;",
        "CREATE TABLE accounts_archive (LIKE accounts);",
    ].join("\n"),
    "0004_events.sql": [
        "CREATE TABLE events (id bigint, happened_on date NOT NULL, ip inet) PARTITION BY RANGE (happened_on);",
        "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
    ].join("\n"),
    "0005_drop_pin.sql": "-- keel:allow-destructive\nALTER TABLE accounts DROP COLUMN legacy_pin;\n",
};

/** Every column the database has, once each, as `table.column type`. */
const EXPECTED = [
    "account_snapshots.id bigint",
    "account_snapshots.email character varying(80)",
    "accounts.id bigint",
    "accounts.email character varying(80)",
    "accounts.profile jsonb",
    "accounts_archive.id bigint",
    "accounts_archive.email character varying(80)",
    "accounts_archive.legacy_pin text",
    "accounts_archive.profile jsonb",
    "audit_log.id bigint",
    "audit_log.actor_email text",
    "audit_log.at timestamp with time zone",
    "events.id bigint",
    "events.happened_on date",
    "events.ip inet",
    "app.notes.body text",
];

const id = (c: { table: string; column: string }) => `${c.table}.${c.column}`;

describe("masking: the live catalog's columns", function () {
    this.timeout(120_000);
    let url: string;
    let dir: string;

    before(async () => {
        url = await freshDatabase("mask_live");
        dir = migrationsDir(FILES);
        const result = await applyMigrations(url, scanMigrations(dir), engineSettings());
        assert.equal(result.applied.length, 5);
        // A table made outside the files (an adopted database): only the catalog knows it.
        await withClient(url, (c) => c.query("CREATE SCHEMA app; CREATE TABLE app.notes (body text)"));
    });

    it("reads every column once: partitions folded into their root, no view, no dropped column, no history table", async () => {
        const live = await withClient(url, (c) => readLiveColumns(c));
        assert.deepEqual(live.map((c) => `${id(c)} ${c.type}`).sort(), [...EXPECTED].sort());
        const notes = live.find((c) => c.table === "app.notes")!;
        assert.deepEqual({ schema: notes.schema, relation: notes.relation }, { schema: "app", relation: "notes" });
    });

    it("the history table in another schema (keel:migrations.historySchema) is left out there too", async () => {
        const other = await freshDatabase("mask_live_hist");
        await applyMigrations(
            other,
            scanMigrations(migrationsDir({ "0001_a.sql": "CREATE TABLE a (x int);" })),
            engineSettings({ historySchema: "keel" }),
        );
        const live = await withClient(other, (c) => readLiveColumns(c, { historySchema: "keel" }));
        // The runner creates the files' tables in the history's schema too (its search_path).
        assert.deepEqual(live.map(id), ["keel.a.x"]);
        // Read as if the history were in public, Keel's table in `keel` is a user table like any other.
        const asIfPublic = await withClient(other, (c) => readLiveColumns(c));
        assert.ok(asIfPublic.some((c) => c.table === "keel.keel_schema_history"));
    });

    it("the migration files miss what the live catalog finds", async () => {
        const files = await loadMigrationColumns(dir, "migrations");
        const fromFiles = new Set(files.columns.map(id));
        const live = await withClient(url, (c) => readLiveColumns(c));
        const missed = live.map(id).filter((c) => !fromFiles.has(c));
        assert.deepEqual(
            missed.sort(),
            [
                "account_snapshots.email",
                "account_snapshots.id",
                "accounts_archive.email",
                "accounts_archive.legacy_pin",
                "accounts_archive.id",
                "accounts_archive.profile",
                "app.notes.body",
                "audit_log.actor_email",
                "audit_log.at",
                "audit_log.id",
            ].sort(),
        );
        // The files say which statements they cannot tell; the live check is what tells them.
        assert.ok(files.unknown.some((u) => /DO block/.test(u.what)));
    });

    it("rules written from the files fail the live check: each missing column with its line, the stale one named", async () => {
        const files = await loadMigrationColumns(dir, "migrations");
        const text = renderRulesFile(files.columns) + "\nlegacy_users:\n  email: email\n";
        const rules = parseMaskingRules(text, "db/masking.yaml");
        const live = await withClient(url, (c) => readLiveColumns(c));
        const result = checkLiveCoverage(live, rules, url);

        assert.deepEqual(result.unclassified.map(id).sort(), [
            "account_snapshots.email",
            "account_snapshots.id",
            "accounts_archive.email",
            "accounts_archive.id",
            "accounts_archive.legacy_pin",
            "accounts_archive.profile",
            "app.notes.body",
            "audit_log.actor_email",
            "audit_log.at",
            "audit_log.id",
        ]);
        const actor = result.unclassified.find((u) => id(u) === "audit_log.actor_email")!;
        assert.equal(actor.line, "  actor_email: email  # review: guessed an email address");
        assert.equal(actor.tableMissing, true);
        assert.deepEqual(
            result.stale.map((s) => `${s.table}:${s.line}`),
            [`legacy_users:${text.split("\n").indexOf("legacy_users:") + 1}`],
        );

        // The message names the database by host and name, never its password, and says it was the live catalog.
        let err: unknown;
        try {
            assertLiveCoverage(live, rules, url);
        } catch (e) {
            err = e;
        }
        assert.ok(err instanceof MaskingCoverageError);
        const host = new URL(url);
        assert.match(err.message, new RegExp(`does not match the live catalog of ${host.hostname}:${host.port}${host.pathname}`));
        assert.match(
            err.message,
            /audit_log\.actor_email \(in the live catalog of [^)]+\)\n {4}fix: add 'audit_log:' and under it 'actor_email: email/,
        );
        assert.match(err.message, /db\/masking\.yaml:\d+: table legacy_users no longer exists/);
        if (host.password) assert.ok(!err.message.includes(decodeURIComponent(host.password)));
        assert.equal(err.origin, result.origin);
    });

    it("rules that classify every live column pass", async () => {
        const live = await withClient(url, (c) => readLiveColumns(c));
        const rules = parseMaskingRules(renderRulesFile(live), "db/masking.yaml");
        const result = checkLiveCoverage(live, rules, "db.internal:5432/app");
        assert.deepEqual([result.unclassified, result.stale], [[], []]);
        assert.equal(result.origin, "the live catalog of db.internal:5432/app");
        assertLiveCoverage(live, rules, url);
    });
});
