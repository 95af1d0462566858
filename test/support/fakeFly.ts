/** The fake Fly Machines API (tools/fakeFly/, shared with bench:rollback). */
export * from "../../tools/fakeFly";
