/**
 * The few object operations Keel needs on a self-managed state backend: list a
 * "directory", read an object, create one only if it is absent (a lock), and
 * delete one. Keys are relative to the backend's root (its bucket and prefix).
 */
import { KeelError } from "../../../components/errors";

export interface StoredObject {
    /** Relative to the backend's root, with / separators. */
    key: string;
    /** Changes whenever the object's content does (ETag, generation, or mtime and size): the cache's key. */
    tag: string;
}

export interface StateStore {
    /** The backend URL without credentials. */
    readonly display: string;
    /** The objects directly under `dir` (a key prefix ending in /), not in its subdirectories. */
    list(dir: string): Promise<StoredObject[]>;
    /** An object's bytes, or undefined when there is none. */
    read(key: string): Promise<Buffer | undefined>;
    /** Writes the object only if no object has that key; false when one does (someone else holds it). */
    createIfAbsent(key: string, body: string | Buffer): Promise<boolean>;
    /** Deletes the object; nothing when it is gone already. */
    remove(key: string): Promise<void>;
}

export class StateStoreError extends KeelError {
    constructor(message: string) {
        super(message, "StateStoreError");
    }
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * What went wrong talking to the store, with what to check, for one operation on one key. A store that
 * cannot be reached is said so, whatever `hint` (usually about credentials) would suggest.
 */
export function storeFailure(display: string, op: string, key: string, err: unknown, hint: string): StateStoreError {
    const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
    const cause = String(e?.message ?? err).split("\n")[0];
    const unreachable = UNREACHABLE.has(e?.code ?? "") || UNREACHABLE.has(e?.cause?.code ?? "") || e?.name === "TimeoutError";
    return new StateStoreError(
        `${op} ${key} in the state backend ${display} failed: ${cause}. ` +
            (unreachable ? `The store could not be reached: check the network and the host (or endpoint=) in PULUMI_BACKEND_URL` : hint),
    );
}
