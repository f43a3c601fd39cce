// The User-Agent of upstream requests, "berth/<version>", so upstream operators can tell Berth's
// pull-through traffic apart. The version comes from package.json, which sits two levels above
// this module both in src/client and in the built dist/client.
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
      return parsed.version;
    }
  } catch {
    // A bundled or relocated build without package.json still works, with an unknown version.
  }
  return '0.0.0';
}

export const userAgent = `berth/${packageVersion()}`;
