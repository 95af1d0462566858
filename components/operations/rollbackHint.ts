/** How to roll a stack back, as the workflows' steps and alerts name it: the Rollback button and the command. */

/** The rollback command for a stack: `npm run rollback -- --stack <s> --previous --yes`; "list": the command listing its versions. */
export function rollbackCommand(stack: string, target: "previous" | "list" = "previous"): string {
    return target === "list" ? `npm run rollback -- --stack ${stack}` : `npm run rollback -- --stack ${stack} --previous --yes`;
}

/** The arguments of `npm` that roll a stack back to its previous successful version (rollbackCommand's). */
export function rollbackArgs(stack: string): string[] {
    return ["run", "rollback", "--", "--stack", stack, "--previous", "--yes"];
}

/** One line of plain text (alerts, issues): the button at `rollbackUrl` and the command. */
export function rollbackHint(stack: string, branch: string, rollbackUrl: string): string {
    return `Roll back: the Rollback workflow (${rollbackUrl}, Run workflow from the ${branch} branch, stack ${stack}) or ${rollbackCommand(stack)}`;
}
