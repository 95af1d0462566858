/**
 * What the pre-commit hook (`.githooks/pre-commit`, turned on by `npm run hooks:install`)
 * decides about the staged changes: migration files parsed and linted as preflight
 * lints them, debug leftovers in added code lines, and added text that looks like a
 * secret. No git and no files here: scripts/preCommit.ts reads the index and hands
 * the facts over (staged bytes through a callback), these functions say what they mean.
 */
export { ALLOW_DEBUG, CODE_FILE, codeOf, CONSOLE_PROGRAMS, debugLeftovers } from "./debugLeftovers";
export { addedLines, parseNameStatus, unquotePath } from "./gitDiff";
export type { AddedLine, StagedChange } from "./gitDiff";
export { BYPASS, formatHookReport } from "./report";
export { ALLOW_SECRET, findSecrets, isPlaceholderHost, isPlaceholderPassword, isPlaceholderToken, secretsIn, TEST_FILE } from "./secrets";
export type { SecretMatch } from "./secrets";
export { checkStagedMigrations } from "./stagedMigrations";
export type { StackMigrations, StagedMigrationsInput } from "./stagedMigrations";
export { checkStagedMasking } from "./stagedMasking";
export type { StagedMaskingInput } from "./stagedMasking";
