/**
 * What `keel pr up --summary <file>` writes for the pull request's comment
 * (components/previews/summary.ts): the URLs, the migrations the pull request
 * adds (those the base stack has not applied, with the parser's facts), the
 * preview's schema against the base's, and the findings of the checks a
 * pre-commit would run on those migrations. A part that cannot be read (the base
 * never deployed, its database out of reach) is a finding, never a failed `pr up`.
 */
import * as path from "path";
import type { KeelConfig } from "../../components/config";
import type { Finding } from "../../components/preflight/index";
import { previewBranchName } from "../../components/previews/naming";
import { PREVIEW_SUMMARY_VERSION, PreviewSummary } from "../../components/previews/summary";
import { openClient } from "../../components/postgres/connection";
import { readHistory } from "../../components/schema/history";
import { engineSettings, schemaSettings } from "../../components/schema/settings";
import { loadMigrationSummaries } from "../../components/schema/summary";
import { runSchemaDiff } from "../schemaDiff";
import { stackDatabaseUrl } from "./stackDatabase";

export interface SummaryInput {
    root: string;
    env: Record<string, string | undefined>;
    /** The preview's validated config (its keel:preview set). */
    config: KeelConfig;
    /** Applied migrations the pull request rewrote (the database was made again). */
    recreated: string[];
    outputs: Record<string, unknown>;
    now: Date;
}

export async function previewSummary(input: SummaryInput): Promise<PreviewSummary> {
    const { config, outputs } = input;
    const preview = config.preview!;
    const lint: Finding[] = [];
    const { dir, settings } = schemaSettings(config.migrations);
    const summaries = await loadMigrationSummaries(path.resolve(input.root, dir), { display: dir });

    // The base's applied versions: what the pull request adds is every file past them.
    let baseApplied: Set<string> | undefined;
    try {
        const url = await stackDatabaseUrl({ root: input.root, stack: preview.base, env: input.env });
        const client = await openClient(url);
        try {
            baseApplied = new Set((await readHistory(client, engineSettings(settings, preview.base))).map((r) => r.version));
        } finally {
            await client.end();
        }
    } catch (err) {
        lint.push({
            level: "warning",
            message: `the ${preview.base} stack's migration history could not be read, so every migration is listed: ${firstLine(err)}`,
        });
    }
    const added = summaries.filter((m) => !baseApplied?.has(m.version));
    for (const m of added) {
        if (m.destructive.length && !m.allowDestructive) {
            lint.push({
                level: "error",
                message: `${dir}/${m.file}: destructive (${m.destructive.join("; ")}) without -- keel:allow-destructive; staging and prod refuse it`,
                fix: `add -- keel:allow-destructive to ${dir}/${m.file} if losing that data is meant, or make the change additive`,
            });
        }
        for (const w of m.warnings ?? []) lint.push({ level: "warning", message: `${dir}/${m.file}: ${w}` });
    }

    let schemaDiff: string | undefined;
    try {
        const lines: string[] = [];
        await runSchemaDiff(
            { sides: [preview.base, config.stack] },
            { root: input.root, env: input.env, out: (t) => lines.push(t), err: () => undefined },
        );
        schemaDiff = lines.join("").trimEnd();
    } catch (err) {
        lint.push({ level: "warning", message: `the schema diff against ${preview.base} could not be made: ${firstLine(err)}` });
    }

    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    const backend = str(outputs.backendUrl);
    const health = str(outputs.backendHealthUrl);
    const database =
        config.database.kind === "neon"
            ? `Neon branch ${previewBranchName(preview.pr)}`
            : (str(outputs.previewDatabase) ?? `the ${config.database.kind} server of ${config.stack}`);
    return {
        version: PREVIEW_SUMMARY_VERSION,
        pr: preview.pr,
        stack: config.stack,
        base: preview.base,
        branch: preview.branch,
        ...(input.env.KEEL_PR_HEAD_SHA ? { headSha: input.env.KEEL_PR_HEAD_SHA } : {}),
        updatedAt: input.now.toISOString(),
        expiresAt: preview.expiresAt,
        urls: {
            ...(backend ? { backend } : {}),
            ...(health ? { health } : {}),
            ...(preview.frontend && backend
                ? { frontendVariable: { project: preview.frontend.project, key: preview.frontend.variable, gitBranch: preview.branch } }
                : {}),
        },
        database: {
            name: database,
            data: preview.data,
            ...(input.recreated.length ? { recreatedFor: input.recreated.join(", ") } : {}),
        },
        migrations: added,
        ...(schemaDiff !== undefined ? { schemaDiff } : {}),
        lint,
    };
}

function firstLine(err: unknown): string {
    return String((err as Error)?.message ?? err).split("\n")[0];
}
