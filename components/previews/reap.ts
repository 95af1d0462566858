/**
 * What `keel pr reap` removes, decided from an inventory: the stacks in the
 * state backend, the vendor objects named (or, for a Vercel variable,
 * commented) as a Keel preview's, and the pull requests still open. Pure: no
 * Pulumi imports, no I/O; scripts/prReap.ts gathers the inventory and carries
 * the plan out.
 *
 * The rules:
 * - Only previews are ever in the plan: a stack whose name is `pr-<n>`
 *   (prOfStack) and an object whose name marks it (`pr` defined, from
 *   naming.ts's prOf* functions). Every other stack and object is left alone.
 * - A preview stack is removed (`pr down`, which takes what its state holds)
 *   when its pull request is not open ("closed") or its expiresAt has passed
 *   ("expired").
 * - A marked object is removed when its pull request is closed, when the
 *   preview stack of its pull request is expired, or when no preview stack of
 *   its pull request exists at all ("orphaned": made behind Keel's back, or
 *   left by a run that failed before its stack was written, or by a `pr down`
 *   that failed half way).
 * - A marked object whose pull request is open and whose stack exists and has
 *   not expired is kept, even when that stack's state does not hold it
 *   (owned false): the stack's next `pr up` adopts it, since Keel's providers
 *   find an object by name before creating one; removing it would break a
 *   live preview, or race a `pr up` that is writing its state.
 * - An object of a removed stack that the stack's state holds (owned true) is
 *   left to `pr down`, which removes it with the stack; it is listed with the
 *   stack, not as a removal of its own. One the state does not hold is
 *   removed by itself (reason closed or expired), since `pr down` would not.
 */
import { prOfStack } from "./naming";

export type PreviewVendor = "neon-branch" | "fly-app" | "render-service" | "vercel-variable" | "github-environment";

/** One object at a vendor, as the inventory found it. */
export interface VendorObject {
    vendor: PreviewVendor;
    /** The vendor's id for it (Neon branch id, Fly app name, Render service id, Vercel variable id, environment name). */
    id: string;
    /** What it is called: the name that marks it (a Vercel variable: its key). */
    name: string;
    /** The pull request it is a preview's, from naming.ts's prOf* functions; undefined: not marked, never touched. */
    pr: number | undefined;
    /** True when the state of its pull request's preview stack holds it (that stack's `pr down` removes it). */
    owned?: boolean;
    /** When the vendor lets it expire (a Neon branch's expires_at); informational. */
    expiresAt?: string;
}

/** A stack in the state backend. */
export interface StackInfo {
    name: string;
    /** A preview's keel:preview.expiresAt (ISO time); undefined: it does not expire. */
    expiresAt?: string;
}

export interface ReapInput {
    now: Date;
    openPrs: ReadonlySet<number> | readonly number[];
    /** Every stack in the state backend. */
    stacks: readonly StackInfo[];
    /** Every object the inventory listed, marked or not. */
    objects: readonly VendorObject[];
}

export type StackReason = "closed" | "expired";
export type ObjectReason = "closed" | "expired" | "orphaned";

export interface StackRemoval {
    name: string;
    pr: number;
    reason: StackReason;
    /** The objects its state holds: removed by its `pr down`, listed here to say so. */
    objects: VendorObject[];
}

export interface ObjectRemoval {
    object: VendorObject;
    reason: ObjectReason;
}

export interface KeptPreview {
    name: string;
    pr: number;
    expiresAt?: string;
    /** Its marked objects, owned by the stack or to be adopted by its next `pr up`. */
    objects: VendorObject[];
}

export interface ReapPlan {
    /** Preview stacks to remove with `pr down`, by pull request. */
    stacks: StackRemoval[];
    /** Marked objects to remove one by one (none of them held by a stack removed above). */
    objects: ObjectRemoval[];
    /** The live previews left as they are. */
    kept: KeptPreview[];
}

/** Whether an ISO time has passed at `now`; an unreadable time is treated as not passed (nothing is removed on a guess). */
export function hasPassed(iso: string | undefined, now: Date): boolean {
    if (iso === undefined) return false;
    const t = Date.parse(iso);
    return Number.isFinite(t) && t <= now.getTime();
}

/** The plan: see the module's comment for the rules. */
export function planReap(input: ReapInput): ReapPlan {
    const open = new Set(input.openPrs);
    const previews = new Map<number, StackInfo>();
    for (const s of input.stacks) {
        const pr = prOfStack(s.name);
        if (pr !== undefined) previews.set(pr, s);
    }
    const reasonFor = (pr: number): StackReason | undefined => {
        if (!open.has(pr)) return "closed";
        return hasPassed(previews.get(pr)?.expiresAt, input.now) ? "expired" : undefined;
    };
    const marked = input.objects.filter((o): o is VendorObject & { pr: number } => o.pr !== undefined);
    const objectsOf = (pr: number) => marked.filter((o) => o.pr === pr);

    const stacks: StackRemoval[] = [];
    const kept: KeptPreview[] = [];
    for (const [pr, s] of [...previews].sort((a, b) => a[0] - b[0])) {
        const reason = reasonFor(pr);
        if (reason) stacks.push({ name: s.name, pr, reason, objects: objectsOf(pr).filter((o) => o.owned === true) });
        else kept.push({ name: s.name, pr, ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}), objects: objectsOf(pr) });
    }

    const objects: ObjectRemoval[] = [];
    for (const o of marked) {
        if (!previews.has(o.pr)) {
            // No stack: nothing else will ever remove it. A closed PR says more than "orphaned".
            objects.push({ object: o, reason: open.has(o.pr) ? "orphaned" : "closed" });
            continue;
        }
        const reason = reasonFor(o.pr);
        // Held by a stack being removed: its `pr down` takes it.
        if (reason && o.owned !== true) objects.push({ object: o, reason });
    }
    objects.sort(
        (a, b) => a.object.pr! - b.object.pr! || a.object.vendor.localeCompare(b.object.vendor) || a.object.id.localeCompare(b.object.id),
    );
    return { stacks, objects, kept };
}

/** The plan as lines for a person: what goes, and why. */
export function describeReapPlan(plan: ReapPlan): string[] {
    const lines: string[] = [];
    for (const s of plan.stacks) {
        const held = s.objects.length ? ` with ${s.objects.map(describeObject).join(", ")}` : "";
        lines.push(`stack ${s.name} (PR #${s.pr}, ${s.reason})${held}`);
    }
    for (const o of plan.objects) lines.push(`${describeObject(o.object)} (PR #${o.object.pr}, ${o.reason})`);
    return lines;
}

/** `fly-app keel-app-staging-pr-7`, with the id when it differs from the name. */
export function describeObject(o: VendorObject): string {
    return `${o.vendor} ${o.name}${o.id !== o.name ? ` (${o.id})` : ""}`;
}
