/**
 * Where a stack's state on this machine lives: a local database's directory
 * (`.keel/dev/<stack>`) and the pg_dump backups (`backups/`). Resources keep
 * these paths relative in their inputs, so the state holds no path of one
 * machine; they resolve against the project the engine runs in, unless
 * KEEL_STATE_ROOT names another directory. A rollback runs an older commit's
 * code from a git worktree and sets KEEL_STATE_ROOT to the user's checkout:
 * the inputs stay what the checkout's own deploys recorded (no diff, no
 * replacement) and the data stays where it is. Migrations and seeds are code:
 * they resolve against the project that runs, never against this.
 */
import * as path from "path";

export const STATE_ROOT_ENV = "KEEL_STATE_ROOT";

/** The directory relative state paths resolve against (absolute). */
export function stateRoot(env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): string {
    const root = env[STATE_ROOT_ENV];
    return root ? path.resolve(cwd, root) : cwd;
}

/** A state path as a resource holds it (relative to the state root, or absolute), made absolute. */
export function resolveStatePath(dir: string, env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): string {
    return path.resolve(stateRoot(env, cwd), dir);
}
