/** dbmate, pinned, outside the lock file (tools/dbmate.ts, shared with bench:migrations). */
export * from "../../tools/dbmate";
