/**
 * Masking rows on their way from one database to another: a COPY line in, the
 * same line with the masked fields replaced out. Fields no rule masks are not
 * decoded at all. The stream splits PostgreSQL's COPY output into lines (a
 * value's newlines are escaped, so a raw newline always ends a row).
 */
import { Transform, TransformCallback } from "stream";
import { decodeField, encodeField, joinLine, splitLine } from "./copyText";

/** Masks one value in its text form; NULL in, NULL out. */
export type FieldMasker = (value: string | null) => string | null;

/** A line's masker: `maskers[i]` masks field i; undefined fields pass through untouched. */
export function lineMasker(maskers: (FieldMasker | undefined)[]): (line: string) => string {
    const masked = maskers.flatMap((m, i) => (m ? [{ i, m }] : []));
    return (line) => {
        const fields = splitLine(line);
        if (fields.length !== maskers.length) {
            throw new Error(`a COPY row has ${fields.length} fields where ${maskers.length} were selected`);
        }
        for (const { i, m } of masked) fields[i] = encodeField(m(decodeField(fields[i])));
        return joinLine(fields);
    };
}

const NEWLINE = 0x0a;

/** A stream of COPY text output masked line by line; counts the rows it passed. */
export class MaskingStream extends Transform {
    rows = 0;
    private rest: Buffer = Buffer.alloc(0);

    constructor(private readonly maskLine: (line: string) => string) {
        super();
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
        try {
            const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
            const out: string[] = [];
            let start = 0;
            for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
                out.push(this.maskLine(data.toString("utf8", start, nl)));
                start = nl + 1;
            }
            this.rest = data.subarray(start);
            this.rows += out.length;
            if (out.length) this.push(out.join("\n") + "\n", "utf8");
            done();
        } catch (err) {
            done(err as Error);
        }
    }

    override _flush(done: TransformCallback): void {
        if (this.rest.length) {
            done(new Error("the COPY output ended in the middle of a row"));
            return;
        }
        done();
    }
}
