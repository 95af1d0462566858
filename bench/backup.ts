/**
 * npm run bench:backup [-- --mb 200 --runs 3]
 *
 * On a throwaway cluster, generates a database of about `mb` MB (a wide events
 * table with an index, a table of binary blobs, a small lookup table), then, in
 * one run, alternating the two sides of each pair `runs` times:
 *   - Keel's backup (takeDump without the pg_restore --list verification: the
 *     dump, its sha256, the fingerprint and row counts read in the dump's
 *     snapshot, the sidecar) against bare `pg_dump -Fc` with the same binary;
 *   - Keel's restore (sha256 and TOC check of the file, a scratch database,
 *     pg_restore, the fingerprint and row-count check, the swap) against bare
 *     `createdb` + `pg_restore` into that fresh database, from the same file.
 * Prints medians, the ratios and PASS/FAIL against 1.1x. Exits 0 either way:
 * it reports, it is not a gate.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { executeRestore, formatBytes, libpqEnv, pgToolsFor, planRestore, takeDump, urlForDatabase } from "../components/backup/pgDump";
import { type PostgresCluster, queryRows } from "../tools/postgres";
import { median, runProcess } from "./cli";

const TARGET = 1.1;

const sql = queryRows;

/** About `mb` MB of data: 70% wide rows with an index, 25% blobs, a small table. */
async function generate(url: string, mb: number): Promise<void> {
    // Bytes per row on disk, heap and index, as measured: 200 -> about 200 MB.
    const eventRows = Math.round((mb * 0.7 * 1024 * 1024) / 350);
    const blobRows = Math.round((mb * 0.25 * 1024 * 1024) / 1750);
    await sql(
        url,
        `CREATE TABLE kinds (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO kinds SELECT g, 'kind ' || g FROM generate_series(1, 50) g;
         CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, kind int REFERENCES kinds, account bigint, payload text);
         CREATE TABLE blobs (id bigserial PRIMARY KEY, data bytea)`,
    );
    // In chunks, so progress shows and no single statement holds gigabytes.
    const chunk = 100000;
    for (let done = 0; done < eventRows; done += chunk) {
        const n = Math.min(chunk, eventRows - done);
        await sql(
            url,
            `INSERT INTO events (at, kind, account, payload)
             SELECT timestamptz '2026-01-01' + g * interval '1 second', 1 + g % 50, (g * 7919) % 100000,
                    md5(g::text) || ' ' || md5((g * 3)::text) || ' ' || repeat(chr((97 + g % 26)::int), 40) || ' ' || md5((g * 5)::text) || ' ' ||
                    md5((g * 11)::text) || ' ' || md5((g * 13)::text) || ' ' || md5((g * 17)::text) || ' ' || md5((g * 19)::text)
             FROM generate_series($1::bigint, $2::bigint) g`,
            [done + 1, done + n],
        );
    }
    for (let done = 0; done < blobRows; done += chunk) {
        const n = Math.min(chunk, blobRows - done);
        await sql(
            url,
            `INSERT INTO blobs (data) SELECT decode(repeat(md5(g::text) || md5((g + 1)::text), 32), 'hex') FROM generate_series($1::bigint, $2::bigint) g`,
            [done + 1, done + n],
        );
    }
    await sql(url, "CREATE INDEX events_account ON events (account, at)");
    await sql(url, "VACUUM ANALYZE");
}

export interface BackupBenchOptions {
    /** Size of the generated database in MB. */
    mb: number;
    /** Runs of each side. */
    runs: number;
}

/** keel bench backup (cli/bench/backup.ts). */
export async function benchBackup({ mb, runs }: BackupBenchOptions): Promise<void> {
    const { PostgresCluster } = await import("../tools/postgres");
    let cluster: PostgresCluster | undefined;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bench-backup-"));
    try {
        cluster = await PostgresCluster.start();
        const url = await cluster.createDatabase("bench_src");
        process.stdout.write(`generating about ${mb} MB ...\n`);
        const genStart = performance.now();
        await generate(url, mb);
        const size = Number((await sql(url, "SELECT pg_database_size(current_database()) AS s"))[0].s);
        const tools = await pgToolsFor(url);
        process.stdout.write(
            `database: ${formatBytes(size)} (generated in ${((performance.now() - genStart) / 1000).toFixed(1)}s); ` +
                `pg_dump/pg_restore ${tools.version} from ${tools.dir}, server ${tools.serverVersion}; ${os.cpus().length} CPUs; ${runs} runs each\n`,
        );

        // Backups: bare and Keel alternate, so neither always runs on a warmer cache.
        const bare: number[] = [];
        const keel: number[] = [];
        let keelFile = "";
        const env = libpqEnv(url, process.env);
        for (let i = 0; i < runs; i++) {
            const bareFile = path.join(work, `bare-${i}.dump`);
            let t = performance.now();
            await runProcess(tools.pgDump, ["-Fc", "-f", bareFile], env);
            bare.push(performance.now() - t);
            const bareSize = fs.statSync(bareFile).size;
            fs.rmSync(bareFile);

            t = performance.now();
            const record = await takeDump(url, {
                dir: work,
                stack: "bench",
                beforeVersion: String(i + 1),
                schemaVersion: String(i),
                verify: false,
            });
            keel.push(performance.now() - t);
            if (keelFile) fs.rmSync(keelFile);
            keelFile = record.location;
            process.stdout.write(
                `  backup run ${i + 1}: pg_dump -Fc ${(bare[i] / 1000).toFixed(2)}s (${formatBytes(bareSize)}), Keel ${(keel[i] / 1000).toFixed(2)}s (${formatBytes(record.sizeBytes!)})\n`,
            );
        }

        // Restores, from Keel's last dump: bare into a fresh database; Keel over a target it swaps out.
        const [record] = JSON.parse(`[${fs.readFileSync(`${keelFile}.json`, "utf8")}]`);
        const bareRestore: number[] = [];
        const keelRestore: number[] = [];
        const admin = urlForDatabase(url, "postgres");
        for (let i = 0; i < runs; i++) {
            const fresh = `bench_bare_${i}`;
            let t = performance.now();
            // What a person types: createdb, then pg_restore into it.
            await runProcess(path.join(tools.dir, "createdb"), ["-T", "template0", fresh], libpqEnv(url, process.env, "postgres"));
            await runProcess(tools.pgRestore, ["--exit-on-error", "-d", fresh, keelFile], libpqEnv(url, process.env, fresh));
            bareRestore.push(performance.now() - t);
            await sql(admin, `DROP DATABASE ${fresh}`);

            const target = `bench_target_${i}`;
            await sql(admin, `CREATE DATABASE ${target} TEMPLATE template0`);
            const targetUrl = urlForDatabase(url, target);
            t = performance.now();
            const plan = await planRestore(targetUrl, record);
            const result = await executeRestore(targetUrl, plan);
            keelRestore.push(performance.now() - t);
            await sql(admin, `DROP DATABASE ${target}`);
            await sql(admin, `DROP DATABASE ${result.previous}`);
            process.stdout.write(
                `  restore run ${i + 1}: pg_restore ${(bareRestore[i] / 1000).toFixed(2)}s, Keel ${(keelRestore[i] / 1000).toFixed(2)}s\n`,
            );
        }

        const rows: [string, number, number][] = [
            ["backup (Keel takeDump, no verification) vs pg_dump -Fc", median(keel), median(bare)],
            ["restore (Keel, checked and swapped) vs createdb + pg_restore", median(keelRestore), median(bareRestore)],
        ];
        process.stdout.write(`\nmedians of ${runs} (target: within ${TARGET}x)\n`);
        for (const [what, k, b] of rows) {
            const ratio = k / b;
            process.stdout.write(
                `  ${what}: ${(k / 1000).toFixed(2)}s vs ${(b / 1000).toFixed(2)}s = ${ratio.toFixed(3)}x ${ratio <= TARGET ? "PASS" : "FAIL"}\n`,
            );
        }
    } finally {
        await cluster?.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}
