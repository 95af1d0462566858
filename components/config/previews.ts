/**
 * `keel:previews` on a base stack (whether pull requests get a preview made from
 * it, how many at once, for how long, with which data) and `keel:preview` on a
 * preview stack (`pr-<n>`, written by `keel pr up` from the base's file every run:
 * which pull request, from which base and git branch, until when).
 * Pure: no Pulumi imports.
 */
import { z } from "zod";
import { ConfigContext, NAMESPACE, parseSection } from "./context";
import { timestamp } from "./timestamp";

/** What a preview's database starts with. */
export const PREVIEW_DATA = ["schema-only", "seed", "masked"] as const;
export type PreviewData = (typeof PREVIEW_DATA)[number];

/** Neon's Free plan holds 10 branches a project: 3 previews leave room for prod, staging and their snapshots. */
export const DEFAULT_MAX_PREVIEWS = 3;
export const DEFAULT_PREVIEW_TTL_DAYS = 7;

export const previewsSchema = z
    .object({
        enabled: z.boolean().default(false).describe("pull requests get a preview stack made from this one (`keel pr up`)"),
        max: z
            .number()
            .int()
            .min(1)
            .max(100)
            .default(DEFAULT_MAX_PREVIEWS)
            .describe("previews at once; `keel pr up` beyond it refuses, naming the open ones"),
        ttlDays: z
            .number()
            .min(0.01)
            .max(90)
            .default(DEFAULT_PREVIEW_TTL_DAYS)
            .describe("days a preview lives after its pull request's last push; `keel pr reap` removes it after"),
        neonBranchLimit: z
            .number()
            .int()
            .min(1)
            .default(10)
            .describe("branches the Neon project's plan allows (Free: 10); every branch counts, snapshots included"),
        healthCheckUrl: z
            .string()
            .regex(/^https?:\/\/\S+$/, { message: "expected a URL such as https://pr-{pr}.preview.example.com/healthz" })
            .optional()
            .describe(
                "the URL a preview's health gate checks, `{pr}` standing for the number (default: the platform's host of the preview's own app)",
            ),
        data: z
            .enum(PREVIEW_DATA)
            .optional()
            .describe(
                "the preview database: schema-only (migrated, empty), seed (migrated, then db/seeds/), masked (a masked copy of this stack's; " +
                    "on Neon the only one: a child branch with the base's rows); default schema-only, masked on Neon",
            ),
    })
    .strict();
export type PreviewsConfig = Omit<z.output<typeof previewsSchema>, "data"> & { data: PreviewData };

export const previewSchema = z
    .object({
        pr: z.number().int().min(1).describe("the pull request's number"),
        base: z.string().min(1).describe("the stack the preview is made from"),
        branch: z.string().min(1).describe("the pull request's head branch (the Vercel preview deployment's)"),
        expiresAt: timestamp.describe("when `keel pr reap` removes the preview (its last push plus keel:previews.ttlDays)"),
        createdAt: timestamp.describe("when its first `keel pr up` ran"),
        data: z.enum(PREVIEW_DATA).default("schema-only").describe("what the database started with (keel:previews.data of the base)"),
        /** The base's Vercel project and the variable that carries the backend's URL, when the base has a frontend. */
        frontend: z
            .object({
                project: z.string().min(1).describe("the base's Vercel project"),
                teamId: z.string().min(1).optional().describe("its team"),
                variable: z.string().min(1).describe("the variable the preview deployment gets the backend's URL under"),
            })
            .strict()
            .optional()
            .describe("the base's Vercel project, whose preview deployments of the branch get this preview's backend URL"),
        github: z
            .object({
                owner: z.string().min(1).describe("the repository's owner (keel:github.owner of the base)"),
                repository: z.string().min(1).describe("the repository's name (keel:github.repository of the base)"),
            })
            .strict()
            .optional()
            .describe("the repository whose deployment environment preview-pr-<n> the preview gets"),
    })
    .strict();
export type PreviewConfig = z.output<typeof previewSchema>;

/**
 * keel:previews (base stacks; refused on prod: a preview runs a pull request's code, and prod's
 * settings carry prod's tokens) and keel:preview (required on a preview stack, refused elsewhere).
 */
export function parsePreviews(ctx: ConfigContext, databaseKind?: string): { previews?: PreviewsConfig; preview?: PreviewConfig } {
    const out: { previews?: PreviewsConfig; preview?: PreviewConfig } = {};
    const rm = (key: string) => `npm run pulumi -- config rm ${NAMESPACE}:${key} --stack ${ctx.stack}`;
    if (ctx.get("previews") !== undefined) {
        if (ctx.stage === "prod" || ctx.stage === "preview") {
            ctx.problems.push({
                key: `${NAMESPACE}:previews`,
                message:
                    ctx.stage === "prod"
                        ? "is set on a prod-stage stack; previews run a pull request's code, so they are never made from prod's settings and tokens"
                        : "is set on a preview; previews are made from a base stack, not from another preview",
                fix: `${rm("previews")}; set it on staging instead: npm run pulumi -- config set --path ${NAMESPACE}:previews.enabled true --stack staging`,
            });
        } else {
            const previews = parseSection(ctx, "previews", previewsSchema);
            // A Neon schema-only branch has the base's tables but not its migration history, so the PR's migrations
            // could not run on it: a Neon preview is a child branch with the base's rows (copy-on-write, free).
            if (previews && databaseKind === "neon" && previews.data !== undefined && previews.data !== "masked") {
                ctx.problems.push({
                    key: `${NAMESPACE}:previews.data`,
                    message: `is '${previews.data}', but the database is on Neon, whose previews are child branches with the base's rows (a schema-only branch has no migration history for the PR's migrations to follow)`,
                    fix: `npm run pulumi -- config rm --path ${NAMESPACE}:previews.data --stack ${ctx.stack} (or set it to masked)`,
                });
            } else if (previews)
                out.previews = { ...previews, data: previews.data ?? (databaseKind === "neon" ? "masked" : "schema-only") };
        }
    }
    if (ctx.stage === "preview") {
        if (ctx.get("preview") === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:preview`,
                message: "is not set; a preview stack is written by `keel pr up`, which says which pull request and base it is",
                fix: `remove Pulumi.${ctx.stack}.yaml and run: npm run pr:up -- --pr <n>`,
            });
        } else {
            const preview = parseSection(ctx, "preview", previewSchema);
            if (preview) out.preview = preview;
        }
        for (const key of ["github", "frontend"]) {
            if (ctx.get(key) !== undefined) {
                ctx.problems.push({
                    key: `${NAMESPACE}:${key}`,
                    message: `is set on a preview; a preview uses its base's ${key === "github" ? "repository (an environment of its own)" : "Vercel project (a variable for its branch)"}, never one of its own`,
                    fix: rm(key),
                });
            }
        }
    } else if (ctx.get("preview") !== undefined) {
        // Its settings are checked too, so that a typo is named along with the key's place.
        parseSection(ctx, "preview", previewSchema);
        ctx.problems.push({
            key: `${NAMESPACE}:preview`,
            message: `is set on a ${ctx.stage}-stage stack; it belongs to the preview stacks \`keel pr up\` writes`,
            fix: rm("preview"),
        });
    }
    return out;
}
