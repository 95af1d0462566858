/**
 * Round-trips a dynamic provider the way the Pulumi engine does: serialize the
 * closure, load the text with require-from-string, and hand back the provider.
 */
import * as pulumi from "@pulumi/pulumi";
import requireFromString from "require-from-string";

export interface Serialized<T> {
    provider: T;
    /** The serialized source, to check it captured no secret. */
    text: string;
}

export async function serializedProvider<T>(provider: T): Promise<Serialized<T>> {
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
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
