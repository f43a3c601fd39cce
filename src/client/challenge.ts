// WWW-Authenticate parsing (RFC 9110 section 11.6.1): the challenges a registry answers a 401
// with. Registries send `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`,
// sometimes several challenges in one header or several headers, and quoted values may contain
// commas (scopes such as "repository:a:pull,push"), so a split on commas is not enough.

export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  readonly scheme: string;
  /** Parameters by lower-cased name; the first occurrence wins. */
  readonly params: ReadonlyMap<string, string>;
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const token68Char = /[A-Za-z0-9\-._~+/]/;

/** Every challenge in the header value(s), in order; malformed parts are skipped, never thrown. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = typeof header === 'string' ? header : header.join(', ');
  const parser = new Parser(text);
  const challenges: Challenge[] = [];
  for (;;) {
    parser.skipSeparators();
    if (parser.atEnd()) break;
    const scheme = parser.token();
    if (scheme === '') {
      parser.skipOne();
      continue;
    }
    const params = new Map<string, string>();
    parseParams(parser, params);
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}

/** The parameters (or a token68) after a scheme, up to the next challenge's scheme. */
function parseParams(parser: Parser, params: Map<string, string>): void {
  let first = true;
  for (;;) {
    const beforeWhitespace = parser.position;
    parser.skipWhitespace();
    if (parser.atEnd()) return;
    if (parser.peek() === ',') {
      parser.skipSeparators();
      if (!parser.param(params)) return; // the next token starts a new challenge
      first = false;
      continue;
    }
    if (first && parser.position > beforeWhitespace) {
      // First parameter, separated from the scheme by whitespace; or a token68 credential.
      if (parser.param(params) || parser.token68()) {
        first = false;
        continue;
      }
    }
    // Garbage where a separator was expected: skip up to the next comma.
    parser.skipUntilComma();
  }
}

class Parser {
  position = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.position];
  }

  skipOne(): void {
    this.position += 1;
  }

  skipWhitespace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.position += 1;
  }

  skipSeparators(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.position += 1;
  }

  skipUntilComma(): void {
    while (!this.atEnd() && this.peek() !== ',') {
      if (this.peek() === '"') this.quoted();
      else this.position += 1;
    }
  }

  token(): string {
    const start = this.position;
    while (!this.atEnd() && tokenChar.test(this.text[this.position] ?? '')) this.position += 1;
    return this.text.slice(start, this.position);
  }

  /** `name = value` (value a token or a quoted string); leaves the position unchanged if absent. */
  param(into: Map<string, string>): boolean {
    const start = this.position;
    const name = this.token();
    if (name === '') return false;
    this.skipWhitespace();
    if (this.peek() !== '=') {
      this.position = start;
      return false;
    }
    this.position += 1;
    this.skipWhitespace();
    const value = this.peek() === '"' ? this.quoted() : this.bareValue();
    const key = name.toLowerCase();
    if (!into.has(key)) into.set(key, value);
    return true;
  }

  token68(): boolean {
    const start = this.position;
    while (!this.atEnd() && token68Char.test(this.text[this.position] ?? '')) this.position += 1;
    if (this.position === start) return false;
    while (this.peek() === '=') this.position += 1;
    return true;
  }

  /** A quoted string starting at the opening quote; backslash escapes the next character. */
  private quoted(): string {
    this.position += 1;
    let value = '';
    while (!this.atEnd()) {
      const char = this.text[this.position] ?? '';
      this.position += 1;
      if (char === '"') return value;
      if (char === '\\' && !this.atEnd()) {
        value += this.text[this.position] ?? '';
        this.position += 1;
      } else {
        value += char;
      }
    }
    return value; // unterminated: take the rest, as lenient clients do
  }

  /** An unquoted value; more lenient than a token (realm URLs are sometimes left unquoted). */
  private bareValue(): string {
    const start = this.position;
    while (!this.atEnd() && !/[,\s]/.test(this.text[this.position] ?? '')) this.position += 1;
    return this.text.slice(start, this.position);
  }
}
