/** Preview stacks as `keel pr list` reads them from the state, for the list's tests. */
import type { PreviewStackState } from "../../components/previews/list";

export { previewRows, previewTable } from "../../components/previews/list";

export const previewList: PreviewStackState[] = [
    {
        stack: "pr-9",
        pr: 9,
        outputs: {
            preview: { base: "staging", branch: "fix/y", createdAt: "2026-12-01T00:00:00Z", expiresAt: "2026-12-08T00:00:00Z" },
            databaseKind: "external",
        },
    },
    {
        stack: "pr-3",
        pr: 3,
        lastUpdate: "2026-12-09T00:00:00Z",
        outputs: {
            preview: { base: "staging", branch: "feature/x", createdAt: "2026-12-07T00:00:00Z", expiresAt: "2026-12-14T00:00:00Z" },
            flyMachineIds: ["m1"],
            neonBranchId: "br-3",
            backendUrl: "https://keel-app-staging-pr-3.fly.dev",
        },
    },
    { stack: "pr-11", pr: 11, outputs: {} },
];
