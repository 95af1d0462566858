/**
 * What the Fly dynamic providers share: a 404 as "missing", a lost or refused
 * create, and the skeleton of a resource that belongs to an app (its IPs, its
 * secrets, its certificates): the app's name checked, a new app replacing it,
 * and a read that finds the app gone.
 */
import type * as pulumi from "@pulumi/pulumi";
import { changed, isUnknown, Log } from "../../providerContext";
import { flyErrorStatus, isFlyNotFound } from "../../vendors/fly";

/** undefined for a 404; everything else is thrown. */
export async function orMissing<T>(request: Promise<T>): Promise<T | undefined> {
    try {
        return await request;
    } catch (err) {
        if (isFlyNotFound(err)) return undefined;
        throw err;
    }
}

/** A create whose response was lost (it may have happened), or refused because the thing exists (422/409). */
export function lostOrTaken(err: unknown): "lost" | "taken" | undefined {
    if ((err as { mayHaveBeenProcessed?: unknown })?.mayHaveBeenProcessed === true) return "lost";
    const status = flyErrorStatus(err);
    if (status === 422 || status === 409) return "taken";
    return undefined;
}

/** check's first step for a resource of an app: the app's name (unknown at preview is fine). */
export function appNameFailures(app: unknown): pulumi.dynamic.CheckFailure[] {
    return !isUnknown(app) && (typeof app !== "string" || !app) ? [{ property: "app", reason: "expected the Fly app's name" }] : [];
}

/** A resource of an app goes with it: another app (or one unknown at preview) replaces it. */
export function appReplaces(olds: { app: string }, news: { app: string }): string[] {
    return changed(olds.app, news.app) || isUnknown(news.app) ? ["app"] : [];
}

/**
 * A read's first step for a resource of an app: what `request` lists, or
 * undefined after warning that the app is gone, and `what` of it with it.
 */
export async function readOfApp<T>(log: Log, app: string, what: string, request: Promise<T>): Promise<T | undefined> {
    const found = await orMissing(request);
    if (found === undefined)
        log.warn(`Fly app '${app}' no longer exists (deleted outside Keel), and its ${what} with it; refresh drops them from the state.`);
    return found;
}
