/** The fake Vercel API (tools/fakeVercel.ts, shared with bench:previews). */
export * from "../../tools/fakeVercel";
