/** The fakes' clock (tools/fakeClock.ts, shared with bench:rollback's fake Fly). */
export * from "../../tools/fakeClock";
