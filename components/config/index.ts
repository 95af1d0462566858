/**
 * The stack's configuration, whole: every `keel:` key parsed and validated
 * before any resource is declared, section by section (database.ts,
 * migrations.ts, backend.ts, frontend.ts, github.ts, with stage.ts's defaults),
 * and every problem reported at once with its key, what was expected and the
 * `npm run pulumi -- config set` command that fixes it. Pure: no Pulumi imports (pulumi.ts
 * reads the raw values from the Pulumi runtime).
 */
import { ConfigError, ConfigProblem } from "../errors";
import { BackendConfig, parseBackend } from "./backend";
import { ConfigContext, configFix, NAMESPACE } from "./context";
import { parseAllowDataLoss } from "./dataLoss";
import { DatabaseConfig, parseDatabase } from "./database";
import { FrontendConfig, parseFrontend } from "./frontend";
import { GithubConfig, parseGithub } from "./github";
import { MigrationConfig, parseMigrations } from "./migrations";
import { MANUAL_STAGES, Stage, stageDefaults, StageDefaults, stageOf } from "./stage";
import { prOfStack } from "../previews/naming";
import { exampleOf, KNOWN_KEYS, SECRET_KEYS } from "./keys";
import { parseCopies } from "./copies";
import { parsePreviews, PreviewConfig, PreviewsConfig } from "./previews";

export { NAMESPACE, parseJsonValue, stacksIn, valueAt } from "./context";
export type {
    BackendConfig,
    DeployStrategy,
    FlyBackendConfig,
    HealthCheckConfig,
    ImageSource,
    RenderBackendConfig,
    WatchConfig,
} from "./backend";
export type { DatabaseConfig, DockerDatabaseConfig, ExternalDatabaseConfig, LocalDatabaseConfig, NeonDatabaseConfig } from "./database";
export { DATABASE_KINDS, DEFAULT_LOCAL_PORT, LOCAL_DEFAULTS } from "./database";
export type { FrontendConfig } from "./frontend";
export type { GithubConfig } from "./github";
export { environmentNameFor } from "./github";
export type { MigrationConfig } from "./migrations";
export type { CopiesConfig } from "./copies";
export { copySource, MASKING_KEY_MIN_BYTES, receivesCopies } from "./copies";
export { MANUAL_STAGES, STAGES, stageDefaults, WATCH_DEFAULTS, WATCH_MAX_MINUTES } from "./stage";
export type { Stage, StageDefaults } from "./stage";

export interface KeelConfig {
    project: string;
    stack: string;
    stage: Stage;
    defaults: StageDefaults;
    database: DatabaseConfig;
    migrations: MigrationConfig;
    /** The backend service (Fly.io or Render); undefined when the stack runs none. */
    backend?: BackendConfig;
    /** The Vercel frontend; undefined when the stack has none. */
    frontend?: FrontendConfig;
    /** The repository's gates and workflows; undefined when Keel does not manage them. */
    github?: GithubConfig;
    /**
     * The data-holding resources the next update may delete or replace (`keel:allowDataLoss`,
     * components/dataGuard.ts); every other one is protected on every stage.
     */
    allowDataLoss: string[];
    /** The stack this stack's data is copied from (`keel:copyFrom`); see receivesCopies for Neon's parent branch. */
    copyFrom?: string;
    /** The HMAC key that masks the copies this stack receives (`keel:maskingKey`, a secret). */
    maskingKey?: string;
    /** Whether and how pull requests get previews made from this stack (`keel:previews`). */
    previews?: PreviewsConfig;
    /** On a preview stack: its pull request, base, branch and expiry (`keel:preview`, written by `keel pr up`). */
    preview?: PreviewConfig;
}

/** What the program reads: raw config values (`keel:key` -> string) and which of them are secret. */
export interface RawConfig {
    /** The Pulumi project's name (names the Neon project by default). */
    project?: string;
    stack: string;
    values: Record<string, string>;
    secretKeys: ReadonlySet<string>;
    env: Record<string, string | undefined>;
    /** Stacks with a Pulumi.<stack>.yaml, when known (keel:github.branches must name them). */
    knownStacks?: readonly string[];
    /** Their keel:stage as their files set it, when known (the stage of each stack keel:github.branches deploys). */
    stackStages?: Readonly<Record<string, string | undefined>>;
    /** Secret keys read from a stack file without decrypting them: present, valued ENCRYPTED_VALUE, not checked. */
    encryptedKeys?: ReadonlySet<string>;
    /** Check the backend's and frontend's API tokens (default true; operator scripts that only touch the database pass false). */
    deployCredentials?: boolean;
}

/** Parses and validates the whole stack config; throws ConfigError listing every problem. */
export function parseKeelConfig(raw: RawConfig): KeelConfig {
    const problems: ConfigProblem[] = [];
    const { stack, values } = raw;
    const project = raw.project ?? "keel";
    const get = (key: string): string | undefined => values[`${NAMESPACE}:${key}`];
    const ctxBase = {
        stack,
        project,
        get,
        env: raw.env,
        problems,
        deployCredentials: raw.deployCredentials ?? true,
        ...(raw.knownStacks ? { knownStacks: raw.knownStacks } : {}),
        ...(raw.stackStages ? { stackStages: raw.stackStages } : {}),
        ...(raw.encryptedKeys ? { encryptedKeys: raw.encryptedKeys } : {}),
    };

    for (const fullKey of Object.keys(values)) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
        const key = fullKey.slice(NAMESPACE.length + 1);
        if (!KNOWN_KEYS.includes(key)) {
            problems.push({
                key: fullKey,
                message: `unknown key (known keys: ${KNOWN_KEYS.map((k) => `${NAMESPACE}:${k}`).join(", ")})`,
                fix: `npm run pulumi -- config rm ${fullKey} --stack ${stack}, or correct its spelling`,
            });
        } else if (SECRET_KEYS.includes(key) && !raw.secretKeys.has(fullKey)) {
            problems.push({
                key: fullKey,
                message: "is stored in plain text in the stack file; it holds a credential and must be a secret",
                fix: `npm run pulumi -- config set --secret ${fullKey} ${exampleOf(key)} --stack ${stack}`,
            });
        }
    }

    // Pulumi.yaml declares keel:stage with an empty default, meaning "the stack's name" (stage.ts: stageOf).
    const resolvedStage = stageOf(stack, get("stage"));
    const stage: Stage = resolvedStage ?? "dev";
    // The stages one sets by hand: a preview is made by `keel pr up`, as pr-<n>, never by keel:stage on another stack.
    const manual = MANUAL_STAGES.join(", ");
    const manualChoice = `<${MANUAL_STAGES.join("|")}>`;
    const previewsNote = "a pull request's preview is the stack pr-<n>, made by keel pr up --pr <n>";
    const pr = prOfStack(stack);
    if (!resolvedStage) {
        problems.push({
            key: `${NAMESPACE}:stage`,
            message: get("stage")
                ? `'${get("stage")}' is not a stage; expected one of ${manual} (${previewsNote})`
                : `stack '${stack}' is not named after a stage, so Keel cannot tell which defaults apply; expected one of ${manual} (${previewsNote})`,
            // Which stage a stack is, only its owner knows: the fix names the choice.
            fix: configFix(stack, "stage", manualChoice),
        });
    }
    // The policy pack judges a stack by its stage: a stack named after one cannot claim another.
    if ((MANUAL_STAGES as readonly string[]).includes(stack) && get("stage") && get("stage") !== stack) {
        problems.push({
            key: `${NAMESPACE}:stage`,
            message: `is '${get("stage")}', but the stack is named ${stack}: a stack named after a stage has that stage`,
            fix: `npm run pulumi -- config rm ${NAMESPACE}:stage --stack ${stack}`,
        });
    }
    // A preview is held to none of prod's rules, so only keel pr up's stacks may be one; and pr-<n> is always one.
    if (resolvedStage === "preview" && pr === undefined) {
        problems.push({
            key: `${NAMESPACE}:stage`,
            message: `is 'preview', but the stack '${stack}' is not named pr-<n>: ${previewsNote}, not by setting keel:stage`,
            fix: `${configFix(stack, "stage", manualChoice)}, or make the preview with keel pr up --pr <n> [--from ${stack}]`,
        });
    }
    if (pr !== undefined && resolvedStage !== undefined && resolvedStage !== "preview") {
        problems.push({
            key: `${NAMESPACE}:stage`,
            message: `is '${get("stage")}', but the stack is named ${stack}: a stack named pr-<n> is pull request ${pr}'s preview, of stage preview`,
            fix: `npm run pulumi -- config rm ${NAMESPACE}:stage --stack ${stack} (keel pr up --pr ${pr} writes its stack file), or give the stack another name`,
        });
    }
    const defaults = stageDefaults(stage);
    const ctx: ConfigContext = { ...ctxBase, stage, defaults };

    const database = parseDatabase(ctx);
    const migrations = parseMigrations(ctx);
    const backend = parseBackend(ctx);
    const frontend = parseFrontend(ctx, backend, get("backend") !== undefined);
    const github = parseGithub(ctx);
    const allowDataLoss = parseAllowDataLoss(ctx, database);
    const copies = parseCopies(ctx);
    const previews = parsePreviews(ctx, database?.kind);

    if (problems.length || !migrations || !database) throw new ConfigError(stack, problems);
    return {
        project,
        stack,
        stage,
        defaults,
        database,
        migrations,
        ...(backend ? { backend } : {}),
        ...(frontend ? { frontend } : {}),
        ...(github ? { github } : {}),
        allowDataLoss,
        ...copies,
        ...previews,
    };
}
