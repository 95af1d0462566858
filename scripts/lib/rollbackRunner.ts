/**
 * Runs the target's program for a rollback, in a process of its own: the code
 * and packages of the target's worktree are loaded there (its own build of
 * Keel, its own @pulumi/pulumi when its lockfile differs), never mixed with the
 * Keel running the command. The job comes as JSON in argv[2]:
 *   { "root": <project dir in the worktree>, "stack": "...", "mode": "check" | "up", "message": "...", "policyPacks": [...] }
 * `check` decrypts the stack's config (the target's stack file with today's
 * secrets provider) and changes nothing; `up` runs the update. Exit 0 on success.
 */
import * as path from "path";

interface Job {
    root: string;
    stack: string;
    mode: "check" | "up";
    message?: string;
    policyPacks?: string[];
}

async function main(job: Job): Promise<void> {
    // The worktree's own engine module, built from the target's commit.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const engine = require(path.join(job.root, "dist", "scripts", "lib", "engine.js"));
    const stack = await engine.keelStack({ root: job.root, stack: job.stack, env: process.env });
    if (job.mode === "check") {
        await stack.getAllConfig();
        return;
    }
    const result = await stack.up({
        message: job.message,
        policyPacks: job.policyPacks ?? [],
        onOutput: (s: string) => process.stdout.write(s),
        onError: (s: string) => process.stderr.write(s),
    });
    if (result.summary.result !== "succeeded") throw new Error(`the update ended ${result.summary.result}`);
}

if (require.main === module) {
    main(JSON.parse(process.argv[2]) as Job).then(
        () => process.exit(0),
        (err) => {
            process.stderr.write(`${String(err?.message ?? err).trim()}\n`);
            process.exit(1);
        },
    );
}
