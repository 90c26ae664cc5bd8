// GraphQL Code Generator run as docs/api.md shows it: TypeScript types for
// the web app's own operations, the schema fetched from the live endpoint.
// Usage: node codegen.mjs <url> <token> <documents glob> <output.ts>
import { generate } from '@graphql-codegen/cli';

const [url, token, documents, output] = process.argv.slice(2);
await generate(
  {
    schema: { [url]: { headers: { Authorization: `Bearer ${token}` } } },
    documents,
    generates: { [output]: { plugins: ['typescript', 'typescript-operations'] } },
    silent: true,
  },
  true,
);
console.log(`wrote ${output}`);
