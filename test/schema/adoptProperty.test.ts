/**
 * Properties of schema:adopt's pure parts over generated inputs: Keel's file
 * names keep every tool's order (dbmate's byte order, node-pg-migrate's
 * numeric-then-name order, Flyway's dotted versions, Prisma's directory names)
 * and always match Keel's file pattern; names are sanitized idempotently; the
 * comparison with a history refuses exactly the failed, rolled-back, missing,
 * edited and skipped migrations, each once and by name; the checksums behave
 * as the tools' (Flyway's ignores line ends and a BOM; Prisma's tolerates
 * CRLF); dbmate's sections come back as written.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { dbmateSections, readDbmateLayout } from "../../components/schema/adopt/dbmate";
import { compareFlywayVersions, flywayChecksum, readFlywayLayout } from "../../components/schema/adopt/flyway";
import {
    compareBytes,
    sanitizeName,
    ToolFile,
    ToolHistory,
    ToolHistoryEntry,
    ToolMigration,
    ToolRules,
} from "../../components/schema/adopt/model";
import { compareNodePgMigrateFiles, readNodePgMigrateLayout } from "../../components/schema/adopt/nodePgMigrate";
import { adoptedFiles, compareWithHistory, keelFileNames } from "../../components/schema/adopt/plan";
import { prismaChecksum, prismaChecksumMatches, readPrismaLayout } from "../../components/schema/adopt/prisma";
import { compareVersions, MAX_VERSION, MIGRATION_FILE_PATTERN } from "../../components/schema/migrationSet";

const RUNS = { numRuns: 300 };
const KEEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A name as users write them: words, spaces, punctuation, accents, sometimes nothing. */
const rawName = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.stringMatching(/^[a-z]{1,8}([ _-][a-z]{1,8}){0,3}$/),
    fc.constantFrom("", "_", "--", "créer table", "Add users!", "a/b", "x".repeat(150)),
);

/** Keel's view of an adoption's files: versions rise, names match, versions fit bigint. */
function assertKeelOrder(files: { file: string; version: string }[]): void {
    for (const [i, f] of files.entries()) {
        assert.ok(MIGRATION_FILE_PATTERN.test(f.file), `${f.file} matches Keel's pattern`);
        assert.ok(BigInt(f.version) <= MAX_VERSION);
        if (i > 0) assert.ok(compareVersions(files[i - 1].version, f.version) < 0, `${files[i - 1].file} before ${f.file}`);
    }
}

/** Adopts every migration as applied and checks Keel's order on the result; its files, for the caller's comparison. */
function adoptedAsApplied(title: string, migrations: ToolMigration[]) {
    const { files } = adoptedFiles(
        { title },
        migrations,
        migrations.map(() => "applied"),
        [],
    );
    assertKeelOrder(files);
    return files;
}

const toolFiles = (entries: [string, string][]): ToolFile[] => entries.map(([p, t]) => ({ path: p, bytes: Buffer.from(t, "utf8") }));

/** A straightforward bitwise CRC32, to check Flyway's checksum against something other than zlib. */
function crc32Bitwise(bytes: Buffer): number {
    let crc = 0xffffffff;
    for (const b of bytes) {
        crc ^= b;
        for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) | 0;
}

describe("schema:adopt, properties", () => {
    it("sanitizeName: always Keel's pattern, at most 100 characters, idempotent; a valid name stays as it is", () => {
        fc.assert(
            fc.property(rawName, (raw) => {
                const s = sanitizeName(raw);
                assert.match(s, KEEL_NAME);
                assert.ok(s.length <= 100);
                assert.equal(sanitizeName(s), s);
                if (KEEL_NAME.test(raw) && raw.length <= 100 && !raw.endsWith("_")) assert.equal(s, raw);
            }),
            RUNS,
        );
    });

    it("keelFileNames: keeps the tool's numbers when they already rise in its order, else numbers 0001… in that order", () => {
        const number = fc.oneof(
            fc.constant(undefined),
            fc.bigInt({ min: 0n, max: 99999n }).map(String),
            fc.bigInt({ min: 0n, max: 999n }).map((n) => `00${n}`),
            fc.bigInt({ min: 20200101000000n, max: 20991231235959n }).map(String),
            fc.constant("99999999999999999999"), // above bigint
        );
        fc.assert(
            fc.property(fc.array(fc.record({ number, name: rawName }), { maxLength: 30 }), (ms) => {
                const { names, renumbered } = keelFileNames(ms);
                assertKeelOrder(names);
                const numbers = ms.map((m) => (m.number === undefined || BigInt(m.number) > MAX_VERSION ? undefined : BigInt(m.number)));
                const rising = numbers.every((n, i) => n !== undefined && (i === 0 || numbers[i - 1]! < n));
                assert.equal(renumbered, !rising);
                names.forEach((n, i) => {
                    assert.equal(n.digits, rising ? ms[i].number : String(i + 1).padStart(Math.max(4, String(ms.length).length), "0"));
                    assert.equal(n.name, sanitizeName(ms[i].name));
                });
            }),
            RUNS,
        );
    });

    it("dbmate: Keel's version order is dbmate's order (file names byte by byte), whatever the digits", () => {
        const version = fc.oneof(
            fc.nat({ max: 200 }).map(String),
            fc.nat({ max: 200 }).map((n) => `0${n}`),
            fc.bigInt({ min: 20200101000000n, max: 20301231235959n }).map(String),
        );
        fc.assert(
            fc.property(
                fc.uniqueArray(version, { maxLength: 15 }),
                fc.array(rawName, { minLength: 15, maxLength: 15 }),
                (versions, names) => {
                    const entries = versions.map((v, i): [string, string] => [
                        `${v}_${sanitizeName(names[i])}.sql`,
                        `-- migrate:up\nSELECT ${i};\n-- migrate:down\n`,
                    ]);
                    const layout = readDbmateLayout(toolFiles(entries));
                    assert.deepEqual(layout.problems, []);
                    const expected = entries.map((e) => e[0]).sort(compareBytes);
                    assert.deepEqual(
                        layout.migrations.map((m) => m.source),
                        expected,
                    );
                    assert.deepEqual(
                        adoptedAsApplied("dbmate", layout.migrations).map((f) => f.from.source),
                        expected,
                    );
                },
            ),
            RUNS,
        );
    });

    it("node-pg-migrate: Keel's order is node-pg-migrate's (its number, 17 digits as a UTC time, then the name)", () => {
        const prefix = fc.oneof(
            fc.integer({ min: 1600000000000, max: 1800000000000 }).map(String),
            fc
                .date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
                .map((d) => d.toISOString().replace(/\D/g, "")),
            fc.nat({ max: 50 }).map((n) => String(n).padStart(4, "0")),
        );
        fc.assert(
            fc.property(
                fc.uniqueArray(fc.tuple(prefix, fc.stringMatching(/^[a-z]{1,6}$/)), { maxLength: 12, selector: ([p, n]) => `${p}_${n}` }),
                (items) => {
                    const entries = items.map(([p, n], i): [string, string] => [`${p}_${n}.sql`, `SELECT ${i};`]);
                    const layout = readNodePgMigrateLayout(toolFiles(entries));
                    const expected = entries.map((e) => e[0]).sort(compareNodePgMigrateFiles);
                    assert.deepEqual(
                        layout.migrations.map((m) => m.source),
                        expected,
                    );
                    assert.deepEqual(
                        adoptedAsApplied("node-pg-migrate", layout.migrations).map((f) => f.from.source),
                        expected,
                    );
                },
            ),
            RUNS,
        );
    });

    it("Flyway: Keel's order is Flyway's version order (1 < 1.1 < 1.10 < 2), in any subdirectory", () => {
        const part = fc.nat({ max: 20 });
        const version = fc
            .tuple(fc.array(part, { minLength: 1, maxLength: 3 }), fc.constantFrom(".", "_"))
            .map(([ps, sep]) => ps.join(sep));
        fc.assert(
            fc.property(
                fc.uniqueArray(version, { maxLength: 12, comparator: (a, b) => compareFlywayVersions(a, b) === 0 }),
                fc.boolean(),
                (versions, nested) => {
                    const entries = versions.map((v, i): [string, string] => [
                        `${nested && i % 2 ? "sub/" : ""}V${v}__Step_${i}.sql`,
                        `SELECT ${i};`,
                    ]);
                    const layout = readFlywayLayout(toolFiles(entries));
                    assert.deepEqual(layout.problems, []);
                    const expected = [...versions].sort(compareFlywayVersions);
                    assert.deepEqual(
                        layout.migrations.map((m) => m.source.replace(/^sub\//, "").replace(/^V(.*)__.*$/, "$1")),
                        expected,
                    );
                    assert.deepEqual(
                        adoptedAsApplied("Flyway", layout.migrations).map((f) => f.from.id),
                        layout.migrations.map((m) => m.id),
                    );
                },
            ),
            RUNS,
        );
    });

    it("Prisma: Keel's order is the directories' name order", () => {
        fc.assert(
            fc.property(
                fc.uniqueArray(
                    fc.stringMatching(/^\d{0,14}_?[a-z]{0,5}$/).filter((s) => s.length > 0),
                    { maxLength: 12 },
                ),
                (dirs) => {
                    const layout = readPrismaLayout(
                        toolFiles(dirs.map((d, i): [string, string] => [`${d}/migration.sql`, `SELECT ${i};`])),
                    );
                    const expected = [...dirs].sort(compareBytes);
                    assert.deepEqual(
                        layout.migrations.map((m) => m.id),
                        expected,
                    );
                    assert.deepEqual(
                        adoptedAsApplied("Prisma", layout.migrations).map((f) => f.from.id),
                        expected,
                    );
                },
            ),
            RUNS,
        );
    });

    it("compareWithHistory refuses exactly the failed, rolled-back, missing, edited and skipped migrations, each once and by name", () => {
        type Fate = "applied" | "edited" | "failed" | "rolled-back" | "pending" | "missing";
        const rules: ToolRules = { tool: "flyway", title: "Tool", checksumMatches: (m, c) => m.checksum === c, settle: () => "settle it" };
        fc.assert(
            fc.property(
                fc.array(fc.constantFrom<Fate>("applied", "applied", "edited", "failed", "rolled-back", "pending", "missing"), {
                    maxLength: 20,
                }),
                (fates) => {
                    const migrations: ToolMigration[] = [];
                    const entries: ToolHistoryEntry[] = [];
                    fates.forEach((fate, i) => {
                        const id = `m${i}`;
                        if (fate !== "missing")
                            migrations.push({ id, source: `${id}.sql`, name: id, sql: "", noTransaction: false, checksum: `c${i}` });
                        if (fate === "applied" || fate === "missing") entries.push({ id, status: "applied", checksum: `c${i}` });
                        if (fate === "edited") entries.push({ id, status: "applied", checksum: `old${i}` });
                        if (fate === "failed" || fate === "rolled-back") entries.push({ id, status: fate });
                    });
                    const history: ToolHistory = { table: "t", entries, notes: [] };
                    const { states, problems } = compareWithHistory(rules, migrations, history);
                    // Expected, worked out from the fates: the last applied file decides which pending ones were skipped.
                    const present = fates.map((f, i) => ({ f, i })).filter((x) => x.f !== "missing");
                    const lastApplied = Math.max(-1, ...present.map((x, k) => (x.f === "applied" || x.f === "edited" ? k : -1)));
                    const expected = fates.flatMap((f, i) => {
                        const k = present.findIndex((x) => x.i === i);
                        if (f === "edited") return [`m${i}.sql was edited`];
                        if (f === "failed") return [`m${i} is recorded as failed`];
                        if (f === "rolled-back") return [`m${i} is recorded as rolled back`];
                        if (f === "missing") return [`m${i} is applied (t records it) but the directory has no file`];
                        if (f === "pending" && k < lastApplied) return [`m${i}.sql is not applied`];
                        return [];
                    });
                    assert.equal(problems.length, expected.length, problems.join("\n"));
                    for (const e of expected)
                        assert.equal(problems.filter((p) => p.startsWith(e)).length, 1, `${e} in\n${problems.join("\n")}`);
                    assert.deepEqual(
                        states,
                        present.map((x) => (x.f === "edited" ? "applied" : x.f)),
                    );
                },
            ),
            RUNS,
        );
    });

    it("Flyway's checksum: CRC32 of the lines' bytes, whatever the line ends; a BOM at the start does not count", () => {
        const line = fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ""));
        fc.assert(
            fc.property(fc.array(fc.tuple(line, fc.constantFrom("\n", "\r\n", "\r")), { maxLength: 10 }), fc.boolean(), (lines, bom) => {
                const text = (bom ? "\uFEFF" : "") + lines.map(([l, end]) => l + end).join("");
                const contents = lines.map(([l]) => l);
                // Flyway drops one BOM from the first line: the one added here, or else one the first line starts with.
                if (!bom && contents.length) contents[0] = contents[0].replace(/^\uFEFF/, "");
                assert.equal(flywayChecksum(text), crc32Bitwise(Buffer.from(contents.join(""), "utf8")));
            }),
            RUNS,
        );
    });

    it("Prisma's checksum: the same script with CRLF or LF line ends matches; another script does not", () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc.string({ maxLength: 15 }).map((s) => s.replace(/[\r\n]/g, "")),
                    { maxLength: 8 },
                ),
                fc.string({ minLength: 1, maxLength: 5 }),
                (lines, extra) => {
                    const lf = lines.map((l) => `${l}\n`).join("");
                    const crlf = lf.replace(/\n/g, "\r\n");
                    assert.ok(prismaChecksumMatches(crlf, prismaChecksum(lf)));
                    assert.ok(prismaChecksumMatches(lf, prismaChecksum(crlf)));
                    assert.ok(!prismaChecksumMatches(lf + extra, prismaChecksum(lf)));
                },
            ),
            RUNS,
        );
    });

    it("dbmate's sections come back as written, with their transaction option", () => {
        const body = fc
            .array(fc.stringMatching(/^(SELECT [0-9]{1,3};|-- note [a-z]{0,5}|)$/), { maxLength: 4 })
            .map((ls) => ls.map((l) => `${l}\n`).join(""));
        fc.assert(
            fc.property(fc.array(fc.tuple(body, body, fc.boolean()), { minLength: 1, maxLength: 4 }), (sections) => {
                const text = sections
                    .map(([up, down, tx]) => `-- migrate:up${tx ? "" : " transaction:false"}\n${up}-- migrate:down\n${down}`)
                    .join("");
                const parsed = dbmateSections(text);
                assert.ok("sections" in parsed, JSON.stringify(parsed));
                assert.deepEqual(
                    parsed.sections.map((s) => [s.up, s.transaction]),
                    sections.map(([up, , tx]) => [`-- migrate:up${tx ? "" : " transaction:false"}\n${up}`, tx]),
                );
            }),
            RUNS,
        );
    });
});
