/**
 * The previews in the state backend: every stack named `pr-<n>`, with when it
 * was last updated and what its outputs say (its base, branch, expiry, URLs).
 * Read through the engine's CLI, so they are found on any backend, from any
 * fresh CI runner, without their stack files.
 */
import { prOfStack } from "../../components/previews/naming";
import { runEngineCli, StackDatabaseError, StackOutputOptions } from "./stackDatabase";

export interface PreviewStack {
    stack: string;
    pr: number;
    /** ISO time of its last update, when it has one. */
    lastUpdate?: string;
    updateInProgress: boolean;
    resourceCount?: number;
}

/** Every preview stack of the project; `o.stack` is any stack whose environment opens the backend (the base). */
export async function listPreviewStacks(o: StackOutputOptions): Promise<PreviewStack[]> {
    const res = await runEngineCli(o, ["stack", "ls", "--json"]);
    if (res.code !== 0) throw new StackDatabaseError(`pulumi stack ls failed: ${res.err.trim()}`);
    const rows = JSON.parse(res.out || "[]") as { name: string; lastUpdate?: string; updateInProgress?: boolean; resourceCount?: number }[];
    return rows.flatMap((r) => {
        const name = r.name.split("/").pop()!;
        const pr = prOfStack(name);
        if (pr === undefined) return [];
        return [
            {
                stack: name,
                pr,
                ...(r.lastUpdate ? { lastUpdate: r.lastUpdate } : {}),
                updateInProgress: r.updateInProgress === true,
                ...(r.resourceCount !== undefined ? { resourceCount: r.resourceCount } : {}),
            },
        ];
    });
}

/** A stack's outputs, secrets left as the engine's "[secret]"; empty when it has none (never deployed, or failed before any). */
export async function plainOutputs(o: StackOutputOptions): Promise<Record<string, unknown>> {
    const res = await runEngineCli(o, ["stack", "output", "--json", "--stack", o.stack]);
    if (res.code !== 0) return {};
    return JSON.parse(res.out || "{}") as Record<string, unknown>;
}
