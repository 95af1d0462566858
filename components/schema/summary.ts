/**
 * What the program needs of each migration file (the Schema resource's inputs):
 * its identity and the parser's lint facts. Parsing is the program's largest
 * cost at every preview, so the facts of files already seen are kept in a cache
 * keyed by the file's checksum and by the analysis that produced them (the
 * text of Keel's SQL analysis modules and the parser's version): an edited file,
 * or a Keel whose analysis changed, is parsed again. Only files that parsed
 * without a problem are cached, so every problem is found again at every run.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError } from "../errors";
import { MigrationFile, MigrationSource, parseMigration, problemReport, readMigrationDir } from "./migrationSet";

/** Lint facts and identity of one file, as the resource's inputs carry them. */
export interface MigrationSummary {
    version: string;
    name: string;
    file: string;
    checksum: string;
    transaction: boolean;
    allowDestructive: boolean;
    /** Destructive statements found by the parser, e.g. `line 3: DROP TABLE users`. */
    destructive: string[];
    /** Other findings shown as warnings (present when there are some), e.g. `line 4: uses 'x', added by ALTER TYPE …`. */
    warnings?: string[];
}

export function summarizeMigration(f: MigrationFile): MigrationSummary {
    return summaryOf(
        f,
        f.destructive.map((d) => `line ${d.line}: ${d.what}`),
        f.warnings.map((w) => `line ${w.line}: ${w.what}`),
    );
}

function summaryOf(s: MigrationSource, destructive: string[], warnings: string[] = []): MigrationSummary {
    return {
        version: s.version,
        name: s.name,
        file: s.file,
        checksum: s.checksum,
        transaction: s.directives.transaction,
        allowDestructive: s.directives.allowDestructive,
        destructive,
        ...(warnings.length ? { warnings } : {}),
    };
}

interface LintCache {
    analysis: string;
    /** checksum -> destructive statements of a file that parsed without a problem. */
    files: Record<string, string[]>;
    /** checksum -> warnings, for the files that have some. */
    warnings?: Record<string, string[]>;
}

let analysisId: string | undefined;

/** Identifies the analysis: the SQL modules as loaded (source or built) and the parser's version. */
function analysis(): string {
    if (!analysisId) {
        const h = createHash("sha256");
        for (const m of ["./sql", "./pgLexer", "./migrationSet"]) h.update(fs.readFileSync(require.resolve(m)));
        h.update(JSON.parse(fs.readFileSync(require.resolve("libpg-query/package.json"), "utf8")).version);
        analysisId = h.digest("hex").slice(0, 16);
    }
    return analysisId;
}

function readCache(file: string | undefined): LintCache {
    try {
        if (file) {
            const cache = JSON.parse(fs.readFileSync(file, "utf8")) as LintCache;
            if (cache.analysis === analysis() && cache.files && typeof cache.files === "object") return cache;
        }
    } catch {
        // No cache yet, or an unreadable one: everything is parsed.
    }
    return { analysis: analysis(), files: {} };
}

/**
 * Summaries of every migration in `dir`, ordered by version; every problem of
 * the directory and its files at once. `cacheFile` keeps the facts of files
 * parsed before (none when undefined).
 */
export async function loadMigrationSummaries(
    dir: string,
    options: { display?: string; cacheFile?: string } = {},
): Promise<MigrationSummary[]> {
    const { display = dir, cacheFile } = options;
    const { sources, problems } = readMigrationDir(dir, display);
    const cache = readCache(cacheFile);
    const kept: Record<string, string[]> = {};
    const keptWarnings: Record<string, string[]> = {};
    const summaries: MigrationSummary[] = [];
    for (const source of sources) {
        const known = cache.files[source.checksum];
        if (Array.isArray(known)) {
            const warnings = cache.warnings?.[source.checksum] ?? [];
            kept[source.checksum] = known;
            if (warnings.length) keptWarnings[source.checksum] = warnings;
            summaries.push(summaryOf(source, known, warnings));
            continue;
        }
        try {
            const summary = summarizeMigration(await parseMigration(source));
            kept[source.checksum] = summary.destructive;
            if (summary.warnings) keptWarnings[source.checksum] = summary.warnings;
            summaries.push(summary);
        } catch (err: any) {
            problems.push(err instanceof MigrationFileError ? err.message : `${source.path}: ${err?.message ?? err}`);
        }
    }
    if (problems.length) throw problemReport(display, problems);
    if (
        cacheFile &&
        (JSON.stringify(kept) !== JSON.stringify(cache.files) || JSON.stringify(keptWarnings) !== JSON.stringify(cache.warnings ?? {}))
    ) {
        writeCache(cacheFile, {
            analysis: analysis(),
            files: kept,
            ...(Object.keys(keptWarnings).length ? { warnings: keptWarnings } : {}),
        });
    }
    return summaries;
}

function writeCache(file: string, cache: LintCache): void {
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(cache));
        fs.renameSync(tmp, file);
    } catch {
        // The cache only saves time: a read-only checkout parses every file, as without it.
    }
}
