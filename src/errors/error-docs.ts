// Renders docs/errors.md from the catalogue, so the documentation cannot drift from the code
// (error-docs.test.ts compares the two; `npm run docs:errors` rewrites the file).
import { errorCatalogue } from './catalogue.js';

export function renderErrorDocs(): string {
  const rows = Object.values(errorCatalogue)
    .map((e) => `| \`${e.code}\` | ${e.status} | ${e.message} | ${e.description} |`)
    .join('\n');
  return `# Error codes

Every error Berth returns has an OCI error body and the status below:

\`\`\`json
{"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": {"digest": "sha256:..."}}]}
\`\`\`

\`detail\` is optional and says what was wrong (the digest, the name, the limit). Responses to
HEAD requests carry the status and headers only. Every response carries a request id in the
logs; a 500 \`UNKNOWN\` error means a bug or a failing disk, and the log line with the same
request id has the cause.

This file is generated from \`src/errors/catalogue.ts\` by \`npm run docs:errors\`; a test fails
when the two differ.

| code | status | message | when |
| --- | --- | --- | --- |
${rows}
`;
}
