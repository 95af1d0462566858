/**
 * Fuzz test: hostile migration files through the whole engine (scanMigrations,
 * then applyMigrations on PostgreSQL 15), each compared with psql applying the
 * same bytes (-v ON_ERROR_STOP=1 --single-transaction). The files: generated
 * valid files (test/support/sqlGen.ts) mutated (a NUL byte, bytes that are not
 * UTF-8, a byte order mark at the start or inside, CR-only or CRLF line ends,
 * truncation, a deleted or duplicated range, random bytes inserted, an
 * unterminated quote, dollar quote, identifier or comment), random bytes,
 * large files (past the parser's 64 KiB pieces), and empty, white-space-only and
 * comment-only files. For every file, either
 *  - Keel refuses it (MigrationFileError, or MigrationRunError after rolling
 *    back) naming the file, without a stack trace, and NOTHING is applied: no
 *    history row, no object; psql refuses it too, unless the file holds a NUL
 *    byte or bytes that are not UTF-8 (which Keel refuses on purpose, where psql
 *    may skip them) or a backslash (a psql meta-command such as \r, which empties
 *    psql's query buffer, can make psql run something else); or
 *  - Keel applies it (one history row) exactly as psql does: the same schema
 *    (fingerprint) and the same rows in `log`.
 * Sizes are bounded (random and mutated files stay under a few KB, large
 * ones under 300 KB) and every case has a time limit, so a hang fails the test.
 * KEEL_FUZZ_RUNS=<n> runs more cases (default 150, about 15 s here).
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import type { Client } from "pg";
import { schemaFingerprint } from "../../components/postgres/fingerprint";
import { scanMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { freshDatabase } from "../support/postgres";
import { psqlApply } from "../support/psql";
import { migrationFile } from "../support/sqlGen";
import { connect, engineSettings, historyRows, migrationsDir } from "../support/migrationsDir";

const RUNS = Number(process.env.KEEL_FUZZ_RUNS ?? 150);
const FILE = "1_fuzz.sql";
const SETTINGS = engineSettings({ lockWaitSeconds: 5 });

interface HostileCase {
    what: string;
    bytes: Buffer;
}

const INVALID_UTF8 = [
    [0xe9],
    [0x93],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xff],
    [0xe2, 0x82],
    [0x80],
    [0xf4, 0x90, 0x80, 0x80],
];
const UNTERMINATED = ["'abc", "E'abc\\'", "/* abc", "/* /* */", "$$abc", "$q$abc$", '"abc', "-- abc", "U&'abc", "B'01"];
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Random bytes with no backslash (psql would read one outside quotes as a meta-command, \! runs a shell). */
const randomBytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a.map((b) => (b === 0x5c ? 0x2f : b))));

function splice(bytes: Buffer, at: number, remove: number, insert: Buffer | string): Buffer {
    const i = Math.min(at, bytes.length);
    return Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(Math.min(bytes.length, i + remove))]);
}

/** One mutation of a valid file's bytes; positions are fractions of the length. */
function mutated(bytes: Buffer): fc.Arbitrary<HostileCase> {
    const pos = fc.double({ min: 0, max: 1, noNaN: true }).map((f) => Math.floor(f * bytes.length));
    return fc.oneof(
        fc.constant({ what: "valid", bytes }),
        pos.map((p) => ({ what: `NUL at ${p}`, bytes: splice(bytes, p, 0, Buffer.from([0])) })),
        fc
            .tuple(pos, fc.constantFrom(...INVALID_UTF8))
            .map(([p, seq]) => ({ what: `not UTF-8 (${seq}) at ${p}`, bytes: splice(bytes, p, 0, Buffer.from(seq)) })),
        fc.constant({ what: "BOM at the start", bytes: Buffer.concat([BOM, bytes]) }),
        pos.map((p) => ({ what: `BOM at ${p}`, bytes: splice(bytes, p, 0, BOM) })),
        fc.constant({ what: "CR-only line ends", bytes: Buffer.from(bytes.toString("utf8").replace(/\r\n|\n/g, "\r")) }),
        fc.constant({ what: "CRLF line ends", bytes: Buffer.from(bytes.toString("utf8").replace(/\r\n|\r|\n/g, "\r\n")) }),
        pos.map((p) => ({ what: `truncated at ${p}`, bytes: bytes.subarray(0, p) })),
        fc
            .tuple(pos, fc.integer({ min: 1, max: 40 }))
            .map(([p, n]) => ({ what: `${n} bytes deleted at ${p}`, bytes: splice(bytes, p, n, "") })),
        fc.tuple(pos, fc.integer({ min: 1, max: 80 }), pos).map(([p, n, q]) => ({
            what: `${n} bytes at ${p} copied to ${q}`,
            bytes: splice(bytes, q, 0, bytes.subarray(p, p + n)),
        })),
        fc
            .tuple(pos, randomBytes(12))
            .map(([p, r]) => ({ what: `random bytes ${r.toString("hex")} at ${p}`, bytes: splice(bytes, p, 0, r) })),
        fc
            .tuple(pos, fc.constantFrom(...UNTERMINATED))
            .map(([p, u]) => ({ what: `unterminated ${JSON.stringify(u)} at ${p}`, bytes: splice(bytes, p, 0, u) })),
        fc
            .constantFrom(...UNTERMINATED)
            .map((u) => ({ what: `ends in unterminated ${JSON.stringify(u)}`, bytes: Buffer.concat([bytes, Buffer.from(`\n${u}`)]) })),
    );
}

/** A valid file grown past the parser's pieces with INSERTs (and CRLF and CR line ends). */
const large: fc.Arbitrary<HostileCase> = fc
    .tuple(migrationFile(3), fc.integer({ min: 70000, max: 300000 }), fc.constantFrom("\n", "\r\n", "\r"))
    .map(([f, size, eol]) => {
        const rows: string[] = [];
        for (let i = 0, n = f.text.length; n < size; i++) {
            const row = `INSERT INTO log VALUES (${1000 + i}, 'row ${i}; -- not a comment /* nor this');${eol}`;
            rows.push(row);
            n += row.length;
        }
        return { what: `large (${size} bytes)`, bytes: Buffer.from(`${f.text};${eol}${rows.join("")}`) };
    });

const NAMED: HostileCase[] = [
    { what: "empty", bytes: Buffer.alloc(0) },
    { what: "white space", bytes: Buffer.from(" \t\r\n\f\r") },
    { what: "comments only", bytes: Buffer.from("-- a\r/* b /* c */ */\r\n--") },
    { what: "semicolons only", bytes: Buffer.from(";;\n;") },
    { what: "BOM only", bytes: BOM },
    { what: "BOM and a statement", bytes: Buffer.concat([BOM, Buffer.from("CREATE TABLE log (n int, v text);")]) },
    { what: "two BOMs", bytes: Buffer.concat([BOM, BOM, Buffer.from("CREATE TABLE log (n int, v text);")]) },
    { what: "NUL only", bytes: Buffer.from([0]) },
    { what: "NUL between statements", bytes: Buffer.from("CREATE TABLE log (n int, v text);\0DROP TABLE log;") },
    { what: "lone CRs", bytes: Buffer.from("\r\r\r") },
    { what: "CR-ended comment", bytes: Buffer.from("-- c\rCREATE TABLE log (n int, v text);\rINSERT INTO log VALUES (1, 'a');\r") },
    { what: "vertical tab (PostgreSQL 15: not white space)", bytes: Buffer.from("CREATE TABLE log (n int,\vv text);") },
    { what: "vertical tab after the last statement", bytes: Buffer.from("CREATE TABLE log (n int, v text);\v") },
    {
        what: "vertical tab between statements",
        bytes: Buffer.from("CREATE TABLE log (n int, v text);\r\v;INSERT INTO log VALUES (1, 'a')"),
    },
    { what: "no-break space", bytes: Buffer.from("CREATE TABLE log (n int, v text);\u00a0") },
    { what: "no-break space only", bytes: Buffer.from("\u00a0") },
    { what: "byte order mark only, twice", bytes: Buffer.concat([BOM, BOM]) },
    { what: "Latin-1", bytes: Buffer.from([...Buffer.from("CREATE TABLE log (n int, v text DEFAULT 'caf"), 0xe9, ...Buffer.from("');")]) },
    ...UNTERMINATED.map((u) => ({
        what: `unterminated ${JSON.stringify(u)}`,
        bytes: Buffer.from(`CREATE TABLE log (n int, v text); ${u}`),
    })),
];

const hostileCase: fc.Arbitrary<HostileCase> = fc.oneof(
    { arbitrary: migrationFile(5).chain((f) => mutated(Buffer.from(f.text))), weight: 8 },
    { arbitrary: randomBytes(400).map((b) => ({ what: "random bytes", bytes: b })), weight: 1 },
    { arbitrary: large, weight: 1 },
    { arbitrary: fc.constantFrom(...NAMED), weight: 1 },
);

function isUtf8(bytes: Buffer): boolean {
    try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        return true;
    } catch {
        return false;
    }
}

/** The database's schema (without Keel's history table) and the rows of `log`, if it exists. */
async function state(client: Client): Promise<{ objects: Record<string, string>; log?: string[] }> {
    const { objects } = await schemaFingerprint(client, "public", "keel_schema_history");
    const exists = (await client.query("SELECT to_regclass('public.log') IS NOT NULL AS present")).rows[0].present;
    if (!exists) return { objects };
    const rows = await client
        .query("SELECT to_jsonb(l)::text AS row FROM log l ORDER BY 1")
        .catch((err) => ({ rows: [{ row: `unreadable: ${err.message}` }] }));
    return { objects, log: rows.rows.map((r: { row: string }) => r.row) };
}

async function reset(client: Client): Promise<void> {
    await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
}

describe("hostile migration files (fuzz, PostgreSQL 15 and psql)", function () {
    this.timeout(Math.max(600000, RUNS * 2000));
    let keelUrl: string;
    let psqlUrl: string;
    let keel: Client;
    let psql: Client;
    /** The state of a database holding nothing but the empty public schema. */
    let empty: Awaited<ReturnType<typeof state>>;

    before(async () => {
        keelUrl = await freshDatabase("fuzz");
        psqlUrl = await freshDatabase("fuzz");
        keel = await connect(keelUrl);
        psql = await connect(psqlUrl);
        await reset(keel);
        empty = await state(keel);
    });

    after(async () => {
        await keel?.end();
        await psql?.end();
    });

    async function check(c: HostileCase): Promise<void> {
        await reset(keel);
        await reset(psql);
        const dir = migrationsDir();
        fs.writeFileSync(path.join(dir, FILE), c.bytes);
        let refusal: Error | undefined;
        try {
            const result = await applyMigrations(keelUrl, scanMigrations(dir), SETTINGS);
            assert.deepEqual(
                result.ran.map((r) => r.version),
                ["1"],
            );
        } catch (err) {
            refusal = err as Error;
        }
        const byPsql = psqlApply(psqlUrl, path.join(dir, FILE));
        fs.rmSync(dir, { recursive: true, force: true });
        const label = `${c.what}: ${JSON.stringify(c.bytes.toString("latin1").slice(0, 300))}`;
        const keelState = await state(keel);
        if (refusal) {
            assert.ok(
                ["MigrationFileError", "MigrationRunError"].includes(refusal.name),
                `${label}: refused with ${refusal.name}: ${refusal.stack}`,
            );
            assert.ok(refusal.message.includes(FILE), `${label}: the message names the file: ${refusal.message}`);
            assert.doesNotMatch(refusal.message, /\n\s+at /, `${label}: no stack trace in the message`);
            assert.deepEqual(await historyRows(keelUrl), [], `${label}: no history row`);
            assert.deepEqual(keelState, empty, `${label}: nothing applied`);
            const onPurpose = c.bytes.includes(0) || !isUtf8(c.bytes) || c.bytes.includes(0x5c);
            assert.ok(!byPsql.ok || onPurpose, `${label}: Keel refused what psql applies: ${refusal.message}`);
        } else {
            assert.deepEqual(
                (await historyRows(keelUrl)).map((r) => [r.version, r.status]),
                [["1", "applied"]],
                label,
            );
            assert.ok(byPsql.ok, `${label}: Keel applied what psql refuses: ${byPsql.output}`);
            assert.deepEqual(keelState, await state(psql), `${label}: Keel and psql leave different databases`);
        }
    }

    it(`named hostile files (${NAMED.length})`, async () => {
        for (const c of NAMED) await check(c);
    });

    it(`generated hostile files (${RUNS})`, async () => {
        await fc.assert(
            fc.asyncProperty(hostileCase, (c) => check(c)),
            // A case running past the limit fails (a hang); the sizes above keep a case well under a second here.
            { numRuns: RUNS, timeout: 60000 },
        );
    });
});
