/**
 * Shared helpers for Keel's policy pack: the stage a resource is judged by, the
 * enforcement level per stage, raw (un-proxied) property access, unknown and
 * secret values, violations that carry their own enforcement level, and the
 * metadata every rule carries.
 */
import * as fs from "fs";
import * as path from "path";
import { EnforcementLevel, ReportViolation, Secret, Severity } from "@pulumi/policy";
import { isStage, Stage, stageOf as stageOfStack } from "../components/config/stage";
import { ROOT } from "../tools/repoRoot";

export { STAGES } from "../components/config/stage";
export type { Stage } from "../components/config/stage";

/** `urn:pulumi:<stack>::<project>::<type>::<name>` -> `<stack>` (undefined when not a URN). */
export function stackFromUrn(urn: string): string | undefined {
    const m = /^urn:pulumi:([^:]+(?::[^:]+)*?)::/.exec(urn);
    return m ? m[1] : undefined;
}

/** The stage a stack's name gives it (stageOf, the program's rule: dev, staging, prod, pr-<n> a preview); any other name (or no URN) counts as prod, the strictest. */
export function stageOfStackName(stack: string | undefined): Stage {
    return stageOfStack(stack ?? "") ?? "prod";
}

export function stageFromUrn(urn: string): Stage {
    return stageOfStackName(stackFromUrn(urn));
}

/**
 * The stage a resource is judged by: the `stage` every Keel resource carries
 * (keel:stage, resolved as the program resolves it: a stack named benchdev can be
 * dev), else its stack's name. Relaxing the gate through keel:stage takes a stack
 * not named after a stage: config refuses `keel:stage: dev` on a stack named prod.
 */
export function stageOf(args: { props?: unknown; urn: string }): Stage {
    const carried = field(raw(args.props), "stage");
    return isStage(carried) ? carried : stageFromUrn(args.urn);
}

/** A whole stack's stage: the one its Keel resources carry, else its name's. */
export function stageOfResources(resources: readonly { props?: unknown; urn: string }[]): Stage {
    for (const r of resources) {
        const carried = field(raw(r.props), "stage");
        if (isStage(carried)) return carried;
    }
    return stageFromUrn(resources[0]?.urn ?? "");
}

/** The documents a rule's `url` points into (relative to the repository root), and what every rule states about itself besides its check. */
export const HOW_IT_WORKS = "docs/how-it-works.md";
export const OPERATIONS = "docs/operations.md";
export const CONFIG_REFERENCE = "docs/config.md";

export interface RuleMetadata {
    severity: Severity;
    /** The document section the rule enforces (`docs/<file>.md#<heading>`). */
    url: string;
    /** What to do about a violation, in one or two sentences. */
    remediationSteps: string;
}

/** The stack's name as written in a fix command (`--stack <name>`). */
export function stackName(urn: string): string {
    return stackFromUrn(urn) ?? "<stack>";
}

/** Per-stage enforcement. `undefined` means the rule does not apply on that stage. */
export type StageEnforcement = Record<Stage, EnforcementLevel | undefined>;

/** The usual gate: advisory on dev and on a pull request's preview (thrown away, never prod's rules), mandatory on staging and prod. */
export const ADVISORY_IN_DEV: StageEnforcement = { dev: "advisory", staging: "mandatory", prod: "mandatory", preview: "advisory" };
export const SHARED_STAGES_ONLY: StageEnforcement = { dev: undefined, staging: "mandatory", prod: "mandatory", preview: undefined };
export const PROD_ONLY: StageEnforcement = { dev: undefined, staging: undefined, prod: "mandatory", preview: undefined };
/** Rules about what a pull request's preview may touch. */
export const PREVIEW_ONLY: StageEnforcement = { dev: undefined, staging: undefined, prod: undefined, preview: "mandatory" };

/**
 * The project whose stack files the pack reads: KEEL_PROJECT_ROOT, which Keel's
 * engine commands set to the project they run (scripts/lib/engine.ts), when it
 * holds a Pulumi.yaml; else the repository the pack lives in, found from this
 * file (the pack runs built, from dist/policies/, with policies/ as cwd).
 */
export function projectRoot(env: Record<string, string | undefined> = process.env): string {
    const given = env.KEEL_PROJECT_ROOT;
    return given && fs.existsSync(path.join(given, "Pulumi.yaml")) ? given : ROOT;
}

export interface Violation {
    message: string;
    urn?: string;
    enforcementLevel: EnforcementLevel;
}

/**
 * Reports a violation with its own enforcement level. The SDK's runtime accepts an
 * object (ReportViolationArgs: message, urn, enforcementLevel) although the
 * declared ReportViolation type only lists (message, urn).
 */
export function report(reportViolation: ReportViolation, v: Violation): void {
    (reportViolation as unknown as (args: Violation) => void)({ message: v.message, urn: v.urn, enforcementLevel: v.enforcementLevel });
}

/** The engine's markers for values not known during preview. */
export const UNKNOWN_VALUES: ReadonlySet<string> = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (also what @pulumi/pulumi calls unknownValue)
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWN_VALUES.has(v);
}

/** The wire form of a secret: `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A value the engine marked secret, in the SDK's form (Secret) or the wire form. */
export function isSecret(v: unknown): boolean {
    return v instanceof Secret || (v !== null && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG);
}

/** The value inside a secret (or the value itself). */
export function reveal<T = any>(v: unknown): T {
    if (v instanceof Secret) return reveal(v.value);
    if (isSecret(v)) return reveal((v as Record<string, unknown>).value);
    return v as T;
}

const SPECIAL_PROXY = "__isSpecialProxy";
const PROXY_TARGET = "__getSpecialProxyTarget";

/**
 * The SDK hands props behind proxies: one throws (making the whole policy a
 * "can't run during preview" advisory) on any unknown value it is asked for, one
 * unwraps secrets. Rules read the raw tree instead and decide about unknowns and
 * secrets themselves.
 */
export function raw<T = Record<string, any>>(props: unknown): T {
    let v: any = props;
    for (let i = 0; i < 4 && v !== null && typeof v === "object" && v[SPECIAL_PROXY] === true; i++) v = v[PROXY_TARGET];
    return v as T;
}

/** A field of a raw object, with secrets revealed; undefined for unknown values. */
export function field<T = any>(obj: unknown, ...path: (string | number)[]): T | undefined {
    let v: any = reveal(obj);
    for (const k of path) {
        if (v === null || typeof v !== "object") return undefined;
        v = reveal(v[k]);
    }
    return isUnknown(v) ? undefined : (v as T);
}

/**
 * Whether secrets are visible to validateResource/validateStack. @pulumi/policy's
 * analyze and analyzeStack handlers deserialize the engine's properties with
 * secret proxying off: the engine sends secrets marked (`KeepSecrets: true`),
 * and the SDK unwraps them into plain values, so a rule cannot tell a secret
 * from plain text. `keepSecretsVisible` switches those calls to the SDK's own
 * secret-preserving deserialization (the one its remediation path uses): values
 * still read as plain through the props proxy, and the raw tree (see `raw`)
 * holds `Secret` objects where the engine said secret.
 */
let secretsVisible = false;

export function secretsAreVisible(): boolean {
    return secretsVisible;
}

/** Test hook: what the rule assumes when the SDK could not be adjusted. */
export function setSecretsVisible(visible: boolean): void {
    secretsVisible = visible;
}

export function keepSecretsVisible(): boolean {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const deserialize = require("@pulumi/policy/deserialize");
        const serverSource = fs.readFileSync(require.resolve("@pulumi/policy/server"), "utf8");
        // The handlers must call the function through the module object for the switch to reach them.
        if (typeof deserialize.deserializeProperties !== "function" || !serverSource.includes("deserialize_1.deserializeProperties("))
            return false;
        if (!deserialize.deserializeProperties.__keelKeepsSecrets) {
            const original = deserialize.deserializeProperties;
            const keeping = (struct: unknown, _proxySecrets: boolean) => original(struct, true);
            keeping.__keelKeepsSecrets = true;
            deserialize.deserializeProperties = keeping;
        }
        secretsVisible = true;
    } catch {
        secretsVisible = false;
    }
    return secretsVisible;
}
