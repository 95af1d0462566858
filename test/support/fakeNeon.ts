/** The fake Neon API (tools/fakeNeon.ts, shared with bench:previews). */
export * from "../../tools/fakeNeon";
