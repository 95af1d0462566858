/** The fakes' HTTP plumbing (tools/fakeHttp.ts, shared with bench:rollback's fake Fly). */
export * from "../../tools/fakeHttp";
