/**
 * A point in time as Neon's `expires_at` takes it (RFC 3339, section 5.6, with
 * whole seconds: 2026-12-14T18:02:16Z): the form of every expiry time in Keel's
 * config, so a value that passes here is never refused by Neon for its form.
 * Pure: no Pulumi imports.
 */
import { z } from "zod";
import { withFormat } from "./keyDocs";

const RFC3339_SECONDS = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(Z|[+-]\d\d:\d\d)$/;

/** RFC 3339 with whole seconds and a zone (Z or ±hh:mm), naming a real date and time. */
export function isRfc3339Seconds(value: unknown): value is string {
    if (typeof value !== "string") return false;
    const m = RFC3339_SECONDS.exec(value);
    if (!m || Number.isNaN(Date.parse(value))) return false;
    // Date.parse rolls 2026-02-30 over to March: the fields must read back as written.
    const [, y, mo, d, h, mi, s] = m.map(Number);
    const day = new Date(Date.UTC(y, mo - 1, d));
    return day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/** `2026-12-14T18:02:16Z`: the instant `ms` in the form above (UTC). */
export function rfc3339Seconds(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The same instant (2026-12-14T18:02:16Z is 2026-12-14T19:02:16+01:00); either undefined: both undefined. */
export function sameInstant(a: string | undefined, b: string | undefined): boolean {
    if (a === undefined || b === undefined) return a === b;
    return a === b || Date.parse(a) === Date.parse(b);
}

export const timestamp = withFormat(
    z.string().refine(isRfc3339Seconds, {
        message: "expected an RFC 3339 time with whole seconds and a zone, such as 2026-12-14T18:02:16Z",
    }),
    "RFC 3339 time",
);
