/** COPY text lines and the row masker, as properties (fast-check): what PostgreSQL writes is read back exactly, and only masked fields change. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { decodeField, encodeField, joinLine, splitLine } from "../../components/copy/copyText";
import { lineMasker, MaskingStream } from "../../components/copy/rowMasker";

const value = fc.option(fc.string({ unit: "binary" }), { nil: null });

describe("COPY text format", () => {
    it("decodeField(encodeField(v)) is v for any text and NULL; an encoded field never holds a tab or newline", () => {
        fc.assert(
            fc.property(value, (v) => {
                const enc = encodeField(v);
                assert.doesNotMatch(enc, /[\t\n\r]/);
                assert.equal(decodeField(enc), v);
            }),
        );
    });

    it("reads PostgreSQL's octal and hex escapes as bytes (UTF-8 across escapes)", () => {
        assert.equal(decodeField("\\303\\274ber"), "über");
        assert.equal(decodeField("\\xc3\\xbc"), "ü");
        assert.equal(decodeField("a\\\\b\\tc"), "a\\b\tc");
        assert.equal(decodeField("\\N"), null);
        assert.equal(decodeField("\\\\N"), "\\N");
    });

    it("a line splits into its fields and joins back", () => {
        fc.assert(
            fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), (vs) => {
                const line = joinLine(vs.map(encodeField));
                assert.deepEqual(splitLine(line).map(decodeField), vs);
            }),
        );
    });

    it("the line masker changes exactly the masked fields, and passes the others byte for byte", () => {
        fc.assert(
            fc.property(fc.array(fc.tuple(value, fc.boolean()), { minLength: 1, maxLength: 8 }), (cols) => {
                const mask = (v: string | null) => (v === null ? null : `<${v.length}>`);
                const m = lineMasker(cols.map(([, masked]) => (masked ? mask : undefined)));
                const out = splitLine(m(joinLine(cols.map(([v]) => encodeField(v)))));
                cols.forEach(([v, masked], i) => assert.equal(decodeField(out[i]), masked ? mask(v) : v));
            }),
        );
    });

    it("a row with the wrong number of fields is an error, not a shifted row", () => {
        assert.throws(() => lineMasker([undefined, undefined])("a\tb\tc"), /3 fields where 2 were selected/);
    });

    it("the stream masks lines split anywhere across chunks (multi-byte characters too) and counts them", async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.array(fc.string({ unit: "grapheme" }), { maxLength: 20 }),
                fc.array(fc.nat(), { maxLength: 10 }),
                async (rows, cuts) => {
                    const text = Buffer.from(rows.map((r) => encodeField(r) + "\n").join(""), "utf8");
                    const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
                    const chunks: Buffer[] = [];
                    let at = 0;
                    for (const p of [...points, text.length]) {
                        chunks.push(text.subarray(at, p));
                        at = p;
                    }
                    const stream = new MaskingStream(lineMasker([(v) => (v === null ? null : v.toUpperCase())]));
                    const out: Buffer[] = [];
                    stream.on("data", (d: Buffer) => out.push(d));
                    for (const c of chunks) stream.write(c);
                    stream.end();
                    await new Promise((r) => stream.on("end", r));
                    const lines = Buffer.concat(out).toString("utf8").split("\n").slice(0, -1);
                    assert.deepEqual(
                        lines.map(decodeField),
                        rows.map((r) => r.toUpperCase()),
                    );
                    assert.equal(stream.rows, rows.length);
                },
            ),
            { numRuns: 60 },
        );
    });
});
