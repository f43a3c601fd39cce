// Byte ranges: the Range header of blob GETs (RFC 9110, one range only) and the Content-Range
// header of chunked upload PATCHes ("start-end" as the distribution spec writes it).

/** An inclusive byte range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The range a blob GET asks for: a ByteRange, 'unsatisfiable' (answer 416), or undefined when
 * the header is absent or not something we honour (several ranges, other units): then the
 * whole blob is served, as RFC 9110 allows.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  // Strip whitespace first: a regex with \s* around every token backtracks quadratically on
  // long runs of spaces, and headers are client-controlled.
  const match = /^bytes=(\d*)-(\d*)$/i.exec(header.replace(/[ \t]+/g, ''));
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(end) || end < start) return last === '' ? 'unsatisfiable' : undefined;
  return { start, end };
}

/** The Content-Range of an upload chunk: "start-end", also accepting "bytes start-end/total". */
export function parseContentRange(header: string): ByteRange | undefined {
  const match = /^(?:bytes )?(\d{1,15})-(\d{1,15})(?:\/(\d{1,15}|\*))?$/i.exec(header.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) return undefined;
  // A declared total must be able to hold the chunk.
  if (match[3] !== undefined && match[3] !== '*' && Number(match[3]) <= end) return undefined;
  return { start, end };
}
