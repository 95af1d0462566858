/**
 * Keel's composition root: validated config, then components, then stack outputs.
 * Everything that can be wrong with the config or the migration files is found
 * before the first resource is declared.
 *
 * `root` is the project directory (the stack files, the migrations); the engine
 * runs the program there, and `npm run up` passes it (scripts/lib/engine.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import * as path from "path";
import { Database } from "./components/database";
import { KeelError } from "./components/errors";
import { readCredentials, readKeelConfig } from "./components/config/pulumi";
import { loadMigrationSummaries, Schema } from "./components/schema";
import { schemaSettings } from "./components/schema/settings";
import { checkReceivingStack } from "./components/masking/receivingStack";

export = async (root: string = process.cwd()) => {
    const { config, migrations } = await validated(root);
    const credentials = readCredentials();

    const database = new Database("database", {
        config: config.database,
        stack: config.stack,
        protect: config.defaults.protect,
        allowDataLoss: config.allowDataLoss,
        ...(config.preview ? { previewPr: config.preview.pr } : {}),
    });

    const { dir, settings } = schemaSettings(config.migrations);
    const schema = new Schema(
        "schema",
        {
            databaseUrl: database.directUrl,
            migrationsDir: dir,
            migrations,
            settings,
            appliedBy: `${config.stack}:${process.env.GITHUB_ACTOR ?? os.userInfo().username}`,
            stack: config.stack,
            databaseKind: database.kind,
            allowDataLoss: config.allowDataLoss,
            ...(database.neon && config.database.kind === "neon"
                ? {
                      neon: {
                          projectId: database.neon.projectId,
                          branchId: database.neon.branchId,
                          branchName: config.database.branch.name,
                      },
                  }
                : {}),
        },
        { dependsOn: [database] },
    );

    // The app reaches the database through the pooler; the schema is migrated before the new version runs.
    // The backend, frontend and repository components (and their vendors' SDKs) load only for stacks that declare them.
    const backend = config.backend
        ? new (await import("./components/backend")).Backend(
              "backend",
              {
                  config: config.backend,
                  stack: config.stack,
                  databaseUrl: database.pooledUrl,
                  protect: config.defaults.protect,
                  retainOnDelete: config.defaults.retainOnDelete,
                  deployAfter: [schema],
                  credentials,
              },
              { dependsOn: [schema] },
          )
        : undefined;
    const frontend = config.frontend
        ? new (await import("./components/frontend")).Frontend("frontend", {
              config: config.frontend,
              stack: config.stack,
              backendUrl: backend?.url,
              protect: config.defaults.protect,
              retainOnDelete: config.defaults.retainOnDelete,
              credentials,
          })
        : undefined;

    // A pull request's preview: the base's Vercel preview deployments of its branch and its own GitHub environment.
    const preview = config.preview
        ? new (await import("./components/previews")).Preview("preview", { config: config.preview, backendUrl: backend?.url })
        : undefined;

    // The repository's gates and workflows; the environment's variables carry this stack's health URLs.
    const repository = config.github
        ? new (await import("./components/github")).Repository("repository", {
              config: { ...config, github: config.github },
              backendHealthUrl: backend?.healthUrl,
              frontendHealthUrl: frontend?.healthUrl,
              backendLogs: backend?.logs,
              root,
              credentials,
          })
        : undefined;

    return {
        stage: config.stage,
        // A preview's pull request, base, branch and expiry: what `keel pr list` and `keel pr reap` read from the state.
        ...(config.preview ? { preview: config.preview } : {}),
        ...(preview?.environment ? { previewEnvironment: preview.environment } : {}),
        ...(database.previewDatabase ? { previewDatabase: database.previewDatabase } : {}),
        databaseKind: database.kind,
        databaseUrl: database.directUrl,
        databasePooledUrl: database.pooledUrl,
        ...(database.neon
            ? { neonProjectId: database.neon.projectId, neonBranchId: database.neon.branchId, neonEndpointId: database.neon.endpointId }
            : {}),
        schemaVersion: schema.version,
        schemaFingerprint: schema.fingerprint,
        appliedMigrations: schema.applied.apply((a) => a.length),
        schemaDrift: schema.drift,
        // Which backup belongs to which deploy (pulumi stack output / stack history): id, time, schema version.
        // Only on stacks that take backups; until the first one it is null.
        ...(config.migrations.backup
            ? {
                  latestBackup: schema.latestBackup.apply((b) =>
                      b
                          ? {
                                id: b.id,
                                kind: b.kind,
                                takenAt: b.takenAt,
                                schemaVersion: b.schemaVersion,
                                beforeVersion: b.beforeVersion,
                                location: b.location,
                            }
                          : null,
                  ),
              }
            : {}),
        ...(backend
            ? {
                  backendKind: backend.kind,
                  backendUrl: backend.url,
                  backendHealthUrl: backend.healthUrl,
                  backendImage: backend.image,
                  ...(backend.machineIds ? { flyMachineIds: backend.machineIds } : {}),
                  ...(backend.deployId ? { renderDeployId: backend.deployId } : {}),
              }
            : {}),
        ...(repository
            ? {
                  githubRequiredChecks: repository.requiredChecks,
                  githubWorkflowFiles: repository.workflowFiles,
                  ...(repository.environment ? { githubEnvironment: repository.environment } : {}),
              }
            : {}),
        ...(frontend
            ? {
                  frontendUrl: frontend.url,
                  frontendProjectId: frontend.projectId,
                  ...(frontend.healthUrl ? { frontendHealthUrl: frontend.healthUrl } : {}),
              }
            : {}),
    };
};

/**
 * The stack's config, the migration files and, on a stack that receives copies, the
 * masking rules, checked before anything is declared.
 * Keel's errors already say what is wrong and how to fix it: they end the program
 * as a RunError, which the engine prints as the message alone (no stack trace).
 */
async function validated(root: string) {
    try {
        const config = readKeelConfig(root);
        const migrations = await loadMigrationSummaries(path.resolve(root, config.migrations.dir), {
            display: config.migrations.dir,
            // Files parsed before are not parsed again at every preview (components/schema/summary.ts).
            cacheFile: path.join(root, ".keel", "cache", "migration-lint.json"),
        });
        // A stack that receives copies of another's data: its masking rules match its migrations, or nothing is deployed.
        const receiving = await checkReceivingStack(root, config);
        if (receiving.warning) pulumi.log.warn(receiving.warning);
        return { config, migrations };
    } catch (err) {
        if (err instanceof KeelError) throw Object.assign(new pulumi.RunError(err.message), { cause: err });
        throw err;
    }
}
