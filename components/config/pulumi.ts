/**
 * Reads the stack's raw config from the Pulumi runtime and validates it
 * (index.ts): the one part of Keel that reads Pulumi config. Components get the
 * validated config, the credentials as secret Outputs, and the stage from here.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelConfig, parseKeelConfig } from ".";
import { stacksIn, stagesIn } from "./context";

export function readKeelConfig(root: string = process.cwd()): KeelConfig {
    const values = pulumi.runtime.allConfig();
    // isConfigSecret is internal to the SDK; without it every key counts as plain text.
    const isSecret: (k: string) => boolean = (pulumi.runtime as any).isConfigSecret ?? (() => false);
    const secretKeys = new Set(Object.keys(values).filter((k) => isSecret(k)));
    // The project directory's stack files name the stacks that exist.
    const knownStacks = stacksIn(root);
    return parseKeelConfig({
        project: pulumi.getProject(),
        stack: pulumi.getStack(),
        values,
        secretKeys,
        env: process.env,
        ...(knownStacks.length ? { knownStacks, stackStages: stagesIn(root) } : {}),
    });
}

/** A stack's credentials as secret Outputs: keel:<key> (a secret), else the environment variable named, if any. */
export interface Credentials {
    get(key: string, envName?: string): pulumi.Output<string> | undefined;
}

export function readCredentials(env: Record<string, string | undefined> = process.env): Credentials {
    const keel = new pulumi.Config("keel");
    return {
        get: (key, envName) => keel.getSecret(key) ?? (envName && env[envName] ? pulumi.secret(env[envName]!) : undefined),
    };
}
