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

export type HealthUrlVariable = typeof STEP_ENV.backendHealthUrl | typeof STEP_ENV.frontendHealthUrl;
