/** A preview stack's keel:preview as `keel pr up` writes it, for tests that validate a pr-<n> stack's config. */
export function previewValues(pr: number, extra: Record<string, unknown> = {}): Record<string, string> {
    return {
        "keel:preview": JSON.stringify({
            pr,
            base: "staging",
            branch: `feature-${pr}`,
            expiresAt: "2026-12-14T10:00:00Z",
            createdAt: "2026-12-07T10:00:00Z",
            ...extra,
        }),
    };
}
