/** The table Keel records applied migrations in (in keel:migrations.historySchema): one spelling for the runner, the provider, backups and the commands. */
export const HISTORY_TABLE = "keel_schema_history";
