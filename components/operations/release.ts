/**
 * keel release next: release.yml's step. After a successful prod deploy, the next
 * semantic version from the conventional commits since the last vX.Y.Z tag, tagged
 * and released with gh (GitHub writes the notes).
 */
import { KeelError } from "../errors";
import { CommandResult, OperationsIo } from "./io";

export type Bump = "major" | "minor" | "patch" | "none";

export interface Version {
    major: number;
    minor: number;
    patch: number;
}

const RELEASE_TAG = /^v(\d+)\.(\d+)\.(\d+)$/;
const BREAKING_SUBJECT = /^[A-Za-z]+(\([^)]*\))?!:/;
const BREAKING_FOOTER = /^BREAKING[ -]CHANGE:/m;
const FEAT = /^feat(\([^)]*\))?:/;
const FIX = /^(fix|perf)(\([^)]*\))?:/;

/** A release tag's version (vX.Y.Z, nothing around it), or undefined for any other tag. */
export function parseReleaseTag(tag: string): Version | undefined {
    const m = RELEASE_TAG.exec(tag);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

export function formatVersion(v: Version): string {
    return `v${v.major}.${v.minor}.${v.patch}`;
}

function compareVersions(a: Version, b: Version): number {
    return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The highest vX.Y.Z among the tags (others ignored), or undefined when there is none. */
export function lastReleaseTag(tags: string[]): string | undefined {
    let last: { tag: string; version: Version } | undefined;
    for (const tag of tags) {
        const version = parseReleaseTag(tag);
        if (version && (!last || compareVersions(version, last.version) > 0)) last = { tag, version };
    }
    return last?.tag;
}

/**
 * The strongest bump the commits' messages call for: a `!` after the type or a
 * BREAKING CHANGE footer -> major, feat -> minor, fix/perf -> patch, else none.
 */
export function releaseBump(messages: string[]): Bump {
    const subjects = messages.map((m) => m.split("\n")[0]);
    if (subjects.some((s) => BREAKING_SUBJECT.test(s)) || messages.some((m) => BREAKING_FOOTER.test(m))) return "major";
    if (subjects.some((s) => FEAT.test(s))) return "minor";
    if (subjects.some((s) => FIX.test(s))) return "patch";
    return "none";
}

/** The version after `last` (a vX.Y.Z tag; undefined: v0.0.0) for a bump other than none. */
export function nextVersion(last: string | undefined, bump: Exclude<Bump, "none">): string {
    const v = (last && parseReleaseTag(last)) || { major: 0, minor: 0, patch: 0 };
    if (bump === "major") return formatVersion({ major: v.major + 1, minor: 0, patch: 0 });
    if (bump === "minor") return formatVersion({ major: v.major, minor: v.minor + 1, patch: 0 });
    return formatVersion({ major: v.major, minor: v.minor, patch: v.patch + 1 });
}

/** `gh release create`'s arguments: the notes start at the last release when there is one. */
export function releaseCreateArgs(next: string, target: string, last: string | undefined): string[] {
    const args = ["release", "create", next, "--target", target, "--title", next, "--generate-notes"];
    return last ? [...args, "--notes-start-tag", last] : args;
}

/** A git or gh command of the release that failed; its stderr (neither prints the token) and what to check. */
export class ReleaseError extends KeelError {
    constructor(what: string, result: CommandResult) {
        const said = result.stderr.trim().split("\n").slice(-3).join(" ") || `exit ${result.status}`;
        super(
            `Could not ${what}: ${said}. Fix: the job needs \`permissions: contents: write\`, GH_TOKEN / GH_REPO in the step's env ` +
                "and a checkout with the whole history (fetch-depth: 0); the generated release.yml has them.",
            "ReleaseError",
        );
    }
}

async function succeeded(io: OperationsIo, what: string, command: string, args: string[]): Promise<string> {
    const r = await io.run(command, args);
    if (r.status !== 0) throw new ReleaseError(what, r);
    return r.stdout;
}

/** Tags and releases the next version at `target` (a commit); 0 also when there is nothing to release. */
export async function releaseNext(target: string, io: OperationsIo): Promise<number> {
    const tags = await succeeded(io, `list the tags merged into ${target}`, "git", ["tag", "--merged", target, "--list", "v*"]);
    const last = lastReleaseTag(tags.split("\n").map((t) => t.trim()));
    const range = last ? `${last}..${target}` : target;
    // NUL after each message: a message holds newlines, never a NUL.
    const log = await succeeded(io, `read the commits in ${range}`, "git", ["log", "--format=%B%x00", range]);
    const messages = log
        .split("\0")
        .map((m) => m.replace(/^\n+/, ""))
        .filter((m) => m !== "");
    const bump = releaseBump(messages);
    if (bump === "none") {
        io.out(`No feat, fix, perf or breaking commit since ${last ?? "the first commit"}: nothing to release.\n`);
        return 0;
    }
    const next = nextVersion(last, bump);
    if ((await io.run("gh", ["release", "view", next])).status === 0) {
        io.out(`${next} is already released.\n`);
        return 0;
    }
    io.out(`Releasing ${next} (${bump}) at ${target}, after ${last ?? "no earlier release"}.\n`);
    const created = await io.run("gh", releaseCreateArgs(next, target, last), { echo: true });
    if (created.status !== 0) throw new ReleaseError(`create the release ${next}`, created);
    return 0;
}
