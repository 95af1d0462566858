/**
 * The one way a test gives up for want of an input (the Pulumi CLI, the vendors'
 * OpenAPI specs): outside CI it prints one line and skips; under CI=true, where
 * every input is provided (.ci/run), it fails saying what is missing and how to
 * fix it, so that nothing skips silently and the suite stays honest.
 */

/** Under CI=true throws `CI=true: <why>`; otherwise prints `    skip: <why>` and skips the test (or the hook's tests). */
export function skipOrFail(ctx: Mocha.Context, why: string): never {
    if (process.env.CI === "true") throw new Error(`CI=true: ${why}`);
    console.log(`    skip: ${why}`);
    ctx.skip();
}
