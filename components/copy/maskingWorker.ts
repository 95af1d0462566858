/**
 * A worker thread of the masking pool (maskingPool.ts): masks batches of COPY
 * lines by the row masking it was sent for their job. Its maskers, and their
 * remembered results, live as long as the job.
 */
import { parentPort } from "worker_threads";
import { lineMaskerFor, maskLines, RowMasking } from "./rowMasker";

export type ToWorker =
    | { kind: "job"; job: number; masking: RowMasking }
    | { kind: "end"; job: number }
    | { kind: "batch"; id: number; job: number; text: string };
export type FromWorker = { id: number; text: string } | { id: number; error: string };

const jobs = new Map<number, (line: string) => string>();

parentPort?.on("message", (m: ToWorker) => {
    if (m.kind === "job") jobs.set(m.job, lineMaskerFor(m.masking));
    else if (m.kind === "end") jobs.delete(m.job);
    else {
        try {
            const mask = jobs.get(m.job);
            if (!mask) throw new Error(`masking job ${m.job} is unknown to this worker`);
            parentPort!.postMessage({ id: m.id, text: maskLines(mask, m.text) } satisfies FromWorker);
        } catch (err) {
            parentPort!.postMessage({ id: m.id, error: (err as Error).message } satisfies FromWorker);
        }
    }
});
