/**
 * Masking rows on their way from one database to another: a COPY line in, the
 * same line with the masked fields replaced out. Fields no rule masks are not
 * decoded at all. The stream splits PostgreSQL's COPY output into lines (a
 * value's newlines are escaped, so a raw newline always ends a row).
 */
import { Transform, TransformCallback } from "stream";
import type { Rule } from "../masking/rules";
import { MaskingKey, strategyFor } from "../masking/strategies";
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

/** The fields a row masks, as a plan gives them (data, so a worker thread can be sent them). */
export interface RowMasking {
    fieldCount: number;
    maskedFields: { index: number; rule: Rule }[];
    key: MaskingKey;
}

/** The line masker of a row's masking: each masked field's strategy under the key. */
export function lineMaskerFor(m: RowMasking): (line: string) => string {
    const maskers: (FieldMasker | undefined)[] = Array.from({ length: m.fieldCount }, () => undefined);
    for (const f of m.maskedFields) maskers[f.index] = strategyFor(f.rule, m.key).mask;
    return lineMasker(maskers);
}

/** Masks a batch of whole lines (each ending in a newline). */
export function maskLines(maskLine: (line: string) => string, text: string): string {
    const lines = text.split("\n");
    lines.pop();
    for (let i = 0; i < lines.length; i++) lines[i] = maskLine(lines[i]);
    return lines.join("\n") + "\n";
}

const NEWLINE = 0x0a;

/** Masks a batch of whole lines; may answer later (a worker thread). */
export type BatchMasker = (text: string) => string | Promise<string>;

/** About this many bytes of lines are masked at once. */
const BATCH_BYTES = 1 << 20;

/**
 * A stream of COPY text output masked in batches of whole lines, in order; counts the rows it passed.
 * With an asynchronous batch masker up to `inFlight` batches are masked at once (one per worker thread).
 */
export class MaskingStream extends Transform {
    rows = 0;
    private rest: Buffer = Buffer.alloc(0);
    private batch: Buffer[] = [];
    private batchBytes = 0;
    private readonly pending: Promise<string>[] = [];

    constructor(maskLine: ((line: string) => string) | { batch: BatchMasker; inFlight: number }) {
        super();
        if (typeof maskLine === "function") {
            this.maskBatch = (text) => maskLines(maskLine, text);
            this.inFlight = 1;
        } else {
            this.maskBatch = maskLine.batch;
            this.inFlight = Math.max(1, maskLine.inFlight);
        }
    }

    private readonly maskBatch: BatchMasker;
    private readonly inFlight: number;

    override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
        const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
        const end = data.lastIndexOf(NEWLINE);
        if (end === -1) {
            this.rest = data;
            done();
            return;
        }
        const whole = data.subarray(0, end + 1);
        this.rest = Buffer.from(data.subarray(end + 1));
        for (let at = whole.indexOf(NEWLINE); at !== -1; at = whole.indexOf(NEWLINE, at + 1)) this.rows++;
        this.batch.push(whole);
        this.batchBytes += whole.length;
        if (this.batchBytes < BATCH_BYTES) {
            done();
            return;
        }
        this.dispatch().then(() => done(), done);
    }

    override _flush(done: TransformCallback): void {
        if (this.rest.length) {
            done(new Error("the COPY output ended in the middle of a row"));
            return;
        }
        this.dispatch(true).then(() => done(), done);
    }

    /** Sends the batch to be masked; pushes finished batches in order while too many are out (all of them at the end). */
    private async dispatch(all = false): Promise<void> {
        if (this.batchBytes) {
            const text = Buffer.concat(this.batch, this.batchBytes).toString("utf8");
            this.batch = [];
            this.batchBytes = 0;
            // A synchronous masker's error becomes the promise's, so it reaches the stream in order.
            const masked = Promise.resolve().then(() => this.maskBatch(text));
            masked.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
            this.pending.push(masked);
        }
        while (this.pending.length >= this.inFlight || (all && this.pending.length)) {
            this.push(await this.pending.shift()!, "utf8");
        }
    }
}
