/**
 * The running stack's stage, for every Keel resource's `stage` input: a module of
 * its own (Pulumi and stage.ts only), since dynamic providers load it too.
 */
import * as pulumi from "@pulumi/pulumi";
import { stageOf } from "./stage";

/**
 * The running stack's stage (stage.ts: stageOf), what the policy pack judges each Keel resource by. Config
 * validation has refused a stack without one before any resource exists; the stack's name is left only
 * where no validation ran (programs under mocks).
 */
export function runningStackStage(): string {
    const stack = pulumi.getStack();
    return stageOf(stack, new pulumi.Config("keel").get("stage")) ?? stack;
}
