/** The git-checkout workspace for rollbacks through the engine (tools/rollbackWorkspace.ts, shared with bench:rollback). */
export * from "../../tools/rollbackWorkspace";
