/** The errors of pg_dump backups: taking or verifying one, and restoring one. */
import { KeelError } from "../../errors";

/** A backup could not be taken or verified; nothing was migrated. */
export class BackupError extends KeelError {
    constructor(message: string) {
        super(message, "BackupError");
    }
}

/** A restore was refused or failed; the target database is as it was. */
export class RestoreError extends KeelError {
    constructor(message: string) {
        super(message, "RestoreError");
    }
}
