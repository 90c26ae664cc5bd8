// Runs graphql-http's auditServer against a running server and prints each
// result; exits 1 when a MUST or SHOULD fails (MAY failures are reported).
// Usage: node audit.mjs <url> [token]
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const count = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
let failed = 0;
for (const r of results) {
  const level = r.name.split(' ')[0];
  count[level][r.status === 'ok' ? 0 : 1] += 1;
  if (r.status !== 'ok') {
    let detail = r.reason;
    if (r.response) detail += ` (HTTP ${r.response.status})`;
    console.log(`${r.status === 'warn' ? 'warn' : 'FAIL'} ${r.id} ${r.name}: ${detail}`);
    if (level !== 'MAY') failed += 1;
  }
}
for (const [level, [ok, bad]] of Object.entries(count)) console.log(`${level}: ${ok}/${ok + bad}`);
process.exit(failed ? 1 : 0);
