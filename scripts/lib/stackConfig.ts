/**
 * Reads a stack's config from its Pulumi.<stack>.yaml for operator scripts that
 * run without the Pulumi CLI. Secret values stay encrypted in the file: they are
 * reported as present (so validation knows they are secret) but not readable.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { KeelConfig, parseKeelConfig, RawConfig, stacksIn } from "../../components/config";
import { ENCRYPTED_VALUE } from "../../components/config/context";
import { KeelError } from "../../components/errors";

export class StackFileError extends KeelError {
    constructor(message: string) {
        super(message, "StackFileError");
    }
}

export function rawStackConfig(root: string, stack: string, env: Record<string, string | undefined> = process.env): RawConfig {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file))
        throw new StackFileError(`${file} does not exist: is '${stack}' a stack of this project? (dev, staging, prod)`);
    const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const encryptedKeys = new Set<string>();
    for (const [key, value] of Object.entries<any>(doc.config ?? {})) {
        if (value && typeof value === "object" && "secure" in value) {
            secretKeys.add(key);
            encryptedKeys.add(key);
            values[key] = ENCRYPTED_VALUE;
        } else if (hasSecure(value)) {
            // `npm run pulumi -- config set --secret --path keel:backendSecrets.X`: the key holds secure leaves, so it is secret.
            secretKeys.add(key);
            values[key] = JSON.stringify(maskSecure(value));
        } else values[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"))?.name ?? "keel";
    return { project, stack, values, secretKeys, encryptedKeys, env, knownStacks: stacksIn(root) };
}

/** Whether a config value is, or holds, a `secure:` ciphertext. */
export function hasSecure(value: unknown): boolean {
    if (!value || typeof value !== "object") return false;
    if ("secure" in value && Object.keys(value).length === 1) return true;
    return Object.values(value).some(hasSecure);
}

function maskSecure(value: any): unknown {
    if (!value || typeof value !== "object") return value;
    if ("secure" in value && Object.keys(value).length === 1) return ENCRYPTED_VALUE;
    if (Array.isArray(value)) return value.map(maskSecure);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecure(v)]));
}

export function readStackConfig(root: string, stack: string, env: Record<string, string | undefined> = process.env): KeelConfig {
    // Operator scripts work on the database: the backend's and frontend's tokens are not theirs to need.
    return parseKeelConfig({ ...rawStackConfig(root, stack, env), deployCredentials: false });
}
