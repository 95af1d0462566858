/** Copies of one database into another, masked by the rules or not: plan, copy, leak check, swap. */
export * from "./types";
export { copyDatabase, CopyError } from "./copyDatabase";
export type { CopyHooks } from "./copyDatabase";
export { planCopy, describeCopyPlan, CopyPlanError, strategyLabel } from "./copyPlan";
export type { CopyPlan, TableCopy, SourceCatalog } from "./copyPlan";
export { LeakError } from "./leakRun";
export { readSourceCatalog } from "./sourceCatalog";
