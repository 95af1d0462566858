/**
 * keel rollback drill --stack <s> [--yes] [--allow-prod]
 *
 * Practises a rollback for real: the stack goes back to the version before its
 * current one (scripts/rollback.ts, as `npm run rollback -- --to <version>`
 * does it: code and infrastructure from that version's commit, the schema kept
 * ahead), then forward again to the version it was at, both timed. Both
 * rollbacks are marked as a drill's (trigger "drill"). Its DrillRecord
 * (drill "rollback", backMs, forwardMs, durationMs) goes beside the state.
 *
 * Refused on a prod-stage stack unless --allow-prod (the way back puts older
 * code in front of real users: an outage risk), when the current version did
 * not succeed, and when there is no previous version to go back to. If the way
 * back succeeds but the way forward fails, the stack is left on the older
 * version, and the error says so and how to go forward.
 */
import { KeelError } from "../components/errors";
import { oneLineCause } from "../components/operations/drillLine";
import { stackFileStage } from "./lib/engine";
import { endDrillPart } from "./lib/drillRecord";
import { currentDeploy, RollbackRefusedError, selectTarget } from "./lib/rollbackPlan";
import { Deploy, listDeploys } from "./lib/stackHistory";
import { UsageError } from "./lib/usageError";
import type { RollbackIo, RollbackOptions } from "./rollback";

/** A rollback drill that was refused, or whose way forward failed (the message says where the stack is). */
export class RollbackDrillError extends KeelError {
    constructor(message: string) {
        super(message, "RollbackDrillError");
    }
}

export interface RollbackDrillOptions {
    stack?: string;
    yes?: boolean;
    /** Drill a prod-stage stack too (a real outage risk). */
    allowProd?: boolean;
}

export interface RollbackDrillIo extends RollbackIo {
    /** The rollback itself; default scripts/rollback.ts runRollback. */
    rollback?: (options: RollbackOptions, io: RollbackIo) => Promise<number>;
}

const short = (d: Deploy) => d.commit!.slice(0, 12);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function runRollbackDrill(options: RollbackDrillOptions, io: RollbackDrillIo): Promise<number> {
    const stack = options.stack;
    if (!stack) throw new UsageError("--stack <stack> is required");
    if (stackFileStage(io.root, stack) === "prod" && !options.allowProd) {
        throw new RollbackDrillError(
            `Refusing a rollback drill on the ${stack} stack: it is a prod-stage stack, and the drill puts the previous version's code ` +
                `in front of real users until the way forward ends (an outage risk, and a real outage if the way forward fails). ` +
                `Drill on staging, or pass --allow-prod to accept that risk.`,
        );
    }
    const rollback = io.rollback ?? (await import("./rollback")).runRollback;
    io.out(`reading the ${stack} stack's deploys`);
    const deploys = await listDeploys(io.root, stack, io.env, { say: io.out });
    const current = currentDeploy(deploys);
    if (!current)
        throw new RollbackDrillError(`The ${stack} stack has no deploy yet: deploy it twice (npm run up -- ${stack}), then drill.`);
    if (current.result !== "succeeded" || !current.commit) {
        throw new RollbackDrillError(
            `The ${stack} stack's current version ${current.version} ${current.result !== "succeeded" ? `is ${current.result}` : "records no git commit"}: ` +
                `a drill starts from a healthy stack it can come back to. Deploy it (npm run up -- ${stack}), then drill.`,
        );
    }
    let previous: Deploy;
    try {
        previous = selectTarget(deploys, { previous: true }, stack).target;
    } catch (err) {
        if (!(err instanceof RollbackRefusedError)) throw err;
        throw new RollbackDrillError(
            `No rollback drill on the ${stack} stack: ${err.message}. It needs two successful versions to go between.`,
        );
    }
    io.out(
        `rollback drill of the ${stack} stack: back to version ${previous.version} (commit ${short(previous)}), ` +
            `then forward to version ${current.version} (commit ${short(current)}), where it is now`,
    );
    if (!options.yes && !(await io.confirm(`Roll the ${stack} stack back to version ${previous.version} and forward again? (yes/no) `))) {
        io.out("not confirmed: nothing was changed (pass --yes to go ahead without asking).");
        return 1;
    }
    const started = io.now();
    const record = { stack, drill: "rollback" as const };
    const step = (to: Deploy) => ({ stack, to: String(to.version), yes: true, trigger: "drill" as const });

    io.out(`drill: the way back, to version ${previous.version}`);
    let backMs: number;
    try {
        const code = await rollback(step(previous), io);
        backMs = io.now() - started;
        if (code !== 0) throw new RollbackDrillError(`the rollback to version ${previous.version} ended with exit ${code}`);
    } catch (err) {
        backMs = io.now() - started;
        await endDrillPart(
            io,
            { ...record, outcome: "failed", durationMs: backMs, backMs, cause: `the way back: ${oneLineCause(err)}` },
            io.now(),
        );
        throw err;
    }

    io.out(`drill: back on version ${previous.version}'s code in ${seconds(backMs)}; the way forward, to version ${current.version}`);
    const forwardStarted = io.now();
    let cause: string | undefined;
    try {
        const code = await rollback(step(current), io);
        if (code !== 0) cause = `the rollback to version ${current.version} ended with exit ${code}`;
    } catch (err) {
        cause = oneLineCause(err);
    }
    const forwardMs = io.now() - forwardStarted;
    if (!cause) {
        // Where the stack ended, from its history: the code it started on.
        const now = currentDeploy(await listDeploys(io.root, stack, io.env).catch(() => []));
        if (now && (now.result !== "succeeded" || now.commit !== current.commit))
            cause = `the stack's newest update (version ${now.version}, ${now.result}) is not of commit ${short(current)}`;
    }
    const durationMs = io.now() - started;
    if (cause) {
        await endDrillPart(
            io,
            { ...record, outcome: "failed", durationMs, backMs, forwardMs, cause: `the way forward: ${cause}` },
            io.now(),
        );
        const forward = `npm run rollback -- --stack ${stack} --to ${current.version} --yes`;
        const loud = [
            `!!! THE ${stack.toUpperCase()} STACK IS ON VERSION ${previous.version}'S CODE (commit ${short(previous)}), NOT ON VERSION ${current.version} (commit ${short(current)}) WHERE THE DRILL STARTED.`,
            `!!! The way back succeeded; the way forward failed: ${cause}`,
            `!!! Go forward with: ${forward}`,
        ];
        for (const line of loud) io.out(line);
        throw new RollbackDrillError(
            `The ${stack} stack is left on version ${previous.version}'s code (commit ${short(previous)}), not on version ${current.version} where the drill started: ` +
                `the way forward failed: ${cause}. Go forward with: ${forward}`,
        );
    }
    io.out(
        `drill: the ${stack} stack is on version ${current.version}'s code (commit ${short(current)}) again: ` +
            `back in ${seconds(backMs)}, forward in ${seconds(forwardMs)}`,
    );
    await endDrillPart(io, { ...record, outcome: "succeeded", durationMs, backMs, forwardMs }, io.now());
    return 0;
}
