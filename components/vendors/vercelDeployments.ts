/**
 * Which Vercel production deployment was live at a given time, and what
 * putting it back would take: pure functions over deployment lists as
 * Vercel's list-deployments answers them (components/vendors/vercel.ts reads
 * them). No I/O here, so a rollback can be planned, and refused, before
 * anything is touched.
 *
 * "Live at a time" is read off the deployments themselves: production is
 * taken to be the newest READY production deployment whose `ready` time (else
 * its `created` time) is at or before that time, which is what Vercel does
 * while production domains are assigned automatically. An instant rollback
 * made earlier is not visible in a deployment list (the deployment it put
 * back keeps its old `ready` time), so a time inside such a rollback reads as
 * the newest deployment, not the one the rollback put back.
 *
 * Vercel's plans differ in what may be rolled back to: on Pro and Enterprise
 * every deployment that was aliased to production; on Hobby only the previous
 * production deployment. Vercel says which deployments qualify
 * (`rollbackCandidate=true` on list-deployments); the plan below only trusts
 * that list.
 */

/** The fields of a Vercel deployment this module reads (list-deployments' `deployments[]` has them all). */
export interface DeploymentTimes {
    uid: string;
    /** When it was created (ms since epoch). */
    created: number;
    /** When it became READY (ms since epoch); absent on older deployments. */
    ready?: number;
    /** READY, ERROR, BUILDING...; absent: taken as READY (the list was asked for READY ones). */
    readyState?: string;
    state?: string;
    /** "production", "staging" or null (preview); absent: taken as production (the list was asked for production). */
    target?: string | null;
    url?: string;
}

/** When a deployment went live: its `ready` time, else its `created` time. */
export function liveSince(d: DeploymentTimes): number {
    return typeof d.ready === "number" && Number.isFinite(d.ready) ? d.ready : d.created;
}

/** READY, production and with a usable time. */
export function isReadyProduction(d: DeploymentTimes): boolean {
    const state = d.readyState ?? d.state ?? "READY";
    const target = d.target === undefined ? "production" : d.target;
    return state === "READY" && target === "production" && Number.isFinite(liveSince(d));
}

function toMs(time: number | Date): number {
    const ms = time instanceof Date ? time.getTime() : time;
    if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(time)}`);
    return ms;
}

/** Newest first by live time, then by created time, then by uid (a total order, so ties do not depend on input order). */
function newerFirst(a: DeploymentTimes, b: DeploymentTimes): number {
    return liveSince(b) - liveSince(a) || b.created - a.created || (a.uid < b.uid ? 1 : a.uid > b.uid ? -1 : 0);
}

/**
 * The production deployment live at `time`: the newest READY production
 * deployment whose `ready` (else `created`) time is at or before `time`;
 * undefined when none had gone live by then. The input's order does not matter.
 */
export function liveProductionAt<D extends DeploymentTimes>(deployments: readonly D[], time: number | Date): D | undefined {
    const at = toMs(time);
    let best: D | undefined;
    for (const d of deployments) {
        if (!isReadyProduction(d) || liveSince(d) > at) continue;
        if (!best || newerFirst(d, best) < 0) best = d;
    }
    return best;
}

/** The production deployment that went live before `current` (the one a Hobby plan may roll back to); undefined when none. */
export function previousProduction<D extends DeploymentTimes>(deployments: readonly D[], current: DeploymentTimes): D | undefined {
    let best: D | undefined;
    for (const d of deployments) {
        if (d.uid === current.uid || !isReadyProduction(d) || newerFirst(d, current) <= 0) continue;
        if (!best || newerFirst(d, best) < 0) best = d;
    }
    return best;
}

export interface FrontendRollbackInput<D extends DeploymentTimes = DeploymentTimes> {
    /** The project's production deployments (list-deployments with target=production&state=READY; any order). */
    deployments: readonly D[];
    /** What Vercel offers to roll back to (list-deployments with rollbackCandidate=true), as deployments or ids. */
    candidates: readonly (DeploymentTimes | string)[];
    /** The deployment serving production now (the project's targets.production), as a deployment or its id; undefined: none. */
    current: DeploymentTimes | string | undefined;
    /** The time to put back (ms since epoch, or a Date). */
    time: number | Date;
    /** The Vercel plan, when known (targets.production.plan: hobby, pro, enterprise); only changes the wording of a refusal. */
    plan?: string;
}

export type FrontendRollbackPlan<D extends DeploymentTimes = DeploymentTimes> =
    /** The deployment live at that time is the one serving production now. */
    | { kind: "none"; deployment: D }
    /** Make `deployment` production again (Vercel's instant rollback); `from` is what serves now. */
    | { kind: "promote"; deployment: D; from?: string }
    /** It cannot be done as asked; `reason` says why and what to do. `deployment` is the one that was live, when there was one. */
    | { kind: "refused"; reason: string; deployment?: D };

function iso(ms: number): string {
    return new Date(ms).toISOString();
}

function describe(d: DeploymentTimes): string {
    return `${d.uid}${d.url ? ` (${d.url})` : ""}`;
}

const KEEP_FRONTEND = "--keep-frontend";

/**
 * What putting back the frontend live at `time` takes: nothing (it serves
 * now), a rollback to it (Vercel offers it as a rollback candidate), or a
 * refusal that says why and how to go on: no deployment was live then, or
 * Vercel would refuse the rollback (on the Hobby plan only the previous
 * production deployment is a candidate). Pure: decide before touching anything.
 */
export function frontendRollbackPlan<D extends DeploymentTimes>(input: FrontendRollbackInput<D>): FrontendRollbackPlan<D> {
    const at = toMs(input.time);
    const target = liveProductionAt(input.deployments, at);
    const currentId = typeof input.current === "string" ? input.current : input.current?.uid;
    if (!target) {
        const ready = input.deployments.filter(isReadyProduction).sort(newerFirst);
        const oldest = ready[ready.length - 1];
        const why = oldest
            ? `the oldest READY production deployment Vercel lists, ${describe(oldest)}, went live at ${iso(liveSince(oldest))} ` +
              `(older ones may have been removed by the project's deployment retention)`
            : "Vercel lists no READY production deployment for the project";
        return {
            kind: "refused",
            reason:
                `No Vercel production deployment was live at ${iso(at)}: ${why}. Nothing has been changed. ` +
                `Run the rollback with ${KEEP_FRONTEND} to go on and leave the frontend as it is` +
                `${currentId ? ` (production stays at ${currentId})` : ""}.`,
        };
    }
    if (currentId !== undefined && target.uid === currentId) return { kind: "none", deployment: target };
    const candidateIds = new Set(input.candidates.map((c) => (typeof c === "string" ? c : c.uid)));
    if (candidateIds.has(target.uid))
        return { kind: "promote", deployment: target, ...(currentId !== undefined ? { from: currentId } : {}) };

    // Not a candidate: say why as precisely as the lists allow.
    const known = new Map<string, DeploymentTimes>();
    for (const d of [...input.deployments, ...input.candidates.filter((c): c is DeploymentTimes => typeof c !== "string")])
        if (!known.has(d.uid)) known.set(d.uid, d);
    const current =
        typeof input.current === "object" && input.current ? input.current : currentId !== undefined ? known.get(currentId) : undefined;
    const previous = current ? previousProduction([...known.values()], current) : undefined;
    const hobby = input.plan === undefined || input.plan === "hobby";
    const stays = currentId ? ` (production stays at ${currentId})` : "";
    const head = `Vercel deployment ${describe(target)}, the production deployment live at ${iso(at)} (live since ${iso(liveSince(target))}),`;
    if (previous && newerFirst(target, previous) > 0) {
        return {
            kind: "refused",
            deployment: target,
            reason:
                `${head} is older than the previous production deployment ${describe(previous)} (live since ${iso(liveSince(previous))}), ` +
                `and Vercel does not offer it as a rollback candidate: on Vercel's Hobby plan only the previous production deployment can be rolled back to` +
                `${input.plan && !hobby ? ` (this project reports the ${input.plan} plan)` : ""}. Nothing has been changed. ` +
                `Either move the project's team to Vercel's Pro plan (every earlier production deployment can then be rolled back to), ` +
                `or run the rollback with ${KEEP_FRONTEND} to go on and leave the frontend as it is${stays}.`,
        };
    }
    return {
        kind: "refused",
        deployment: target,
        reason:
            `${head} is not offered by Vercel as a rollback candidate` +
            (hobby
                ? ` (on Vercel's Hobby plan only the previous production deployment can be rolled back to; the Pro plan allows every earlier production deployment)`
                : ` (Vercel offers only deployments that were aliased to production)`) +
            `. Nothing has been changed. Run the rollback with ${KEEP_FRONTEND} to go on and leave the frontend as it is${stays}.`,
    };
}
