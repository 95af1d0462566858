/**
 * Every `keel:` key the stack config accepts, in one list: whether it holds a credential
 * (refused in plain text), the environment variable it falls back to, what it means, and
 * the zod schema of an object-valued key. Config validation (index.ts) takes its known
 * and secret keys from here, and the generated reference (reference.ts, docs/config.md)
 * documents the same list, so neither can leave a key out. Pure: no Pulumi imports.
 */
import type { z } from "zod";
import { backendSchema } from "./backend";
import { envMap } from "./context";
import { databaseSchema } from "./database";
import { frontendSchema } from "./frontend";
import { githubSchema } from "./github";
import { migrationsSchema } from "./migrations";
import { previewSchema, previewsSchema } from "./previews";
import { MANUAL_STAGES } from "./stage";
import { allStateCredentials } from "./stateCredentials";

export interface ConfigKey {
    /** The key without the namespace: `migrations`, `flyApiToken`. */
    key: string;
    /** One line: what it is for (a schema's own keys carry theirs in `.describe()`). */
    description: string;
    /** A credential: refused in plain text (`npm run pulumi -- config set --secret`). */
    secret: boolean;
    /** Its settings, for an object-valued key. */
    schema?: z.ZodType;
    /** What the value is, for a key without a schema. */
    type?: string;
    /** Where the value comes from when the key is not set, in words (an environment variable, a vendor's URL). */
    fallback?: string;
    /** The default of a key without a schema, in words. */
    default?: string;
    /** The value a fix suggests, when a placeholder says too little (a secret's: a command that generates one). */
    example?: string;
}

/** In the order the unknown-key message lists them. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
    {
        key: "databaseUrl",
        secret: true,
        type: "PostgreSQL URL",
        fallback: "`DATABASE_URL` on dev",
        description:
            "the direct (not pooled) URL of an external database; a connection attempt gives up after 30 s unless `?connect_timeout=<seconds>` says otherwise",
    },
    {
        key: "neonApiKey",
        secret: true,
        type: "string",
        fallback: "`NEON_API_KEY`",
        description: "the Neon API key (the neon database kind)",
    },
    {
        key: "neonApiUrl",
        secret: false,
        type: "URL",
        fallback: "`NEON_API_URL`, else Neon's",
        description: "the Neon API's base URL (a proxy, or a local fake in tests)",
    },
    {
        key: "stage",
        secret: false,
        type: MANUAL_STAGES.map((s) => `\`${s}\``).join(", "),
        default: "the stack's name (`pr-<n>`: preview)",
        description:
            "which stage's defaults apply; needed for a stack not named after a stage, refused when it names another; `preview` is only for the pr-<n> stacks keel pr up makes",
    },
    { key: "migrations", secret: false, schema: migrationsSchema, description: "the migration files, their history, timeouts and backups" },
    { key: "database", secret: false, schema: databaseSchema, description: "the stack's PostgreSQL" },
    { key: "backend", secret: false, schema: backendSchema, description: "the API service on Fly.io or Render" },
    {
        key: "backendSecrets",
        secret: true,
        schema: envMap,
        description:
            "the backend's secret environment variables: `npm run pulumi -- config set --secret --path keel:backendSecrets.STRIPE_KEY …`",
    },
    { key: "frontend", secret: false, schema: frontendSchema, description: "the web app's Vercel project" },
    {
        key: "frontendSecrets",
        secret: true,
        schema: envMap,
        description: "the frontend's sensitive Vercel variables (never under a browser-exposed prefix such as NEXT_PUBLIC_)",
    },
    { key: "flyApiToken", secret: true, type: "string", fallback: "`FLY_API_TOKEN`", description: "the Fly.io API token (fly backend)" },
    {
        key: "flyApiUrl",
        secret: false,
        type: "URL",
        fallback: "`FLY_API_URL`, else Fly's",
        description: "the Fly Machines API's base URL (tests point it at a local fake)",
    },
    { key: "renderApiKey", secret: true, type: "string", fallback: "`RENDER_API_KEY`", description: "the Render API key (render backend)" },
    {
        key: "renderApiUrl",
        secret: false,
        type: "URL",
        fallback: "`RENDER_API_URL`, else Render's",
        description: "the Render API's base URL (tests point it at a local fake)",
    },
    { key: "vercelApiToken", secret: true, type: "string", fallback: "`VERCEL_API_TOKEN`", description: "the Vercel API token (frontend)" },
    {
        key: "registryPassword",
        secret: true,
        type: "string",
        fallback: "none",
        description: "the password or token that pushes a built image to keel:backend.build.registry",
    },
    { key: "github", secret: false, schema: githubSchema, description: "the repository's gates and workflows" },
    {
        key: "githubToken",
        secret: true,
        type: "string",
        fallback: "`GITHUB_TOKEN`",
        description: "a token with repository administration, environments, secrets and contents write access (keel:github)",
    },
    {
        key: "pulumiPassphrase",
        secret: true,
        type: "string",
        fallback: "`PULUMI_CONFIG_PASSPHRASE`",
        description: "the state's passphrase, which the deployment environment holds for CI (github.state.kind passphrase)",
    },
    {
        key: "pulumiAccessToken",
        secret: true,
        type: "string",
        fallback: "`PULUMI_ACCESS_TOKEN`",
        description: "the Pulumi Cloud token the deployment environment holds for CI (github.state.kind cloud)",
    },
    {
        key: "slackWebhookUrl",
        secret: true,
        type: "URL",
        fallback: "`SLACK_WEBHOOK_URL`",
        description: "where the workflows post deploy and incident messages",
    },
    {
        key: "allowDataLoss",
        secret: false,
        type: "a resource name or a list of them",
        description:
            "the resources holding data that the next `up` may delete or replace (see What Keel never deletes); take it out again afterwards",
    },
    {
        key: "copyFrom",
        secret: false,
        type: "stack name",
        description:
            "the stack this stack's data is copied from: `keel db copy` and `keel db reset` default `--from` to it; never on a prod-stage stack, never the stack itself",
    },
    {
        key: "maskingKey",
        secret: true,
        type: "string of at least 16 bytes",
        fallback: "none",
        example: "$(openssl rand -hex 32)",
        description:
            "the HMAC key that masks the copies this stack receives (db/masking.yaml); the same key gives the same masked values, so keep it for the stack's life",
    },
    {
        key: "previews",
        secret: false,
        schema: previewsSchema,
        description:
            "pull requests' previews made from this stack (`keel pr up`): whether, how many, for how long, with which data; never on prod",
    },
    {
        key: "preview",
        secret: false,
        schema: previewSchema,
        description: "a preview stack's pull request, base and expiry: written by `keel pr up` from the base's file, never by hand",
    },
    ...allStateCredentials().map((c): ConfigKey => ({
        key: c.key,
        secret: true,
        type: "string",
        fallback: `\`${c.env}\``,
        description: `the state store's credential the deployment environment holds for CI as ${c.secret}, when github.state.backendUrl is in its store`,
    })),
];

/** Every key the config accepts, without the namespace. */
export const KNOWN_KEYS: readonly string[] = CONFIG_KEYS.map((k) => k.key);

/** The value a key's fix suggests: its own example, else a placeholder. */
export function exampleOf(key: string): string {
    return CONFIG_KEYS.find((k) => k.key === key)?.example ?? "'<value>'";
}

/** Keys whose values are credentials: refused in plain text. */
export const SECRET_KEYS: readonly string[] = CONFIG_KEYS.filter((k) => k.secret).map((k) => k.key);
