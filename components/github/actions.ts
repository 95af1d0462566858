/**
 * The third-party actions Keel's generated workflows use, pinned in one place.
 *
 * Each is pinned to the full commit SHA its release tag pointed at (a tag can be
 * moved, a commit cannot); the workflows carry the tag as a trailing comment so a
 * reader (and Dependabot) sees the version. To upgrade: look the new tag's commit
 * up in the action's repository (`git ls-remote https://github.com/<repo> refs/tags/<tag>`,
 * dereferenced `^{}` for annotated tags) and change both fields together.
 *
 * Pure data: no Pulumi import.
 */

export interface PinnedAction {
    /** owner/name (or owner/name/path) as written before the `@`. */
    repo: string;
    /** The release tag the SHA was taken from, written as the trailing comment. */
    version: string;
    /** The 40-hex commit the tag points at. */
    sha: string;
}

export const ACTIONS = {
    /** actions/checkout v7.0.1 (tag commit 3d3c42e, "prep v7.0.1 release"). */
    checkout: { repo: "actions/checkout", version: "v7.0.1", sha: "3d3c42e5aac5ba805825da76410c181273ba90b1" },
    /** actions/setup-node v7.0.0 (tag commit 8207627, "Migrate to ESM and upgrade dependencies"). */
    setupNode: { repo: "actions/setup-node", version: "v7.0.0", sha: "820762786026740c76f36085b0efc47a31fe5020" },
    /** pulumi/actions v7.0.0 (node 24 runtime; used for the PR preview comment). */
    pulumi: { repo: "pulumi/actions", version: "v7.0.0", sha: "8e5e406f4007fca908480587cb9893c07090f58d" },
} as const satisfies Record<string, PinnedAction>;

/** The `uses:` value of a pinned action: `<repo>@<sha>`. */
export function usesRef(action: PinnedAction): string {
    return `${action.repo}@${action.sha}`;
}

/** The version comment for a `uses:` value, or undefined when it is not one of ours. */
export function pinnedVersionOf(uses: string): string | undefined {
    return Object.values(ACTIONS).find((a) => usesRef(a) === uses)?.version;
}
