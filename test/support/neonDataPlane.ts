/** The fake Neon's data plane (tools/neonDataPlane.ts, shared with bench:previews). */
export * from "../../tools/neonDataPlane";
