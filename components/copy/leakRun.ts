/**
 * The leak check run over a finished copy (before it is swapped in): reads each
 * masked column of the source (in the copy's snapshot) and of the copy, compares
 * them by keyed hash (leakCheck.ts), and gives a candidate a second look when
 * the rule can legitimately map a source value onto another. A leak throws:
 * the caller drops the copy, and the target is unchanged.
 */
import type { Client } from "pg";
import { to as copyTo } from "pg-copy-streams";
import { StringDecoder } from "string_decoder";
import { Writable } from "stream";
import { pipeline } from "stream/promises";
import { KeelError } from "../errors";
import { openClient } from "../postgres/connection";
import type { MaskingKey } from "../masking/strategies";
import type { CopyPlan, MaskedColumn, TableCopy } from "./copyPlan";
import { quoteIdent } from "./copyPlan";
import { decodeField, splitLine } from "./copyText";
import { randomBytes } from "crypto";
import { canCollide, commonUnits, LeakProbe, SAMPLE_UNITS, sampleModulus, unitOutput, unitQueries, unitsOf } from "./leakCheck";

/** Original values found in the masked copy; names the columns, never the values. */
export class LeakError extends KeelError {
    constructor(readonly leaks: { column: string; found: number; sampled: number; whole: boolean }[]) {
        super(
            `The masked copy still holds original values, so it was dropped:\n` +
                leaks
                    .map(
                        (l) =>
                            `  - ${l.column}: ${l.found} value${l.found === 1 ? "" : "s"} of the source found in the copy ` +
                            `(${l.whole ? "every" : "a sample of"} ${l.sampled} value${l.sampled === 1 ? "" : "s"} compared)`,
                    )
                    .join("\n") +
                `\nThis is a fault in the masking, not in your rules: report it with the column's rule; the target was not changed.`,
            "LeakError",
        );
    }
}

/** Reads the rows of a query through COPY, each as its decoded fields. */
async function eachRow(client: Client, select: string, onRow: (fields: (string | null)[]) => void): Promise<void> {
    let rest = "";
    const decoder = new StringDecoder("utf8");
    const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
            const text = rest + decoder.write(chunk);
            const lines = text.split("\n");
            rest = lines.pop() ?? "";
            try {
                for (const line of lines) onRow(splitLine(line).map(decodeField));
                done();
            } catch (e) {
                done(e as Error);
            }
        },
    });
    await pipeline(client.query(copyTo(`COPY (${select}) TO STDOUT`)), sink);
}

/** Checks every masked column of the copy at `copyUrl`; returns what was checked, throws LeakError on a leak. */
export async function checkLeaks(
    source: Client,
    copyUrl: string,
    plan: CopyPlan,
    key: MaskingKey,
    progress: (line: string) => void,
    sampleUnits = SAMPLE_UNITS,
): Promise<string[]> {
    const copy = await openClient(copyUrl, { applicationName: "keel-copy" });
    const leaks: LeakError["leaks"] = [];
    let columns = 0;
    let compared = 0;
    let sampledColumns = 0;
    try {
        for (const t of plan.tables.filter((x) => x.copyRows && x.masked.length)) {
            const nulls = t.masked.filter((m) => m.rule.kind === "null");
            for (const m of nulls) {
                const n = Number((await copy.query(`SELECT count(${quoteIdent(m.column)})::bigint AS n FROM ${t.from}`)).rows[0].n);
                if (n) leaks.push({ column: `${t.table}.${m.column}`, found: n, sampled: n, whole: true });
                columns++;
            }
            const checked = t.masked.filter((m) => m.rule.kind !== "null");
            if (!checked.length) continue;
            progress(`leak check: ${t.table} (${checked.map((m) => m.column).join(", ")})`);
            const rows = Number((await copy.query(`SELECT count(*)::bigint AS n FROM ${t.from}`)).rows[0].n);
            for (const m of checked) {
                const { candidates, compared: n, whole } = await compareColumn(source, copy, t, m, rows, sampleUnits);
                columns++;
                compared += n;
                if (!whole) sampledColumns++;
                let found = candidates;
                if (found.length && canCollide(m.rule)) found = await notGivenByRule(source, t, m, key, found);
                if (found.length) leaks.push({ column: `${t.table}.${m.column}`, found: found.length, sampled: n, whole });
            }
        }
    } finally {
        await copy.end().catch(() => undefined);
    }
    if (leaks.length) throw new LeakError(leaks);
    return [
        `no original value in ${columns} masked column${columns === 1 ? "" : "s"} (${compared} distinct values compared` +
            (sampledColumns ? `; ${sampledColumns} large column${sampledColumns === 1 ? "" : "s"} by a consistent sample)` : ")"),
    ];
}

/**
 * One column's units on both sides, sampled in the database (hashtextextended
 * under a seed drawn for this check, so the sample cannot be predicted, and the
 * same units are kept on both sides); pattern matches are found here, by
 * JavaScript's regular expressions, with the same consistent sampling.
 */
async function compareColumn(
    source: Client,
    copy: Client,
    t: TableCopy,
    m: MaskedColumn,
    rows: number,
    sampleUnits: number,
): Promise<{ candidates: string[]; compared: number; whole: boolean }> {
    const modulus = sampleModulus(rows, sampleUnits);
    const queries = unitQueries(m.rule, quoteIdent(m.column));
    if (!queries) {
        const probe = new LeakProbe(m.rule, rows, sampleUnits);
        const select = `SELECT ${quoteIdent(m.column)} FROM ${t.from}`;
        await eachRow(source, select, (f) => probe.addSource(f[0]));
        await eachRow(copy, select, (f) => probe.addTarget(f[0]));
        return { candidates: probe.candidates(), compared: probe.sampledTarget, whole: probe.whole };
    }
    const seed = randomBytes(6).readUIntBE(0, 6);
    const candidates: string[] = [];
    let compared = 0;
    for (const q of queries) {
        const sample = modulus > 1 ? ` AND hashtextextended(u, ${seed}) % ${modulus} = 0` : "";
        const sql = `SELECT DISTINCT u FROM (SELECT ${q.expr} AS u FROM ${t.from}) units WHERE u IS NOT NULL${sample}`;
        const [src, dst] = await Promise.all([source.query({ text: sql, rowMode: "array" }), copy.query({ text: sql, rowMode: "array" })]);
        compared += dst.rows.length;
        const units = (r: { rows: unknown[][] }) => r.rows.map((row) => q.prefix + String(row[0]));
        candidates.push(...commonUnits(m.rule, units(src), units(dst)));
    }
    return { candidates, compared, whole: modulus === 1 };
}

/** The candidates the rule does not give for any source value: the real leaks. */
async function notGivenByRule(source: Client, t: TableCopy, m: MaskedColumn, key: MaskingKey, candidates: string[]): Promise<string[]> {
    const open = new Set(candidates);
    if (m.rule.kind === "sql") {
        const expr = `((${m.rule.sql})::${m.type})::text`;
        const res = await source.query(`SELECT DISTINCT ${expr} AS v FROM ${t.from} WHERE ${expr} = ANY($1::text[])`, [candidates]);
        for (const r of res.rows) open.delete(r.v);
        return [...open];
    }
    const output = unitOutput(m.rule, key)!;
    const rule = m.rule;
    await eachRow(source, `SELECT ${quoteIdent(m.column)} FROM ${t.from}`, (f) => {
        for (const unit of unitsOf(rule, f[0])) {
            const out = output(unit);
            if (out !== undefined) open.delete(out);
        }
    });
    return [...open];
}
