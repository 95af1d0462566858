/**
 * What `npm run drift` makes of each stack's refresh preview, and how it says
 * it: the engine's events reduced to the resources changed outside Keel, the
 * schema's drift (objects added, changed or removed outside migrations, and
 * history rows recorded elsewhere) and the migrations still pending; then one
 * table, details per stack, Markdown for the drift workflow's issue, JSON,
 * and the exit code. Pure: no engine, no database.
 */
import type { ConfigProblem } from "../../components/errors";

/** The SchemaMigrations resource's type token (components/schema/provider.ts). */
export const SCHEMA_TYPE = "pulumi-nodejs:dynamic/keel:SchemaMigrations";

/** What the refresh found of one resource. */
export interface ResourceChange {
    urn: string;
    /** `pulumi-nodejs:dynamic/keel:FlyMachines`, `github:index/repositoryRuleset:RepositoryRuleset`, … */
    type: string;
    /** The resource's name in the program (the URN's last part). */
    name: string;
    /** The engine's step: `delete` (gone), `update` (its provider sees a change), `same`. */
    op: string;
    /** What changed, in words: the provider's drift lines, else the properties that differ. */
    lines: string[];
}

export interface HistoryRowSeen {
    version: string;
    name: string;
    checksum: string;
    status: string;
}

export interface RefreshFindings {
    resources: ResourceChange[];
    /** The schema resource's refreshed outputs, when the stack has one. */
    schema?: {
        /** `+ index public.x: … (added outside migrations)`, `~ …`, `- …`. */
        objects: string[];
        /** `+ history: version 3 (…) recorded as applied outside this stack`, … */
        history: string[];
        /** The history rows the database holds (applied and baseline). */
        applied: HistoryRowSeen[];
        /** The migrations directory and plan settings of the last deploy (the resource's inputs). */
        migrationsDir?: string;
        plan?: { allowMissing: boolean; outOfOrder: boolean; baseline?: string };
    };
}

/** The parts of an engine event this module reads (structurally the Automation API's EngineEvent). */
export interface RefreshEvent {
    resOutputsEvent?: { metadata: StepMetadata };
    resOpFailedEvent?: { metadata: StepMetadata };
}

interface StepMetadata {
    op: string;
    urn: string;
    type: string;
    old?: { custom?: boolean; outputs?: Record<string, any>; inputs?: Record<string, any> };
    new?: { custom?: boolean; outputs?: Record<string, any>; inputs?: Record<string, any> };
    diffs?: string[];
}

function nameOf(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

function stringList(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function planInputs(inputs: Record<string, any> | undefined): {
    migrationsDir?: string;
    plan?: { allowMissing: boolean; outOfOrder: boolean; baseline?: string };
} {
    const s = inputs?.settings;
    return {
        ...(typeof inputs?.migrationsDir === "string" ? { migrationsDir: inputs.migrationsDir } : {}),
        ...(s && typeof s === "object"
            ? {
                  plan: {
                      allowMissing: s.allowMissing === true,
                      outOfOrder: s.outOfOrder === true,
                      ...(typeof s.baseline === "string" ? { baseline: s.baseline } : {}),
                  },
              }
            : {}),
    };
}

/** Reduces a refresh preview's events to what changed outside Keel. */
export function refreshFindings(events: RefreshEvent[]): RefreshFindings {
    const resources: ResourceChange[] = [];
    let schema: RefreshFindings["schema"];
    for (const e of events) {
        const m = e.resOutputsEvent?.metadata;
        if (!m) continue;
        if (m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) continue;
        // Components are not refreshed: what they registered (the Schema component's drift among it) is the program's, from the last run.
        // (The engine leaves `custom` out of a component's state.)
        if ((m.new ?? m.old)?.custom !== true) continue;
        if (m.type === SCHEMA_TYPE) {
            const drift = stringList(m.new?.outputs?.drift);
            schema = {
                objects: drift.filter((d) => !/^[+~-] history: /.test(d)),
                history: drift.filter((d) => /^[+~-] history: /.test(d)),
                applied: (Array.isArray(m.new?.outputs?.applied) ? m.new!.outputs!.applied : []).map((a: any) => ({
                    version: String(a.version),
                    name: String(a.name),
                    checksum: String(a.checksum),
                    status: String(a.status),
                })),
                ...planInputs(m.new?.inputs ?? m.old?.inputs),
            };
            continue;
        }
        const lines = stringList(m.new?.outputs?.drift);
        if (m.op === "delete" || m.op === "discard" || (m.new === undefined && m.old !== undefined)) {
            resources.push({
                urn: m.urn,
                type: m.type,
                name: nameOf(m.urn),
                op: "delete",
                lines: [...lines, "gone: deleted outside Keel"],
            });
        } else if (lines.length || (m.op !== "same" && m.op !== "refresh" && m.op !== "read") || m.diffs?.length) {
            const changed = m.diffs?.length ? [`changed: ${m.diffs.join(", ")}`] : m.op !== "same" ? [`${m.op}`] : [];
            resources.push({ urn: m.urn, type: m.type, name: nameOf(m.urn), op: m.op, lines: lines.length ? lines : changed });
        }
    }
    return { resources, ...(schema ? { schema } : {}) };
}

// ---- A stack's result -----------------------------------------------------------

export type DriftStatus = "clean" | "drift" | "not-checked" | "not-deployed";

export interface StackDrift {
    stack: string;
    status: DriftStatus;
    /** Why the stack was not checked. */
    reason?: string;
    /** Environment variables that would let it be checked. */
    missing?: string[];
    resources: ResourceChange[];
    /** Schema objects added, changed or removed outside migrations. */
    schemaDrift: string[];
    /** History rows changed outside this stack's deploys. */
    historyDrift: string[];
    /** `<version>_<name>` of migration files the database has not applied. */
    pending: string[];
    /** Why the files and the history disagree (the next deploy would refuse), if they do. */
    problems: string[];
}

export function notChecked(stack: string, reason: string, missing: string[] = []): StackDrift {
    return {
        stack,
        status: "not-checked",
        reason,
        ...(missing.length ? { missing } : {}),
        resources: [],
        schemaDrift: [],
        historyDrift: [],
        pending: [],
        problems: [],
    };
}

/** A stack with no state in the backend yet: nothing deployed, so nothing can drift (not a failure). */
export function notDeployed(stack: string, backend: string): StackDrift {
    return {
        ...notChecked(stack, `no state in ${backend} yet (npm run up -- ${stack} deploys it)`),
        status: "not-deployed",
    };
}

export function checked(stack: string, found: Omit<StackDrift, "stack" | "status">): StackDrift {
    const drift =
        found.resources.length + found.schemaDrift.length + found.historyDrift.length + found.pending.length + found.problems.length > 0;
    return { stack, status: drift ? "drift" : "clean", ...found };
}

/** The commands that settle a stack's drift: the code wins, or the cloud wins. */
export function settleCommands(r: StackDrift): { codeWins?: string; cloudWins?: string } {
    if (r.status !== "drift") return {};
    // Schema and history drift are measured from what the last deploy recorded, so only a deploy settles them
    // (with a migration that makes or undoes the change); a refresh records it in schemaDrift but keeps it drift.
    const code = r.resources.length + r.schemaDrift.length + r.historyDrift.length + r.pending.length + r.problems.length > 0;
    const cloud = r.resources.length > 0;
    return {
        ...(code ? { codeWins: `npm run up -- ${r.stack}` } : {}),
        ...(cloud ? { cloudWins: `npm run refresh -- ${r.stack}` } : {}),
    };
}

/** 1 when any stack drifts, else 2 when any could not be checked, else 0 (a stack never deployed is no failure). */
export function driftExitCode(results: StackDrift[]): number {
    if (results.some((r) => r.status === "drift")) return 1;
    if (results.some((r) => r.status === "not-checked")) return 2;
    return 0;
}

/** The configuration keys whose credential a refresh needs (the resources' providers read them). */
const REFRESH_CREDENTIALS = ["keel:neonApiKey", "keel:flyApiToken", "keel:renderApiKey", "keel:vercelApiToken", "keel:githubToken"];

/**
 * Splits a stack's configuration problems into the credentials the shell lacks
 * (their environment variables, from `… is not set and NEON_API_KEY is not in
 * the environment`) and every other problem.
 */
export function credentialProblems(problems: ConfigProblem[]): { missing: string[]; other: ConfigProblem[] } {
    const missing: string[] = [];
    const other: ConfigProblem[] = [];
    for (const p of problems) {
        const env = /is not set and ([A-Z][A-Z0-9_]*) is not in the environment/.exec(p.message)?.[1];
        if (env && REFRESH_CREDENTIALS.includes(p.key)) {
            if (!missing.includes(env)) missing.push(env);
        } else if (!env) other.push(p);
        // A credential only a deploy needs (keel:pulumiPassphrase, keel:registryPassword): not the refresh's.
    }
    return { missing, other };
}

// ---- In words ---------------------------------------------------------------------

/** `2 added, 1 changed, 1 removed`, or `none`. */
export function schemaDriftSummary(lines: string[]): string {
    const count = (sign: string) => lines.filter((l) => l.startsWith(`${sign} `)).length;
    const parts = [
        count("+") ? `${count("+")} added` : "",
        count("~") ? `${count("~")} changed` : "",
        count("-") ? `${count("-")} removed` : "",
    ].filter(Boolean);
    return parts.length ? parts.join(", ") : "none";
}

interface Row {
    stack: string;
    outside: string;
    schema: string;
    pending: string;
    settle: string;
}

function rowOf(r: StackDrift): Row | { stack: string; text: string } {
    if (r.status === "not-checked") return { stack: r.stack, text: `not checked: ${r.reason}` };
    if (r.status === "not-deployed") return { stack: r.stack, text: `not deployed: ${r.reason}` };
    const settle = settleCommands(r);
    const history = r.historyDrift.length ? `; history: ${r.historyDrift.length}` : "";
    return {
        stack: r.stack,
        outside: String(r.resources.length),
        schema: `${schemaDriftSummary(r.schemaDrift)}${history}`,
        pending:
            String(r.pending.length) + (r.problems.length ? ` (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"})` : ""),
        settle:
            r.status === "clean"
                ? "clean"
                : [settle.codeWins ? `code wins: ${settle.codeWins}` : "", settle.cloudWins ? `cloud wins: ${settle.cloudWins}` : ""]
                      .filter(Boolean)
                      .join("; "),
    };
}

const HEADINGS: Row = {
    stack: "stack",
    outside: "changed outside Keel",
    schema: "schema drift",
    pending: "migrations pending",
    settle: "settle",
};

/** The table: one row per stack. */
export function formatDriftTable(results: StackDrift[]): string[] {
    const rows = results.map(rowOf);
    const full = [HEADINGS, ...rows.filter((r): r is Row => !("text" in r))];
    const width = (k: keyof Row) => Math.max(...full.map((r) => r[k].length), ...rows.map((r) => (k === "stack" ? r.stack.length : 0)));
    const w = { stack: width("stack"), outside: width("outside"), schema: width("schema"), pending: width("pending") };
    const line = (r: Row) =>
        [r.stack.padEnd(w.stack), r.outside.padEnd(w.outside), r.schema.padEnd(w.schema), r.pending.padEnd(w.pending), r.settle].join("  ");
    return [HEADINGS, ...rows].map((r) => ("text" in r ? `${r.stack.padEnd(w.stack)}  ${r.text}` : line(r)).trimEnd());
}

/** Why `npm run up` alone does not settle schema drift, and what does. */
export function schemaSettleNote(stack: string): string {
    return (
        `npm run up does not undo schema changes made by hand, and npm run refresh does not make them the norm: to let the code win, ` +
        `write a migration that undoes them (or undo them by hand); to keep them, write a migration that makes them ` +
        `(npm run schema:diff -- <database with them> <database without> --sql starts one); then npm run up -- ${stack}, which records the schema as it is.`
    );
}

/** Per stack that drifts: what exactly, and how to settle it (the table says why a stack was not checked). */
export function formatDriftDetails(results: StackDrift[]): string[] {
    const out: string[] = [];
    for (const r of results) {
        if (r.status !== "drift") continue;
        out.push("", `${r.stack}: drift`);
        if (r.resources.length) {
            out.push("  resources changed outside Keel:");
            for (const res of r.resources) {
                out.push(`    ${shortType(res.type)} ${res.name}:`);
                for (const l of res.lines) out.push(`      ${l}`);
            }
        }
        if (r.schemaDrift.length) {
            out.push("  schema objects changed outside migrations:");
            for (const l of r.schemaDrift) out.push(`    ${l}`);
        }
        if (r.historyDrift.length) {
            out.push("  migration history changed outside this stack's deploys:");
            for (const l of r.historyDrift) out.push(`    ${l}`);
        }
        if (r.pending.length) out.push(`  migrations pending: ${r.pending.join(", ")}`);
        for (const p of r.problems) out.push(`  problem: ${p}`);
        const settle = settleCommands(r);
        out.push(
            `  settle: ${[settle.codeWins && `the code wins: ${settle.codeWins}`, settle.cloudWins && `the cloud wins: ${settle.cloudWins}`].filter(Boolean).join("; ")}`,
        );
        if (r.schemaDrift.length) out.push(`  ${schemaSettleNote(r.stack)}`);
    }
    return out;
}

/** `keel:FlyMachines` for Keel's own dynamic resources, else the type as the engine names it. */
export function shortType(type: string): string {
    return type.startsWith("pulumi-nodejs:dynamic/") ? type.slice("pulumi-nodejs:dynamic/".length) : type;
}

function mdCode(text: string): string {
    const clean = text.replace(/\r?\n/g, " ");
    const fence = clean.includes("`") ? "``" : "`";
    return `${fence}${fence.length > 1 ? " " : ""}${clean}${fence.length > 1 ? " " : ""}${fence}`;
}

function mdCell(text: string): string {
    return text.replace(/\|/g, "\\|");
}

/** The drift workflow's issue body: the table, then every drifted object and resource, and the commands. */
export function formatDriftMarkdown(results: StackDrift[]): string {
    const out: string[] = [
        "| stack | changed outside Keel | schema drift | migrations pending | settle |",
        "| --- | --- | --- | --- | --- |",
    ];
    for (const r of results) {
        const row = rowOf(r);
        if ("text" in row) out.push(`| ${mdCell(r.stack)} | ${mdCell(row.text)} | | | |`);
        else {
            const s = settleCommands(r);
            const settle =
                r.status === "clean"
                    ? "clean"
                    : [s.codeWins && `code wins: ${mdCode(s.codeWins)}`, s.cloudWins && `cloud wins: ${mdCode(s.cloudWins)}`]
                          .filter(Boolean)
                          .join("; ");
            out.push(`| ${mdCell(r.stack)} | ${row.outside} | ${mdCell(row.schema)} | ${mdCell(row.pending)} | ${settle} |`);
        }
    }
    for (const r of results) {
        if (r.status !== "drift") continue;
        out.push("", `### ${r.stack}`);
        if (r.schemaDrift.length) {
            out.push("", "Schema objects changed outside migrations:", "");
            for (const l of r.schemaDrift) out.push(`- ${mdCode(l)}`);
        }
        if (r.historyDrift.length) {
            out.push("", "Migration history changed outside this stack's deploys:", "");
            for (const l of r.historyDrift) out.push(`- ${mdCode(l)}`);
        }
        if (r.resources.length) {
            out.push("", "Resources changed outside Keel:", "");
            for (const res of r.resources)
                out.push(`- ${mdCode(`${shortType(res.type)} ${res.name}`)}: ${res.lines.map(mdCode).join(", ")}`);
        }
        if (r.pending.length) out.push("", `Migrations pending: ${r.pending.map(mdCode).join(", ")}`);
        for (const p of r.problems) out.push("", `Problem: ${p}`);
        if (r.schemaDrift.length) out.push("", schemaSettleNote(r.stack));
    }
    return `${out.join("\n")}\n`;
}

/** `--json`: every stack's result with its settle commands, and the exit code. */
export function driftJson(results: StackDrift[]): {
    exitCode: number;
    stacks: (StackDrift & { settle: ReturnType<typeof settleCommands> })[];
} {
    return { exitCode: driftExitCode(results), stacks: results.map((r) => ({ ...r, settle: settleCommands(r) })) };
}
