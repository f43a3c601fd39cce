// Manifest and index parsing. Given the exact bytes a client pushed and its Content-Type, decide
// what kind of document it is and extract what the registry must check and index: the blobs and
// child manifests it references, its subject and artifact type. The bytes themselves are never
// re-serialised: the registry stores and serves them exactly as received.
import { DescriptorError, isPlainObject, parseAnnotations, parseDescriptor, type Descriptor } from './descriptor.js';
import { manifestKindOf, type ManifestKind } from './media-types.js';

export interface ParsedManifest {
  /** The media type the document is stored and served with. */
  readonly mediaType: string;
  readonly kind: ManifestKind;
  /** Image manifests: the config descriptor. */
  readonly config?: Descriptor;
  /** Image manifests: the layers (empty for an index). */
  readonly layers: readonly Descriptor[];
  /** Indexes: the child manifests (empty for an image manifest). */
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export class ManifestFormatError extends Error {
  override name = 'ManifestFormatError';
}

/** JSON.parse recurses; bound the nesting so hostile input cannot exhaust the stack. */
const maxJsonDepth = 64;

export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  checkNesting(bytes);
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new ManifestFormatError(`manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(document)) throw new ManifestFormatError('manifest must be a JSON object');
  if (document.schemaVersion !== 2) {
    throw new ManifestFormatError('schemaVersion must be 2 (Docker schema 1 manifests are not supported)');
  }
  const mediaType = decideMediaType(document, contentType);
  const kind = manifestKindOf(mediaType);
  if (kind === undefined) throw new ManifestFormatError(`unsupported manifest media type "${mediaType}"`);

  // A document with both "manifests" and "config"/"layers" could be read as either kind by
  // different clients (CVE-2021-41190); refuse it.
  const hasIndexFields = 'manifests' in document;
  const hasImageFields = 'config' in document || 'layers' in document;
  if (kind === 'image' && hasIndexFields) {
    throw new ManifestFormatError('an image manifest must not have a "manifests" field');
  }
  if (kind === 'index' && hasImageFields) {
    throw new ManifestFormatError('an index must not have "config" or "layers" fields');
  }

  try {
    const subject = document.subject === undefined ? undefined : parseDescriptor(document.subject, 'subject');
    const annotations = document.annotations === undefined ? undefined : parseAnnotations(document.annotations, 'annotations');
    if (document.artifactType !== undefined && typeof document.artifactType !== 'string') {
      throw new DescriptorError('artifactType must be a string');
    }
    const common = {
      mediaType,
      kind,
      ...(subject ? { subject } : {}),
      ...(annotations ? { annotations } : {}),
      ...(typeof document.artifactType === 'string' ? { artifactType: document.artifactType } : {}),
    };
    if (kind === 'index') {
      return { ...common, layers: [], manifests: descriptorList(document.manifests, 'manifests', true) };
    }
    return {
      ...common,
      config: parseDescriptor(document.config, 'config'),
      layers: descriptorList(document.layers, 'layers', false),
      manifests: [],
    };
  } catch (error) {
    if (error instanceof DescriptorError) throw new ManifestFormatError(error.message);
    throw error;
  }
}

function decideMediaType(document: Record<string, unknown>, contentType: string | undefined): string {
  const declared = document.mediaType;
  if (declared !== undefined && typeof declared !== 'string') {
    throw new ManifestFormatError('mediaType must be a string');
  }
  if (contentType !== undefined && manifestKindOf(contentType) !== undefined) {
    if (declared !== undefined && declared !== contentType) {
      throw new ManifestFormatError(`mediaType "${declared}" in the manifest does not match the Content-Type "${contentType}"`);
    }
    return contentType;
  }
  if (declared !== undefined) return declared;
  // OCI documents may omit mediaType; fall back on their shape.
  if ('manifests' in document) return 'application/vnd.oci.image.index.v1+json';
  if ('config' in document) return 'application/vnd.oci.image.manifest.v1+json';
  throw new ManifestFormatError('cannot tell the manifest type: no known Content-Type or mediaType');
}

function descriptorList(value: unknown, field: string, required: boolean): Descriptor[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) throw new DescriptorError(`${field} must be an array`);
  return value.map((entry, i) => parseDescriptor(entry, `${field}[${i}]`));
}

/** Rejects JSON nested deeper than maxJsonDepth without parsing it. */
function checkNesting(bytes: Uint8Array): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxJsonDepth) throw new ManifestFormatError(`JSON nested deeper than ${maxJsonDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** Every digest the manifest needs to exist in the repository, with what it is. */
export function referencesOf(manifest: ParsedManifest): { digest: Descriptor['digest']; kind: 'blob' | 'manifest' }[] {
  const references: { digest: Descriptor['digest']; kind: 'blob' | 'manifest' }[] = [];
  if (manifest.config) references.push({ digest: manifest.config.digest, kind: 'blob' });
  for (const layer of manifest.layers) references.push({ digest: layer.digest, kind: 'blob' });
  for (const child of manifest.manifests) references.push({ digest: child.digest, kind: 'manifest' });
  return references;
}
