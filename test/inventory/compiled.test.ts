// The validators compiled at build time (dist/schemas, ajv standalone code) judge exactly as ajv compiling the schemas
// at start-up does: the same errors for every fixture, valid and invalid.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { compiledValidatorPath, newAjv, SCHEMA_NAMES, schemaText, type SchemaName } from '../../src/inventory/schema.js';

const fixtures = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f)) : []);
const files: Record<SchemaName, string[]> = {
  inventory: [...fixtures('test/fixtures/inventory/valid'), ...fixtures('test/fixtures/inventory/invalid'), 'inventory/lab.yaml', '../shared/reference/inventory.yaml'].filter((f) => existsSync(f)),
  scrub: [...fixtures('test/fixtures/scrub'), ...fixtures('test/fixtures/scrub/invalid'), 'inventory/scrub/app.yaml'].filter((f) => existsSync(f)),
  runbook: fixtures('runbooks'),
  manifest: fixtures('test/fixtures/manifest'),
};

for (const name of SCHEMA_NAMES)
  t.test(`${name}: the validator compiled ahead`, { skip: !existsSync(compiledValidatorPath(name)) && 'not built (npm run build)' }, async (t) => {
    const path = compiledValidatorPath(name);
    const ahead = createRequire(import.meta.url)(path);
    t.equal(ahead.schemaHash, schemaText(name).hash, 'compiled from this schema text');
    const now = newAjv().compile(JSON.parse(schemaText(name).text));
    t.ok(files[name].length > 0, 'documents to judge');
    for (const file of files[name]) {
      let data: unknown;
      try {
        data = parse(readFileSync(file, 'utf8'));
      } catch {
        continue; // not YAML at all: the parser's problem, not the schema's
      }
      const [a, b] = [ahead(data), now(data)];
      t.equal(a, b, `${file}: same verdict`);
      t.same(ahead.errors ?? null, now.errors ?? null, `${file}: same errors`);
    }
  });
