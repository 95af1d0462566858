/**
 * The environment variables the generated steps set (from `vars.*`, `secrets.*`
 * and `github.*`) and the commands they run read: one list, so the two cannot
 * drift apart.
 */
export const STEP_ENV = {
    runUrl: "RUN_URL",
    rollbackUrl: "ROLLBACK_URL",
    commit: "COMMIT",
    backendHealthUrl: "BACKEND_HEALTH_URL",
    frontendHealthUrl: "FRONTEND_HEALTH_URL",
    backendLogs: "BACKEND_LOGS",
    watchMinutes: "WATCH_MINUTES",
    watchIntervalSeconds: "WATCH_INTERVAL_SECONDS",
    watchFailures: "WATCH_FAILURES",
    driftExit: "DRIFT_EXIT",
    previewExit: "PREVIEW_EXIT",
    /** Set by the runner itself. */
    stepSummary: "GITHUB_STEP_SUMMARY",
    runnerTemp: "RUNNER_TEMP",
} as const;

/** deploy.yml's step outcomes, as its report step reads them (`steps.<id>.outcome`). */
export const STEP_OUTCOME_VARIABLES = {
    preflight: "PREFLIGHT_OUTCOME",
    up: "UP_OUTCOME",
    health: "HEALTH_OUTCOME",
    watch: "WATCH_OUTCOME",
} as const;

/** The job's own token, allowed `deployments: write`: the environment's deployment status. */
export const DEPLOYMENTS_TOKEN_VARIABLE = "KEEL_DEPLOYMENTS_TOKEN";

/** Who started a rollback or deploy (hand, button, watch, push, schedule, drill): its record and notice say so. */
export const TRIGGER_VARIABLE = "KEEL_TRIGGER";

/** The GitHub environment a step runs in: where a rollback's deployment status goes. */
export const ENVIRONMENT_VARIABLE = "KEEL_ENVIRONMENT";

export type HealthUrlVariable = typeof STEP_ENV.backendHealthUrl | typeof STEP_ENV.frontendHealthUrl;
