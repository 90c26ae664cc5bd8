// Fetches the schema with graphql-js's standard IntrospectionQuery, prints it
// and compares it with the committed schema.graphql; also lists every type,
// field, argument, enum value and input field without a description.
// Usage: node introspect.mjs <url> <token> <schema.graphql>
// Exit: 0 same and fully described; 1 otherwise (the differences printed).
import { readFileSync } from 'node:fs';
import {
  buildClientSchema, buildSchema, getIntrospectionQuery, isEnumType, isInputObjectType,
  isInterfaceType, isObjectType, printSchema,
} from 'graphql';

const [url, token, file] = process.argv.slice(2);
const query = getIntrospectionQuery({
  descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true,
  schemaDescription: true, inputValueDeprecation: true,
});
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
  body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
});
const body = await res.json();
if (res.status !== 200 || body.errors) {
  console.log(`introspection refused: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
  process.exit(1);
}
const live = buildClientSchema(body.data);
const committed = buildSchema(readFileSync(file, 'utf8'));
const a = printSchema(live).split('\n');
const b = printSchema(committed).split('\n');
let problems = 0;
const inB = new Set(b);
const inA = new Set(a);
for (const l of a) if (!inB.has(l)) { console.log(`only live:      ${l}`); problems += 1; }
for (const l of b) if (!inA.has(l)) { console.log(`only committed: ${l}`); problems += 1; }
if (!problems && a.join('\n') !== b.join('\n')) { console.log('same lines, different order'); problems += 1; }

const missing = [];
const need = (what, d) => { if (!d || !d.trim()) missing.push(what); };
need('schema', live.description);
for (const t of Object.values(live.getTypeMap())) {
  if (t.name.startsWith('__')) continue;
  need(`type ${t.name}`, t.description);
  if (isObjectType(t) || isInterfaceType(t) || isInputObjectType(t)) {
    for (const f of Object.values(t.getFields())) {
      need(`${t.name}.${f.name}`, f.description);
      for (const arg of f.args || []) need(`${t.name}.${f.name}(${arg.name})`, arg.description);
    }
  }
  if (isEnumType(t)) for (const v of t.getValues()) need(`${t.name}.${v.name}`, v.description);
}
for (const m of missing) console.log(`no description: ${m}`);
console.log(`${a.length} lines; ${problems} differences; ${missing.length} without a description`);
process.exit(problems || missing.length ? 1 : 0);
