/**
 * What every config section's parser shares: JSON values as `pulumi config`
 * stores them, zod issues turned into problems with the key path, and the
 * `pulumi config set` command that fixes a key. Pure: no Pulumi imports.
 */
import * as fs from "fs";
import { z } from "zod";
import type { ConfigProblem } from "./errors";

export const NAMESPACE = "keel";

/** `pulumi config set [--secret] [--path] keel:<path> <example> --stack <stack>` */
export function configFix(stack: string, path: string, example: string | undefined, secret = false): string {
    const usePath = path.includes(".") ? " --path" : "";
    return `pulumi config set${secret ? " --secret" : ""}${usePath} ${NAMESPACE}:${path} ${example ?? "<value>"} --stack ${stack}`;
}

export function parseJsonValue(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

export function valueAt(root: unknown, path: PropertyKey[]): unknown {
    let v: any = root;
    for (const p of path) v = v === null || typeof v !== "object" ? undefined : v[p as any];
    return v;
}

/** Validates one object-valued key with a zod schema, turning every issue into a problem. */
export function parseConfigSection<T extends z.ZodTypeAny>(
    stack: string,
    key: string,
    schema: T,
    raw: string | undefined,
    problems: ConfigProblem[],
    examples: Record<string, string>,
    /** Mask values in messages (secret sections). */
    secret = false,
): z.infer<T> | undefined {
    const value = raw === undefined ? {} : parseJsonValue(raw);
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
        const where = [key, ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
            const known = issue.path.length === 0 && "shape" in schema ? ` (known: ${Object.keys((schema as any).shape).join(", ")})` : "";
            for (const k of issue.keys) {
                problems.push({
                    key: `${NAMESPACE}:${where}.${k}`,
                    message: `unknown setting${known}`,
                    fix: `pulumi config rm --path ${NAMESPACE}:${where}.${k} --stack ${stack}`,
                });
            }
            continue;
        }
        const example = Object.keys(examples).find((e) => e.startsWith(`${key}.`)) ?? `${key}.<setting>`;
        const got = secret ? "" : ` (got ${JSON.stringify(valueAt(value, issue.path))})`;
        problems.push({
            key: `${NAMESPACE}:${where}`,
            message: `${issue.path.length ? issue.message : `expected an object of ${key} settings`}${got}`,
            fix: issue.path.length
                ? configFix(stack, where, examples[where], secret)
                : `pulumi config rm ${NAMESPACE}:${key} --stack ${stack}, then set each setting with --path, e.g. ${configFix(stack, example, examples[example], secret)}`,
        });
    }
    return undefined;
}

/** Stacks with a Pulumi.<stack>.yaml in the project directory. */
export function stacksIn(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}
