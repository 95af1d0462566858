/**
 * `keel:copyFrom` and `keel:maskingKey`: which stack this stack's data is copied
 * from (`keel db copy` and `keel db reset` default `--from` to it), and the secret
 * HMAC key that masks the copies it receives (components/masking/strategies.ts).
 * Pure: no Pulumi imports.
 */
import { nearest } from "../masking/rules";
import { ConfigContext, NAMESPACE } from "./context";
import type { DatabaseConfig } from "./database";

/** The shortest masking key: the HMAC's key must not be guessable by trying. */
export const MASKING_KEY_MIN_BYTES = 16;

/** The command that sets a fresh masking key (the shell generates it: it never passes through Keel). */
export const MASKING_KEY_FIX = (stack: string) =>
    `npm run pulumi -- config set --secret ${NAMESPACE}:maskingKey $(openssl rand -hex 32) --stack ${stack}`;

export interface CopiesConfig {
    /** The stack this stack's data is copied from (keel:copyFrom). */
    copyFrom?: string;
    /** The stack's masking key (keel:maskingKey, a secret); never in a message. */
    maskingKey?: string;
}

/** keel:copyFrom and keel:maskingKey; problems go to the context (a plain-text key is index.ts's, with every secret). */
export function parseCopies(ctx: ConfigContext): CopiesConfig {
    const out: CopiesConfig = {};
    const from = ctx.get("copyFrom");
    if (from !== undefined) {
        const key = `${NAMESPACE}:copyFrom`;
        const rm = `npm run pulumi -- config rm ${key} --stack ${ctx.stack}`;
        const before = ctx.problems.length;
        if (from.trim() === "") {
            ctx.problems.push({ key, message: "is empty; it names the stack whose data this stack receives", fix: rm });
        } else if (from === ctx.stack) {
            ctx.problems.push({
                key,
                message: `names this stack itself ('${from}'): a stack cannot receive copies of its own data`,
                fix: `${rm}, or name the stack to copy from: npm run pulumi -- config set ${key} <stack> --stack ${ctx.stack}`,
            });
        } else if (ctx.knownStacks && !ctx.knownStacks.includes(from)) {
            const guess = nearest(from, ctx.knownStacks);
            ctx.problems.push({
                key,
                message: `names the stack '${from}', which has no Pulumi.${from}.yaml (stacks: ${ctx.knownStacks.join(", ")})`,
                fix: `npm run pulumi -- config set ${key} ${guess ?? "<stack>"} --stack ${ctx.stack}${guess ? "" : `, or ${rm}`}`,
            });
        }
        if (ctx.stage === "prod") {
            ctx.problems.push({
                key,
                message:
                    "is set on a prod-stage stack; a prod stack never receives copies: a copy replaces its database with another stack's data",
                fix: `${rm}; set it on the stack that receives prod's data instead: npm run pulumi -- config set ${key} ${ctx.stack} --stack <staging stack>`,
            });
        }
        if (ctx.problems.length === before) out.copyFrom = from;
    }

    const maskingKey = ctx.get("maskingKey");
    if (maskingKey !== undefined) {
        // A key still encrypted (a stack file read without its passphrase) is present; it is checked where it is read.
        const encrypted = ctx.encryptedKeys?.has(`${NAMESPACE}:maskingKey`) ?? false;
        const bytes = Buffer.byteLength(maskingKey);
        if (!encrypted && bytes < MASKING_KEY_MIN_BYTES) {
            ctx.problems.push({
                key: `${NAMESPACE}:maskingKey`,
                message: `is ${bytes} byte${bytes === 1 ? "" : "s"} long; the masking key must be at least ${MASKING_KEY_MIN_BYTES} bytes, or its masked values can be reversed by trying keys`,
                fix: MASKING_KEY_FIX(ctx.stack),
            });
        } else out.maskingKey = maskingKey;
    }
    return out;
}

/** Where a stack's copies come from: keel:copyFrom, else the Neon parent branch `db reset` copies; undefined when it receives none. */
export function copySource(config: { copyFrom?: string; database: DatabaseConfig }): string | undefined {
    if (config.copyFrom !== undefined) return `the ${config.copyFrom} stack`;
    if (config.database.kind === "neon" && config.database.branch.parent !== undefined)
        return `the Neon branch ${config.database.branch.parent}`;
    return undefined;
}

/** Whether the stack receives copies of another's data: keel:copyFrom is set, or it is a Neon branch with a parent (`db reset`). */
export function receivesCopies(config: { copyFrom?: string; database: DatabaseConfig }): boolean {
    return copySource(config) !== undefined;
}
