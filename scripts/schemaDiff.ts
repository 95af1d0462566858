/**
 * keel schema diff <a> <b> [--sql | --json] [--history-schema <name>] (npm run schema:diff):
 * two databases' schemas compared object by object (the schema fingerprint's
 * catalog, read whole: tables, columns, constraints, indexes, views, functions,
 * triggers, enums, sequences, schemas, extensions) and their migration
 * histories (keel_schema_history). Each side is a stack's name (its database:
 * the stack output databaseUrl, through the engine) or a postgres:// URL.
 *
 *   column orders.note: text on staging, missing on prod
 *   version 3 (add_orders): applied on staging, missing on prod
 *
 * `--sql` prints instead the DDL that would create on <b> the objects only <a>
 * has, as pg_dump --schema-only writes it: a starting point for a migration
 * file. Nothing is ever applied; both databases are only read.
 * Exit 0 when equal, 1 when they differ, 2 when a side cannot be read.
 */
import * as fs from "fs";
import * as path from "path";
import {
    comparisonIsEqual,
    diffCatalogs,
    diffHistories,
    formatComparison,
    SchemaComparison,
    SideLabels,
} from "../components/postgres/catalogDiff";
import { migrationScript } from "../components/postgres/catalogDdl";
import type { DatabaseConfig } from "../components/config";
import { describeTarget, openClient } from "../components/postgres/connection";
import { schemaCatalog } from "../components/postgres/fingerprint";
import { DEFAULT_ENGINE_SETTINGS, readHistory } from "../components/schema/runner";
import { UsageError } from "./lib/usageError";
import type { PulumiCli } from "./lib/pulumiCli";
import { readStackConfig } from "./lib/stackConfig";
import { stackDatabase } from "./lib/stackDatabase";

export interface SchemaDiffIo {
    root: string;
    env: Record<string, string | undefined>;
    out(text: string): void;
    err(text: string): void;
    cli?: PulumiCli;
}

export interface Side {
    /** What the report calls it: the stack's name, else host:port/database. */
    label: string;
    url: string;
    historySchema: string;
    stack?: string;
}

const isUrl = (s: string) => /^postgres(ql)?:\/\//.test(s);

/** A side named on the command line: a URL as it is, a stack through its databaseUrl output. */
export async function resolveSide(arg: string, io: SchemaDiffIo, historySchema?: string): Promise<Side> {
    if (isUrl(arg)) return { label: describeTarget(arg), url: arg, historySchema: historySchema ?? "public" };
    if (!fs.existsSync(path.join(io.root, `Pulumi.${arg}.yaml`))) {
        throw new UsageError(`'${arg}' is neither a postgres:// URL nor a stack (no Pulumi.${arg}.yaml in ${io.root})`);
    }
    let schema = historySchema;
    let database: DatabaseConfig | undefined;
    try {
        const config = readStackConfig(io.root, arg, io.env);
        schema ??= config.migrations.historySchema;
        database = config.database;
    } catch {
        // A config problem is the deploy's to report: the history's default place is public, and the URL is the stack output.
        schema ??= "public";
    }
    // The stack's own database, by the commands' one rule (scripts/lib/stackDatabase.ts).
    const { url } = await stackDatabase({
        root: io.root,
        stack: arg,
        env: io.env,
        // Unreadable config: the stack output, which any kind but an environment-sourced external one has.
        database: database ?? { kind: "neon" },
        ...(io.cli ? { cli: io.cli } : {}),
    });
    return { label: arg, url, historySchema: schema, stack: arg };
}

export interface SideSchema {
    catalog: Record<string, string>;
    history: { version: string; name: string; checksum: string; status: string }[];
}

/** Reads a side's whole catalog and its history; read-only. */
export async function readSide(side: Side): Promise<SideSchema> {
    const client = await openClient(side.url, { applicationName: "keel-schema-diff" });
    try {
        const settings = { ...DEFAULT_ENGINE_SETTINGS, historySchema: side.historySchema };
        const catalog = await schemaCatalog(client, settings.historySchema, settings.historyTable, { full: true });
        const history = (await readHistory(client, settings)).map((r) => ({
            version: r.version,
            name: r.name,
            checksum: r.checksum,
            status: r.status,
        }));
        return { catalog, history };
    } finally {
        await client.end().catch(() => undefined);
    }
}

function labelsOf(a: Side, b: Side): SideLabels {
    return a.label === b.label ? { a: `${a.label} (first)`, b: `${b.label} (second)` } : { a: a.label, b: b.label };
}

export interface SchemaDiffOptions {
    /** The two sides: stacks or postgres:// URLs. */
    sides: string[];
    /** The DDL that would create on <b> the objects only <a> has. */
    sql?: boolean;
    json?: boolean;
    historySchema?: string;
}

export async function runSchemaDiff(options: SchemaDiffOptions, io: SchemaDiffIo): Promise<number> {
    if (options.sides.length !== 2) throw new UsageError("give two sides: stacks or postgres:// URLs");
    if (options.sql && options.json) throw new UsageError("--sql and --json: choose one");
    const { historySchema } = options;
    const [a, b] = [await resolveSide(options.sides[0], io, historySchema), await resolveSide(options.sides[1], io, historySchema)];
    const [sa, sb] = [await readSide(a), await readSide(b)];
    const comparison: SchemaComparison = { catalog: diffCatalogs(sa.catalog, sb.catalog), history: diffHistories(sa.history, sb.history) };
    const labels = labelsOf(a, b);
    const equal = comparisonIsEqual(comparison);

    if (options.sql) {
        // The command as given, a URL's credentials left out.
        const command = `npm run schema:diff -- ${[a, b].map((s) => s.stack ?? `postgres://…@${describeTarget(s.url)}`).join(" ")} --sql`;
        io.out(migrationScript(sa.catalog, comparison.catalog, comparison.history, labels, command));
        io.err(`${comparison.catalog.onlyA.length} object(s) only on ${labels.a} written as DDL; nothing was applied\n`);
    } else if (options.json) {
        const side = (s: Side, l: string) => ({ label: l, target: describeTarget(s.url), ...(s.stack ? { stack: s.stack } : {}) });
        io.out(`${JSON.stringify({ a: side(a, labels.a), b: side(b, labels.b), equal, ...comparison }, null, 2)}\n`);
    } else {
        const where = (s: Side, l: string) =>
            `${l}: ${s.stack ? `the ${s.stack} stack's database, ${describeTarget(s.url)}` : "the database at that URL"}`;
        io.out(`${[where(a, labels.a), where(b, labels.b), "", ...formatComparison(comparison, labels)].join("\n")}\n`);
    }
    return equal ? 0 : 1;
}

/** runSchemaDiff with its exit codes: 1 means "they differ", so a side that cannot be read is 2 (its error on io.err). */
export async function schemaDiff(options: SchemaDiffOptions, io: SchemaDiffIo): Promise<number> {
    try {
        return await runSchemaDiff(options, io);
    } catch (err) {
        if (err instanceof UsageError) throw err;
        io.err(`error: ${io.env.KEEL_DEBUG && (err as Error)?.stack ? (err as Error).stack : String((err as Error)?.message ?? err)}\n`);
        return 2;
    }
}
