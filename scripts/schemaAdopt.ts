/**
 * schema:adopt — Keel takes over a database another tool migrated (Prisma,
 * dbmate, node-pg-migrate, Flyway): the tool's migrations become Keel's files
 * in the stack's migrations directory (or --out), in the tool's order, and the
 * ones its history table records as applied are recorded in keel_schema_history
 * with the new files' checksums, in one transaction; the tool's table is only
 * read. Nothing is written when the tool's history has a failed or rolled-back
 * migration, an applied one whose file is gone, or a file edited since it was
 * applied: each is named. Prints the plan and asks first (--yes does not ask).
 *
 *   npm run schema:adopt -- --from dbmate [--dir db/migrations] [--stack dev] [--yes]
 */
import * as fs from "fs";
import * as path from "path";
import { MigrationFileError, MigrationHistoryError } from "../components/errors";
import { describeTarget, openClient } from "../components/postgres/connection";
import { findTable, isToolName, listToolFiles, planAdoption, ToolHistory, TOOLS } from "../components/schema/adopt";
import { count } from "../components/schema/adopt/model";
import { describeFiles, summarize } from "../components/schema/adopt/plan";
import { readMigrationDir } from "../components/schema/migrationSet";
import { readHistory, recordAdoption } from "../components/schema/runner";
import { databaseUrl, settingsFor } from "./lib/migrationSettings";
import { UsageError } from "./lib/usageError";

export const TOOL_LIST = Object.keys(TOOLS).join("|");

export interface AdoptIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    confirm(question: string): Promise<boolean>;
}

function sameDirectory(a: string, b: string): boolean {
    const real = (p: string) => {
        try {
            return fs.realpathSync(p);
        } catch {
            return path.resolve(p);
        }
    };
    return real(a) === real(b);
}

export interface AdoptOptions {
    /** The tool whose history to adopt. */
    from?: string;
    /** Its migrations directory (default: the tool's own). */
    dir?: string;
    /** Its history table (default: the tool's own name, found through the search_path). */
    table?: string;
    /** Whose keel:migrations settings apply (dev when not named). */
    stack?: string;
    url?: string;
    /** Where to write Keel's files (default: the stack's keel:migrations.dir). */
    out?: string;
    historySchema?: string;
    yes?: boolean;
}

export async function runAdopt(options: AdoptOptions, io: AdoptIo): Promise<number> {
    const from = options.from;
    if (!from || !isToolName(from))
        throw new UsageError(`--from needs one of ${TOOL_LIST.replace(/\|/g, ", ")}${from ? `, not '${from}'` : ""}`);
    const tool = TOOLS[from];
    const title = tool.rules.title;
    // The stack's settings, without this command's --dir (which names the tool's directory, not Keel's).
    const stack = options.stack;
    const { dir: stackDir, engine, database } = settingsFor({ stack: stack ?? "dev", historySchema: options.historySchema }, io);
    const url = await databaseUrl({ stack: stack ?? "dev", url: options.url }, io, database);
    const outDir = options.out ?? stackDir;
    const toolDir = options.dir ?? tool.defaultDir;
    const toolAbs = path.resolve(io.root, toolDir);
    const outAbs = path.resolve(io.root, outDir);
    if (!fs.existsSync(toolAbs) || !fs.statSync(toolAbs).isDirectory()) {
        throw new MigrationFileError(`${toolDir} is not a directory: pass --dir <the directory ${title} reads its migrations from>.`);
    }

    const problems: string[] = [];
    if (sameDirectory(toolAbs, outAbs)) {
        problems.push(
            `${toolDir} is both ${title}'s directory and where Keel's files go: move ${title}'s files elsewhere first ` +
                `(git mv ${toolDir} ${toolDir}-${from}, then --dir ${toolDir}-${from}), or write Keel's with --out <dir>.`,
        );
    } else if (fs.existsSync(outAbs)) {
        const { sources, problems: dirProblems } = readMigrationDir(outAbs, outDir);
        if (sources.length) {
            const names = sources.slice(0, 5).map((s) => s.file);
            problems.push(
                `${outDir} already holds ${count(sources.length, "migration")} (${names.join(", ")}${sources.length > 5 ? ", …" : ""}): ` +
                    `adopting starts Keel's directory, it does not merge into one. Pass --out <an empty directory>, or move them away.`,
            );
        }
        problems.push(...dirProblems);
    }

    const layout = tool.readLayout(listToolFiles(toolAbs));
    const tableName = options.table ?? tool.defaultTable;
    const client = await openClient(url, { applicationName: "keel-adopt (reading)" });
    let history: ToolHistory;
    let table: { ref: string; table: string } | undefined;
    try {
        table = await findTable(client, tableName);
        if (!table) {
            throw new MigrationHistoryError(
                `${describeTarget(url)} has no table ${tableName}: is this the database ${title} migrated? ` +
                    `Pass --table <schema.table> if its history lives elsewhere; nothing was written.`,
            );
        }
        history = await tool.readHistory(client, table.table, table.ref);
        const keel = await readHistory(client, engine);
        if (keel.length) {
            problems.push(
                `${engine.historySchema}.${engine.historyTable} already has ${count(keel.length, "row")}: Keel already keeps this database's history ` +
                    `(npm run schema:status shows it); adopting starts one.`,
            );
        }
    } finally {
        await client.end().catch(() => undefined);
    }

    const adoption = await planAdoption(tool, layout, history, engine.plan);
    const all = [...problems, ...adoption.problems];
    io.out(
        `adopting ${title}'s history of ${describeTarget(url)} (${history.table}, files in ${toolDir}) ` +
            `into ${outDir}/ and ${engine.historySchema}.${engine.historyTable}:`,
    );
    for (const line of describeFiles(adoption.files)) io.out(line);
    for (const note of adoption.notes) io.out(`  note: ${note}`);
    if (adoption.files.length) {
        io.out(
            adoption.renumbered
                ? `  versions: numbered in ${title}'s order (its own are not whole numbers that sort in that order)`
                : `  versions: ${title}'s own`,
        );
    }
    io.out(summarize(adoption.files));
    if (all.length) {
        throw new MigrationHistoryError(
            `${title}'s history cannot be adopted (${count(all.length, "problem")}); nothing was written:\n` +
                all.map((p) => `  - ${p}`).join("\n"),
        );
    }
    if (!adoption.files.length) {
        io.out(`nothing to adopt: ${toolDir} holds no ${title} migration and ${history.table} records none; nothing was written.`);
        return 0;
    }
    const question = `Write ${count(adoption.files.length, "file")} to ${outDir}/ and record ${adoption.rows.length} in keel_schema_history? (yes/no) `;
    if (options.yes !== true && !(await io.confirm(question))) {
        io.out("not confirmed: nothing was written (pass --yes to go ahead without asking).");
        return 1;
    }

    const written: string[] = [];
    const madeDir = !fs.existsSync(outAbs);
    const write = () => {
        fs.mkdirSync(outAbs, { recursive: true });
        for (const f of adoption.files) {
            const file = path.join(outAbs, f.file);
            // 'wx': never over a file that appeared since the check.
            fs.writeFileSync(file, f.text, { flag: "wx" });
            written.push(file);
        }
    };
    // Under Keel's lock, in the transaction: the tool's history must still be the one the plan was made from.
    const planned = JSON.stringify(history.entries);
    const verify = async (c: Parameters<typeof tool.readHistory>[0]) => {
        const now = await tool.readHistory(c, table!.table, table!.ref);
        if (JSON.stringify(now.entries) !== planned) {
            throw new MigrationHistoryError(
                `${history.table} changed while schema:adopt was planning (is ${title} running?); nothing was written. Run it again.`,
            );
        }
    };
    try {
        await recordAdoption(url, { ...engine, appliedBy: `${engine.appliedBy} (schema:adopt --from ${from})` }, adoption.rows, write, {
            progress: io.out,
            verify,
        });
    } catch (err) {
        for (const file of written) fs.rmSync(file, { force: true });
        if (madeDir) fs.rmSync(outAbs, { recursive: true, force: true });
        throw err;
    }
    const pending = adoption.files.filter((f) => f.state === "pending").length;
    io.out(
        `adopted: ${count(adoption.files.length, "file")} in ${outDir}/, ${adoption.rows.length} recorded in ${engine.historySchema}.${engine.historyTable}` +
            (pending ? `; ${pending} pending, to run at the next schema:apply or pulumi up` : "; nothing pending"),
    );
    io.out(`${history.table} is left as it was: stop running ${title} against this database (drop the table when you no longer need it).`);
    if (outDir !== stackDir)
        io.out(
            `the stack reads ${stackDir}: npm run pulumi -- config set --path keel:migrations.dir ${outDir}${stack ? ` --stack ${stack}` : ""}`,
        );
    io.out(
        `check: npm run schema:status${stack || outDir !== stackDir ? " --" : ""}${stack ? ` --stack ${stack}` : ""}${outDir !== stackDir ? ` --dir ${outDir}` : ""}`,
    );
    return 0;
}
