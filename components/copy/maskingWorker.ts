/**
 * A worker thread of the masking pool (maskingPool.ts): masks batches of COPY
 * lines by the row masking it was sent for their job. Its maskers, and their
 * remembered results, live as long as the job.
 */
import { parentPort } from "worker_threads";
import { batchMasker, lineMaskerFor, RowMasking } from "./rowMasker";

export type ToWorker =
    | { kind: "job"; job: number; masking: RowMasking }
    | { kind: "end"; job: number }
    | { kind: "batch"; id: number; job: number; bytes: Uint8Array };
export type FromWorker = { id: number; bytes: Uint8Array } | { id: number; error: string };

const jobs = new Map<number, (bytes: Uint8Array) => Uint8Array>();

parentPort?.on("message", (m: ToWorker) => {
    if (m.kind === "job") jobs.set(m.job, batchMasker(lineMaskerFor(m.masking)));
    else if (m.kind === "end") jobs.delete(m.job);
    else {
        try {
            const mask = jobs.get(m.job);
            if (!mask) throw new Error(`masking job ${m.job} is unknown to this worker`);
            const bytes = mask(m.bytes);
            parentPort!.postMessage({ id: m.id, bytes } satisfies FromWorker, [bytes.buffer as ArrayBuffer]);
        } catch (err) {
            parentPort!.postMessage({ id: m.id, error: (err as Error).message } satisfies FromWorker);
        }
    }
});
