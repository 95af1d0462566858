/** What the `keel pr` verbs share: their io, and the environment a preview's engine runs with. */
import type { PreviewBase } from "./previewStackFile";

export interface PrIo {
    root: string;
    env: Record<string, string | undefined>;
    /** Progress and results. */
    out(line: string): void;
    /** The engine's error stream. */
    err(text: string): void;
    /** Ctrl-C: the engine finishes the steps under way and stops. */
    signal?: AbortSignal;
}

/**
 * The environment for a preview's engine: a preview's secrets are its base's, with the base's
 * passphrase, so a dev base's previews open with dev's empty one unless one is set.
 */
export function previewEnv(base: Pick<PreviewBase, "config">, env: Record<string, string | undefined>): Record<string, string | undefined> {
    const hasPassphrase = env.PULUMI_CONFIG_PASSPHRASE !== undefined || !!env.PULUMI_CONFIG_PASSPHRASE_FILE;
    return !hasPassphrase && base.config.stage === "dev" ? { ...env, PULUMI_CONFIG_PASSPHRASE: "" } : env;
}
