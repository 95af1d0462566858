/**
 * npm run bench:mask [-- --mb 1024 --runs 3]
 *
 * Issue 23's figure: a masked copy of a database against a plain copy of it. On a
 * throwaway cluster, generates about `mb` MB (bench/mask/data.ts: accounts,
 * orders, events; emails, names, phones, notes, a jsonb payload, foreign keys),
 * then alternates `runs` times:
 *   - plain: `createdb` + `pg_dump -Fc source | pg_restore -d target`, a pipe,
 *     with the binaries Keel's backups use;
 *   - masked: Keel's copyDatabase with the rules of data.ts into an existing
 *     target, which it replaces (a scratch database, checked, swapped in).
 * The masked copy's progress lines are printed with the time into the copy (where
 * the time goes). After each masked run checks the target outside the timing: the same row counts
 * as the source and no source email left. Prints medians, the ratio masked/plain
 * and PASS/FAIL against 1.5x. Exits 0 either way: it reports, it is not a gate.
 */
import { spawn } from "child_process";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { formatBytes, libpqEnv, pgToolsFor, urlForDatabase } from "../../components/backup/pgDump";
import { copyDatabase } from "../../components/copy";
import { parseMaskingRules } from "../../components/masking";
import { type PostgresCluster, queryRows } from "../../tools/postgres";
import { median, runProcess } from "../cli";
import { BENCH_MASKING_RULES, BENCH_TABLES, generateBenchData, SOURCE_EMAIL_DOMAIN } from "./data";

const TARGET = 1.5;
/** Any key of 16 bytes or more masks; the figure does not depend on which. */
const KEY = "keel-bench-mask-key-not-a-secret";

const sql = queryRows;

/** `pg_dump -Fc` of the source piped into `pg_restore -d target`, as one would type it; fails when either side does. */
function dumpPipeRestore(tools: { pgDump: string; pgRestore: string }, sourceUrl: string, target: string): Promise<void> {
    const exited = (child: ReturnType<typeof spawn>, name: string, err: () => string) =>
        new Promise<void>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited ${code}: ${err()}`))));
        });
    const dump = spawn(tools.pgDump, ["-Fc"], { env: libpqEnv(sourceUrl, process.env), stdio: ["ignore", "pipe", "pipe"] });
    const restore = spawn(tools.pgRestore, ["--exit-on-error", "-d", target], {
        env: libpqEnv(sourceUrl, process.env, target),
        stdio: ["pipe", "ignore", "pipe"],
    });
    let dumpErr = "";
    let restoreErr = "";
    dump.stderr!.setEncoding("utf8").on("data", (d: string) => (dumpErr += d));
    restore.stderr!.setEncoding("utf8").on("data", (d: string) => (restoreErr += d));
    // pg_restore stopping early closes the pipe: pg_dump's EPIPE is its exit code's to report.
    restore.stdin!.on("error", () => undefined);
    dump.stdout!.pipe(restore.stdin!);
    return Promise.all([exited(dump, "pg_dump", () => dumpErr), exited(restore, "pg_restore", () => restoreErr)]).then(() => undefined);
}

/** Row counts per table, and how many source emails (accounts and payloads) a database holds. */
async function contents(url: string): Promise<{ rows: Record<string, number>; leaked: number }> {
    const rows: Record<string, number> = {};
    for (const t of BENCH_TABLES) rows[t] = Number((await sql(url, `SELECT count(*) AS n FROM ${t}`))[0].n);
    const like = `'%@${SOURCE_EMAIL_DOMAIN}'`;
    const [{ n }] = await sql(
        url,
        `SELECT (SELECT count(*) FROM accounts WHERE email LIKE ${like}) + (SELECT count(*) FROM events WHERE payload->'customer'->>'email' LIKE ${like}) AS n`,
    );
    return { rows, leaked: Number(n) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

export interface MaskBenchOptions {
    /** Size of the generated database in MB. */
    mb: number;
    /** Runs of each side. */
    runs: number;
}

/** keel bench mask (cli/bench/mask.ts). */
export async function benchMask({ mb, runs }: MaskBenchOptions): Promise<void> {
    const { PostgresCluster } = await import("../../tools/postgres");
    let cluster: PostgresCluster | undefined;
    try {
        cluster = await PostgresCluster.start();
        const sourceUrl = await cluster.createDatabase("bench_src");
        const admin = urlForDatabase(sourceUrl, "postgres");
        const rules = parseMaskingRules(BENCH_MASKING_RULES, "bench/mask/data.ts");

        process.stdout.write(`generating about ${mb} MB ...\n`);
        const genStart = performance.now();
        await generateBenchData(sourceUrl, mb, (line) => process.stdout.write(`  ${line}\n`));
        const size = Number((await sql(sourceUrl, "SELECT pg_database_size(current_database()) AS s"))[0].s);
        const source = await contents(sourceUrl);
        const totalRows = Object.values(source.rows).reduce((a, b) => a + b, 0);
        const tools = await pgToolsFor(sourceUrl);
        process.stdout.write(
            `database: ${formatBytes(size)}, ${totalRows.toLocaleString("en-US")} rows ` +
                `(${BENCH_TABLES.map((t) => `${t} ${source.rows[t].toLocaleString("en-US")}`).join(", ")}), ` +
                `generated in ${seconds(performance.now() - genStart)}; pg_dump/pg_restore ${tools.version} from ${tools.dir}, ` +
                `server ${tools.serverVersion}; ${os.cpus().length} CPUs; ${runs} runs each\n`,
        );

        // Plain and masked alternate, so neither always runs on a warmer cache.
        const plain: number[] = [];
        const masked: number[] = [];
        for (let i = 0; i < runs; i++) {
            const fresh = `bench_plain_${i}`;
            let t = performance.now();
            await runProcess(path.join(tools.dir, "createdb"), ["-T", "template0", fresh], libpqEnv(sourceUrl, process.env, "postgres"));
            await dumpPipeRestore(tools, sourceUrl, fresh);
            plain.push(performance.now() - t);
            await sql(admin, `DROP DATABASE ${fresh}`);

            // copyDatabase replaces an existing database: the target is there before the clock starts, as in `keel db copy`.
            const target = `bench_masked_${i}`;
            await sql(admin, `CREATE DATABASE ${target} TEMPLATE template0`);
            const targetUrl = urlForDatabase(sourceUrl, target);
            t = performance.now();
            const start = t;
            // Its progress lines, stamped with the time into the copy: where the time goes (rows, post-data, checks).
            const progress = (line: string) => process.stdout.write(`    masked ${seconds(performance.now() - start)}: ${line}\n`);
            const result = await copyDatabase({ sourceUrl, targetUrl, masking: { rules, key: KEY }, progress });
            masked.push(performance.now() - t);
            const copied = await contents(targetUrl);
            const counts = BENCH_TABLES.filter((tb) => copied.rows[tb] !== source.rows[tb]).map(
                (tb) => `${tb} ${copied.rows[tb]} rows, source ${source.rows[tb]}`,
            );
            await sql(admin, `DROP DATABASE ${target}`);
            await sql(admin, `DROP DATABASE "${result.previous}"`);
            process.stdout.write(
                `  run ${i + 1}: plain ${seconds(plain[i])}, masked ${seconds(masked[i])}` +
                    `${counts.length ? `; ROW COUNTS DIFFER: ${counts.join(", ")}` : ""}` +
                    `${copied.leaked ? `; ${copied.leaked} SOURCE EMAILS LEFT IN THE COPY` : ""}\n`,
            );
        }

        const m = median(masked);
        const p = median(plain);
        const ratio = m / p;
        process.stdout.write(
            `\nmedians of ${runs} on ${formatBytes(size)} (target: within ${TARGET}x)\n` +
                `  masked copy (Keel copyDatabase) vs pg_dump -Fc | pg_restore: ${seconds(m)} vs ${seconds(p)} = ${ratio.toFixed(3)}x ` +
                `${ratio <= TARGET ? "PASS" : "FAIL"}\n`,
        );
    } finally {
        await cluster?.stop();
    }
}
