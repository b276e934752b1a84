// What the staging refresh's end-to-end files share: the lab's seed and scrub rules, inventories that differ from the
// lab's by their rules or text, SQL on a lab host, what a failed refresh may leave behind, and the common setup.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { tempDir } from '../../fixtures/tmp.js';
import { ironclad } from './cli.js';
import { LAB_INVENTORY, withLab, type LabHandle, type Teardownable } from './lab.js';

export const SEED = readFileSync(new URL('../../../inventory/lab-seed.sql', import.meta.url), 'utf8');
export const SCRUB = readFileSync(new URL('../../../inventory/scrub/app.yaml', import.meta.url), 'utf8');

/** A copy of the lab inventory in its own folder, with other scrub rules or other text. */
export function variant(name: string, edit: (inv: string) => string, scrub = SCRUB): string {
  const dir = tempDir(`ironclad-${name}-`);
  mkdirSync(join(dir, 'scrub'));
  writeFileSync(join(dir, 'scrub', 'app.yaml'), scrub);
  writeFileSync(join(dir, 'lab.yaml'), edit(readFileSync(LAB_INVENTORY, 'utf8')));
  return join(dir, 'lab.yaml');
}

/** The run id a refresh printed (for --resume). */
export const journal = (stdout: string): string | undefined => /run (\S+)/.exec(stdout)?.[1];

/** A lab for the refresh's files: SQL on its hosts as postgres, staging's marker, what a failed refresh leaves. */
export interface RefreshLab {
  lab: LabHandle;
  inv: string[];
  sql(host: string, db: string, text: string): Promise<string>;
  /** the note in staging's staging_marker table: 'the staging before' while the live staging database is the old one */
  marker(): Promise<string>;
  /** what a failed refresh may leave on staging: the incoming copy (its owner, who may connect), the copied backups,
   *  whether the refresh role can still log in */
  leftBehind(): Promise<{ incoming: string; copies: string; login: string }>;
}

/** Bring the lab up and run the setup every refresh file starts from: provisioned, production seeded and backed up
 *  with a restore drill, staging marked. */
export async function refreshLab(t: Teardownable & Pick<Test, 'test'>): Promise<RefreshLab> {
  const lab = await withLab(t);
  const inv = ['-i', LAB_INVENTORY];
  const sql = async (host: string, db: string, text: string) =>
    (await lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d ${db}"`, { stdin: text })).trim();
  const leftBehind = async () => ({
    incoming: await sql('staging', 'postgres', "SELECT coalesce(string_agg(pg_get_userbyid(datdba) || ' ' || coalesce(datacl::text, 'default'), ','), 'none') FROM pg_database WHERE datname = 'app__incoming'"),
    copies: (await lab.sshOk('staging', 'ls /var/lib/ironclad/refresh/ | grep -v "\\.lock$\\|^fake\\.key$" || true')).trim(),
    login: await sql('staging', 'postgres', "SELECT coalesce(string_agg(rolcanlogin::text, ','), 'no role') FROM pg_roles WHERE rolname = 'ironclad_app'"),
  });
  await t.test('setup: provisioned, production seeded and backed up with a restore drill, staging marked', async (t) => {
    t.equal((await ironclad([...inv, 'apply', '--yes'])).code, 0, 'apply');
    await sql('db-prod', 'app', SEED);
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, 'backup');
    t.equal((await ironclad([...inv, 'backup', 'verify', '--latest', '--restore'])).code, 0, 'verified');
    await sql('staging', 'app', "SET ROLE app; CREATE TABLE staging_marker (note text); INSERT INTO staging_marker VALUES ('the staging before');");
  });
  return { lab, inv, sql, marker: () => sql('staging', 'app', 'SELECT note FROM staging_marker'), leftBehind };
}

/** PL/pgSQL that would run a shell command (touching /tmp/PWNED-WHAT) if it ever ran as a superuser. */
export const hostile = (what: string): string => `IF current_user = 'postgres' THEN COPY (SELECT 1) TO PROGRAM 'touch /tmp/PWNED-${what}'; END IF;
      IF current_setting('is_superuser') = 'on' THEN COPY (SELECT 1) TO PROGRAM 'touch /tmp/PWNED-${what}-su'; END IF;`;

/** An application's schema on top of the seed, made by its role: a trigger function and an index expression that would
 *  run a shell command as a superuser, another schema, mixed-case names, citext, arrays, jsonb, a domain, an enum,
 *  identity and generated columns, a materialized view, a table without a primary key, a key cascading updates. */
export const APP_SCHEMA = `CREATE EXTENSION IF NOT EXISTS citext; SET ROLE app; ALTER TABLE users ADD COLUMN search text;
      CREATE FUNCTION users_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${hostile('trigger')} NEW.search := lower(NEW.full_name || ' ' || NEW.email); RETURN NEW; END $$;
      CREATE TRIGGER users_search BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_search();
      UPDATE users SET search = NULL;
      CREATE FUNCTION touchy(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN ${hostile('index')} RETURN lower(t); END $$;
      CREATE INDEX users_touchy ON users (touchy(full_name));
      CREATE SCHEMA crm; CREATE DOMAIN crm.email AS citext CHECK (VALUE LIKE '%@%'); CREATE TYPE crm.stage AS ENUM ('lead', 'won');
      CREATE TABLE crm."Contacts" (id int GENERATED ALWAYS AS IDENTITY, "Email" crm.email, "Tags" text[], doc jsonb, stage crm.stage, lower_email text GENERATED ALWAYS AS (lower("Email"::text)) STORED);
      INSERT INTO crm."Contacts" ("Email", "Tags", doc, stage) SELECT 'Person' || g || '@GMail.com', ARRAY['vip', 'call +1 415 867 ' || lpad(g::text, 4, '0')], jsonb_build_object('mail', 'p' || g || '@yahoo.fr'), 'lead' FROM generate_series(1, 500) g;
      CREATE MATERIALIZED VIEW crm.contact_mails AS SELECT touchy("Email"::text) AS mail FROM crm."Contacts";
      CREATE TABLE crm.nick (email text REFERENCES users (email) ON UPDATE CASCADE);
      INSERT INTO crm.nick SELECT email FROM users WHERE id % 10 = 0;`;
