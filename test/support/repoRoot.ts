/** The repository (tools/repoRoot.ts, shared with the benchmarks). */
export { ROOT } from "../../tools/repoRoot";
