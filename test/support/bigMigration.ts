/** The large data migration (tools/bigMigration.ts, shared with bench:bigMigration). */
export * from "../../tools/bigMigration";
