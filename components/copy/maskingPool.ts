/**
 * Worker threads that mask COPY lines, so a large table's masking (HMACs,
 * JSON) runs on every core instead of one. Batches are spread round-robin and
 * answered by id; the stream (rowMasker.ts MaskingStream) keeps their order.
 * Under ts-node (the tests) the worker loads through ts-node's require hook.
 */
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import type { FromWorker, ToWorker } from "./maskingWorker";
import type { BatchMasker, RowMasking } from "./rowMasker";

export class MaskingPool {
    private readonly workers: Worker[];
    private readonly waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
    private nextId = 0;
    private nextJob = 0;
    private turn = 0;
    private failed?: Error;

    constructor(readonly size = Math.max(1, os.cpus().length)) {
        const file = path.join(__dirname, `maskingWorker${path.extname(__filename)}`);
        const execArgv = __filename.endsWith(".ts") ? ["--require", "ts-node/register/transpile-only"] : [];
        this.workers = Array.from({ length: size }, () => {
            const w = new Worker(file, { execArgv });
            w.on("message", (m: FromWorker) => this.answer(m));
            w.on("error", (err) => this.fail(err));
            w.unref();
            return w;
        });
    }

    private answer(m: FromWorker): void {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        if ("error" in m) w.reject(new Error(`masking failed: ${m.error}`));
        else w.resolve(m.text);
    }

    private fail(err: Error): void {
        this.failed = err;
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
    }

    /** A batch masker for one table's rows, and its end (which frees the workers' maskers). */
    job(masking: RowMasking): { batch: BatchMasker; inFlight: number; end(): void } {
        const job = this.nextJob++;
        for (const w of this.workers) w.postMessage({ kind: "job", job, masking } satisfies ToWorker);
        return {
            inFlight: this.size + 1,
            batch: (text) =>
                new Promise<string>((resolve, reject) => {
                    if (this.failed) return reject(this.failed);
                    const id = this.nextId++;
                    this.waiting.set(id, { resolve, reject });
                    this.workers[this.turn++ % this.workers.length].postMessage({ kind: "batch", id, job, text } satisfies ToWorker);
                }),
            end: () => {
                for (const w of this.workers) w.postMessage({ kind: "end", job } satisfies ToWorker);
            },
        };
    }

    async close(): Promise<void> {
        await Promise.all(this.workers.map((w) => w.terminate()));
    }
}
