// Digests: parsing and validation of "algorithm:encoded" strings (OCI image spec, descriptor.md).
// Only the registered algorithms sha256 and sha512 are accepted; everything else is rejected
// before it can reach a storage key or a query.
import { createHash, type Hash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha512';

const encodedLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** The general grammar from the image spec; used to tell "malformed" from "unsupported". */
const digestGrammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A validated digest. `toString()` gives the canonical "algorithm:hex" form. */
export class Digest {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    readonly hex: string,
  ) {}

  static parse(value: string): Digest {
    const result = Digest.tryParse(value);
    if (typeof result === 'string') throw new DigestFormatError(value, result);
    return result;
  }

  /** A Digest, or a reason why the string is not one. */
  static tryParse(value: string): Digest | string {
    if (value.length > 256 || !digestGrammar.test(value)) return 'malformed digest';
    const colon = value.indexOf(':');
    const algorithm = value.slice(0, colon);
    const hex = value.slice(colon + 1);
    if (algorithm !== 'sha256' && algorithm !== 'sha512') {
      return `unsupported digest algorithm "${algorithm}"`;
    }
    if (hex.length !== encodedLength[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
      return `${algorithm} digest must be ${encodedLength[algorithm]} lowercase hex characters`;
    }
    return new Digest(algorithm, hex);
  }

  static fromHash(algorithm: DigestAlgorithm, hash: Hash): Digest {
    return new Digest(algorithm, hash.digest('hex'));
  }

  static of(content: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
    return new Digest(algorithm, createHash(algorithm).update(content).digest('hex'));
  }

  equals(other: Digest): boolean {
    return this.algorithm === other.algorithm && this.hex === other.hex;
  }

  toString(): string {
    return `${this.algorithm}:${this.hex}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

export class DigestFormatError extends Error {
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid digest "${value.slice(0, 300)}": ${reason}`);
    this.name = 'DigestFormatError';
  }
}

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}
