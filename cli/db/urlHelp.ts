/** --url's help on the db verbs that connect. */
export const DB_URL_HELP = "the database's direct URL (default: the stack's own, its output databaseUrl; pg_dump stacks)";
