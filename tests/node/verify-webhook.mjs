// Why this exists: tests/tests/api/webhooks.rs proves a real delivery verifies
// with the npm `standardwebhooks` package, the library a receiver would use,
// not only with the API's own signing code.
//
// Reads one JSON object on stdin: { "secret": "whsec_…", "headers": {…},
// "body": "…", "raw": false }. With "raw": true the secret's UTF-8 bytes are
// the key (secrets issued before Standard Webhooks; see docs/api.md).
// Exit code: 0 verified, 1 refused by the library, 2 anything else went wrong.

import { readFileSync } from "node:fs";

let input;
let lib;
try {
  input = JSON.parse(readFileSync(0, "utf8"));
  lib = (await import("standardwebhooks")).default;
} catch (e) {
  console.error(`verify-webhook: cannot start: ${e.message} (run \`npm ci\` in tests/node)`);
  process.exit(2);
}

const { Webhook, WebhookVerificationError } = lib;
try {
  const wh = input.raw
    ? new Webhook(new TextEncoder().encode(input.secret), { format: "raw" })
    : new Webhook(input.secret);
  wh.verify(input.body, input.headers);
  process.exit(0);
} catch (e) {
  console.error(`verify-webhook: not verified: ${e.message}`);
  process.exit(e instanceof WebhookVerificationError ? 1 : 2);
}
