/** What the workflows are generated from (the options), what they are made of (typed workflows), and the names other code reads. */
import { KeelError } from "../../errors";

export interface WorkflowStack {
    /** The Pulumi stack name ("staging", "prod", ...). */
    stack: string;
    /** A preview is never deployed by a branch (config/github.ts refuses one in keel:github.branches). */
    stage: "dev" | "staging" | "prod";
    /** The branch that deploys this stack ("main" for prod, "staging"). */
    branch: string;
    /** The GitHub deployment environment ("production", "staging"). */
    environment: string;
    /** A health check step after deploy (and the monitor) uses vars.BACKEND_HEALTH_URL. */
    hasBackend: boolean;
    /** The monitor also checks vars.FRONTEND_HEALTH_URL. */
    hasFrontend: boolean;
}

export interface WorkflowOptions {
    /** The deploying stacks (dev is never deployed from CI). */
    stacks: WorkflowStack[];
    /** "main" */
    defaultBranch: string;
    /** "20" */
    nodeVersion: string;
    /** The Pulumi CLI every job installs, "3.276.0": tools/pulumi/go.mod's pin (pinnedPulumiVersion). */
    pulumiVersion: string;
    /** "policies" */
    policyPack: string;
    /** How CI reaches the Pulumi state: "passphrase" (self-managed backend: secrets.PULUMI_CONFIG_PASSPHRASE + vars.PULUMI_BACKEND_URL) or "cloud" (secrets.PULUMI_ACCESS_TOKEN). */
    state: "passphrase" | "cloud";
    /** The object store's credentials every Pulumi job gets from the environment's secrets (stateCredentials.ts): AWS_ACCESS_KEY_ID... */
    stateCredentials?: string[];
    /** The monitor posts to secrets.SLACK_WEBHOOK_URL. */
    slack: boolean;
    /**
     * Set when the base stack's keel:previews.enabled is true: previews.yml makes a preview stack per pull
     * request from `base` (keel pr up), kept `ttlDays` after the last push; absent, no previews.yml.
     */
    previews?: PreviewsOptions;
}

export interface PreviewsOptions {
    /** The stack each preview is made from ("staging"). */
    base: string;
    /** Days a preview lives after its last push (keel:previews.ttlDays); the nightly reap removes it then. */
    ttlDays: number;
}

export interface GeneratedWorkflow {
    /** ".github/workflows/ci.yml" */
    path: string;
    name: string;
    /** YAML text. */
    content: string;
    /** The `name:` of each job, in the file's order. */
    jobNames: string[];
}

/** Options no workflow can be generated from; the message names each problem and its fix. */
export class WorkflowConfigError extends KeelError {
    constructor(message: string) {
        super(message, "WorkflowConfigError");
    }
}

// ---------------------------------------------------------------------------
// Typed workflows

export type PermissionLevel = "read" | "write" | "none";
export type PermissionScope =
    "actions" | "checks" | "contents" | "deployments" | "id-token" | "issues" | "packages" | "pull-requests" | "statuses";
export type Permissions = Partial<Record<PermissionScope, PermissionLevel>>;

export interface Concurrency {
    group: string;
    "cancel-in-progress": boolean;
}

export type PullRequestActivity = "opened" | "synchronize" | "reopened" | "closed";

export interface Triggers {
    pull_request?: { branches?: string[]; types?: PullRequestActivity[] };
    push?: { branches: string[] };
    schedule?: { cron: string }[];
    workflow_run?: { workflows: string[]; types: "completed"[]; branches: string[] };
    workflow_dispatch?: { inputs?: Record<string, DispatchInput> };
}

export interface DispatchInput {
    description: string;
    required: boolean;
    type: "choice" | "string" | "boolean";
    options?: string[];
    default?: string | boolean;
}

export interface Step {
    name: string;
    id?: string;
    if?: string;
    "timeout-minutes"?: number;
    uses?: string;
    with?: Record<string, string | number | boolean>;
    env?: Record<string, string>;
    run?: string;
}

export interface Job {
    name: string;
    needs?: string[];
    if?: string;
    "runs-on": string;
    environment?: string;
    permissions: Permissions;
    concurrency?: Concurrency;
    "timeout-minutes": number;
    env?: Record<string, string>;
    steps: Step[];
}

export interface Workflow {
    name: string;
    on: Triggers;
    permissions: Permissions;
    concurrency?: Concurrency;
    defaults: { run: { shell: "bash" } };
    jobs: Record<string, Job>;
}

// ---------------------------------------------------------------------------
// Names others read

export const WORKFLOW_NAMES = {
    ci: "CI",
    preview: "Preview",
    deploy: "Deploy",
    rollback: "Rollback",
    drift: "Drift",
    monitor: "Monitor",
    release: "Release",
    drill: "Drill",
    metrics: "Metrics",
    previews: "Previews",
} as const;

/** previews.yml: a preview stack per pull request (generated only with keel:previews.enabled on the base stack). */
export const PREVIEWS_FILE = "previews.yml";

/**
 * The GitHub environment previews.yml's jobs run in: where the previews' own credentials live (state, vendor
 * tokens scoped to previews), never a deploying stack's. Each preview's page is previewEnvironmentName(pr), apart.
 */
export const PREVIEWS_ENVIRONMENT = "preview";

/** The button: the Rollback workflow's file, linked from alerts and summaries. */
export const ROLLBACK_FILE = "rollback.yml";

/**
 * Variables of a stack's own environment that its `pulumi up` sets from keel:backend.watch
 * (deploy.yml's watch reads them at run time; minutes 0 or unset: no watch).
 */
export const WATCH_VARIABLES = {
    minutes: "KEEL_WATCH_MINUTES",
    intervalSeconds: "KEEL_WATCH_INTERVAL_SECONDS",
    failures: "KEEL_WATCH_FAILURES",
} as const;

/** The environment variable saying where the stack's backend logs are: `fly logs -a <app>`, or the Render service's dashboard URL. */
export const LOGS_VARIABLE = "KEEL_BACKEND_LOGS";

export { incidentTitle } from "../../operations/issues";

/** The repository variable the monitor reads a stack's health URL from: `KEEL_PROD_BACKEND_HEALTH_URL`. */
export function monitorVariable(stack: string, name: "BACKEND_HEALTH_URL" | "FRONTEND_HEALTH_URL"): string {
    return `KEEL_${stack.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_${name}`;
}
