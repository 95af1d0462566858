/**
 * The data guard (components/dataGuard.ts) where the engine runs: Pulumi's
 * `protect` is lifted from the state for `npm run destroy` (the whole stack) and
 * for the resources `keel:allowDataLoss` names (a resource the program no longer
 * declares cannot be unprotected by the program), and the engine's refusals of a
 * protected resource are told in Keel's words, with the fix.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { DestroyOptions, DestroyResult, EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { ALLOW_DATA_LOSS_KEY, dataLossMessage, isDataHolderName, nameOfUrn, protectRefusalIn } from "../../components/dataGuard";

/** The names `keel:allowDataLoss` gives in the stack file (a name or a list); the program validates them. */
export function allowedInStackFile(root: string, stack: string): string[] {
    try {
        const doc = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"));
        const value = doc?.config?.[ALLOW_DATA_LOSS_KEY];
        const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
        return list.filter((v): v is string => typeof v === "string" && isDataHolderName(v));
    } catch {
        return [];
    }
}

/**
 * Lifts `protect` from the resources in the stack's state that `lift` picks; returns their
 * names. Nothing is written when none is protected (no state round trip on an ordinary up).
 */
export async function unprotect(s: Stack, lift: (name: string) => boolean): Promise<string[]> {
    const deployment = await s.exportStack();
    const resources: { urn: string; protect?: boolean }[] = deployment.deployment?.resources ?? [];
    const lifted = resources.filter((r) => r.protect && lift(nameOfUrn(r.urn)));
    if (lifted.length === 0) return [];
    for (const r of lifted) r.protect = false;
    await s.importStack(deployment);
    return lifted.map((r) => nameOfUrn(r.urn));
}

/**
 * `npm run destroy`: the one command that removes what holds data without keel:allowDataLoss,
 * so it lifts the guard for the whole stack first. Says so when it did.
 */
export async function destroyStack(s: Stack, opts: DestroyOptions = {}): Promise<DestroyResult> {
    const lifted = await unprotect(s, () => true);
    if (lifted.length) opts.onOutput?.(`keel: destroy lifts the data guard (protect) of ${lifted.join(", ")}\n`);
    return s.destroy(opts);
}

/**
 * Collects the engine's refusals of protected resources from its events, to tell them
 * in Keel's words once the command has failed.
 */
export class RefusalWatch {
    private readonly refusals = new Map<string, "replace" | "delete">();

    constructor(private readonly stack: string) {}

    readonly onEvent = (event: EngineEvent): void => {
        const message = event.diagnosticEvent?.message;
        if (!message) return;
        const refusal = protectRefusalIn(message);
        if (refusal) this.refusals.set(nameOfUrn(refusal.urn), refusal.action);
    };

    /** Keel's message for each refusal seen, or undefined when there was none. */
    explanation(): string | undefined {
        if (this.refusals.size === 0) return undefined;
        return [...this.refusals].map(([name, action]) => dataLossMessage({ stack: this.stack, name, action })).join("\n");
    }
}
