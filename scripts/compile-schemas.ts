// Part of `npm run build`: each schema's validator compiled ahead into dist/schemas/NAME.validate.cjs (ajv standalone
// code), with the hash of the schema text it came from; src/inventory/schema.ts uses it only when that hash matches.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { compiledValidatorPath, newAjv, SCHEMA_NAMES, schemaText } from '../src/inventory/schema.js';

for (const name of SCHEMA_NAMES) {
  const { text, hash } = schemaText(name);
  const ajv = newAjv(true);
  const code = (standaloneCode as unknown as typeof standaloneCode.default)(ajv, ajv.compile(JSON.parse(text)));
  const path = compiledValidatorPath(name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${code}\nmodule.exports.schemaHash = ${JSON.stringify(hash)};\n`);
}
