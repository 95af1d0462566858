/**
 * Round-trips a dynamic provider the way the Pulumi engine does: serialize the
 * closure a resource hands the engine (the stand-in from serializable()), load
 * the text with require-from-string, and hand back the provider.
 */
import * as pulumi from "@pulumi/pulumi";
import requireFromString from "require-from-string";
import { serializable } from "../../components/providerContext";

export interface Serialized<T> {
    provider: T;
    /** The serialized source, to check it captured no secret. */
    text: string;
}

export async function serializedProvider<T>(provider: T): Promise<Serialized<T>> {
    const standIn = serializable(provider as object) as T;
    const sf = await pulumi.runtime.serializeFunction(() => standIn, { allowSecrets: true });
    const mod = requireFromString(sf.text);
    return { provider: mod[sf.exportName]() as T, text: sf.text };
}

/** Runs fn while collecting what it writes through console.log/warn/error. */
export async function captureConsole<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
    const lines: string[] = [];
    const saved = { log: console.log, warn: console.warn, error: console.error };
    console.log = console.warn = console.error = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    try {
        return { result: await fn(), lines };
    } finally {
        Object.assign(console, saved);
    }
}

/**
 * Clears what a test handed a provider's configure(): every serialized copy
 * loads the one module instance, as in the engine's provider process, so a
 * test that configures must undo it for the tests after it.
 */
export async function unconfigure(provider: { configure?: (req: any) => Promise<void> }): Promise<void> {
    await provider.configure?.({ config: { get: () => undefined, require: (k: string) => { throw new Error(`${k} is not set`); } } });
}
