/**
 * Loads a dynamic provider the way the engine's nodejs dynamic-provider plugin
 * does: the `__provider` text a Keel resource hands the engine (the stand-in of
 * components/providerContext.ts), through require-from-string, then handler().
 * The text is also run through pulumi.runtime.serializeFunction's loader path
 * once more, as Pulumi's own dynamic resources are, to show both agree.
 */
import * as pulumi from "@pulumi/pulumi";
import requireFromString from "require-from-string";
import { standInSource } from "../../components/providerContext";

export interface Serialized<T> {
    provider: T;
    /** The provider's text as the state stores it, to check it holds no secret. */
    text: string;
}

export async function serializedProvider<T>(provider: T): Promise<Serialized<T>> {
    const text = standInSource(provider as object);
    const standIn = requireFromString(text).handler() as T;
    // A closure over the stand-in serializes as Pulumi's dynamic resources do, and loads back.
    const sf = await pulumi.runtime.serializeFunction(() => standIn, { allowSecrets: true });
    return { provider: requireFromString(sf.text)[sf.exportName]() as T, text };
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
    await provider.configure?.({
        config: {
            get: () => undefined,
            require: (k: string) => {
                throw new Error(`${k} is not set`);
            },
        },
    });
}
