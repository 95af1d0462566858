/** Temporary directories removed after the run (tools/tempDir.ts, shared with the benchmarks). */
export { tempDir } from "../../tools/tempDir";
