/**
 * Masking of personal data in copies between stacks (issue 23): the rules file
 * (rules.ts), the per-value strategies (strategies.ts), the exhaustiveness check
 * (exhaustive.ts) and the guesses of `db:mask init` (guess.ts). Pure: no Pulumi,
 * no I/O; the callers read the files, and the catalog through liveColumns.ts's
 * query on a client they open.
 */
export * from "./rules";
export * from "./strategies";
export * from "./exhaustive";
export * from "./guess";
export * from "./coverage";
export * from "./liveColumns";
