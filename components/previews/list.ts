/**
 * `keel pr list`'s rows and table, from each preview stack's outputs: what a
 * preview is (pull request, base, branch), how old it is, when it expires, its
 * URLs, and what it costs to keep. Pure: no Pulumi imports.
 */

export interface PreviewRow {
    pr: number;
    stack: string;
    base?: string;
    branch?: string;
    /** Days since its first `pr up` (from its outputs), else since its last update. */
    ageDays?: number;
    expiresAt?: string;
    expired: boolean;
    backendUrl?: string;
    /** What runs while it is kept: machines, a Neon branch, a database. */
    costs: string[];
    /** Its last update failed or never finished: no outputs. */
    incomplete: boolean;
}

export interface PreviewStackState {
    stack: string;
    pr: number;
    lastUpdate?: string;
    outputs: Record<string, unknown>;
}

const DAY_MS = 86_400_000;

export function previewRows(stacks: PreviewStackState[], now: Date): PreviewRow[] {
    return stacks
        .map((s): PreviewRow => {
            const o = s.outputs;
            const preview = (o.preview ?? {}) as { base?: string; branch?: string; expiresAt?: string; createdAt?: string };
            const since = preview.createdAt ?? s.lastUpdate;
            const costs: string[] = [];
            const machines = Array.isArray(o.flyMachineIds) ? o.flyMachineIds.length : 0;
            if (machines) costs.push(`${machines} Fly machine${machines === 1 ? "" : "s"} (autostop)`);
            if (typeof o.renderDeployId === "string") costs.push("1 Render service");
            if (typeof o.neonBranchId === "string") costs.push(`Neon branch ${o.neonBranchId}`);
            else if (typeof o.databaseKind === "string") costs.push(`${o.databaseKind} database`);
            return {
                pr: s.pr,
                stack: s.stack,
                ...(preview.base ? { base: preview.base } : {}),
                ...(preview.branch ? { branch: preview.branch } : {}),
                ...(since && !Number.isNaN(Date.parse(since))
                    ? { ageDays: Math.max(0, (now.getTime() - Date.parse(since)) / DAY_MS) }
                    : {}),
                ...(preview.expiresAt ? { expiresAt: preview.expiresAt } : {}),
                expired: preview.expiresAt !== undefined && Date.parse(preview.expiresAt) <= now.getTime(),
                ...(typeof o.backendUrl === "string" ? { backendUrl: o.backendUrl } : {}),
                costs,
                incomplete: o.preview === undefined,
            };
        })
        .sort((a, b) => a.pr - b.pr);
}

export function previewTable(rows: PreviewRow[]): string[] {
    if (rows.length === 0) return ["No previews (keel pr up --pr <n> makes one)."];
    const cells = rows.map((r) => [
        `#${r.pr}`,
        r.branch ?? "?",
        r.ageDays === undefined ? "?" : `${r.ageDays.toFixed(1)}d`,
        r.expiresAt ? `${r.expiresAt.slice(0, 16).replace("T", " ")}${r.expired ? " (expired)" : ""}` : "?",
        r.backendUrl ?? "-",
        r.incomplete ? "its last pr up did not finish" : r.costs.join(", ") || "-",
    ]);
    const head = ["PR", "BRANCH", "AGE", "EXPIRES (UTC)", "BACKEND", "COSTS"];
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) =>
        c
            .map((v, i) => v.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [line(head), ...cells.map(line)];
}
