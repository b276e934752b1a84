// Entries of a pg_restore table of contents (`pg_restore -l` lines: `ID; OID OID KIND - TAG OWNER`) that a copy of a
// database never restores (pure): the one list for the refresh and restore-production (src/refresh/prepare.ts) and
// the restore drill (src/backup/drill.sh, rendered by src/backup/drill.ts).

/** Superuser-only event triggers, and subscriptions and publications: a copy never replicates from or to production. */
export const LEFT_OUT_KINDS = ['EVENT TRIGGER', 'SUBSCRIPTION', 'SUBSCRIPTION TABLE', 'PUBLICATION', 'PUBLICATION TABLE', 'PUBLICATION TABLES IN SCHEMA'] as const;
/** The kinds among them that are objects a comment or a security label can be on. */
export const LEFT_OUT_OBJECTS = ['EVENT TRIGGER', 'SUBSCRIPTION', 'PUBLICATION'] as const;

const ENTRY = String.raw`^[0-9]+; [0-9]+ [0-9]+ `;
const any = (kinds: readonly string[]) => `(${kinds.join('|')})`;

/** A left-out entry, as a regular expression source that means the same in JavaScript and in POSIX ERE (grep -E). */
export const LEFT_OUT_SOURCE = `${ENTRY}${any(LEFT_OUT_KINDS)} `;
/** A comment or security label on a left-out object, the same way. */
export const NOTE_ON_LEFT_OUT_SOURCE = `${ENTRY}(COMMENT|SECURITY LABEL) - ${any(LEFT_OUT_OBJECTS)} `;

export const LEFT_OUT = new RegExp(LEFT_OUT_SOURCE);
/** A left-out object's entry (`KIND - TAG OWNER`) and a note on one (`COMMENT - KIND TAG OWNER`): pg_dump writes both
 *  with the same TAG OWNER, so the one is found by the other. */
export const LEFT_OUT_OBJECT = new RegExp(`${ENTRY}${any(LEFT_OUT_OBJECTS)} - (.*)$`);
export const NOTE_ON = new RegExp(`${ENTRY}(?:COMMENT|SECURITY LABEL) - ${any(LEFT_OUT_OBJECTS)} (.*)$`);
