// The S3 client the driver uses, configured for S3-compatible services as well as AWS: the
// SDK's newer integrity checksums only where S3 requires them, and a Content-MD5 on
// DeleteObjects, which older services demand instead of those checksums.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { md5 } from './s3-context.js';

export interface S3ClientOptions {
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  const config: S3ClientConfig = {
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle ?? false,
    // Without both keys the SDK's default chain applies (AWS_* variables, profiles, roles).
    ...(options.accessKeyId === undefined || options.secretAccessKey === undefined
      ? {}
      : { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }),
    // RGW 16 answers a streamed PUT that carries the SDK's default CRC32 trailer with 411,
    // and older services know none of those headers: checksums only where S3 requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  const client = new S3Client(config);
  // DeleteObjects is the one request S3 requires an integrity header on. The SDK sends a CRC32
  // there now; Swift's s3api (and older S3 implementations) still insist on Content-MD5.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteObjectsCommand') {
        addContentMd5(args.request);
      }
      return next(args);
    },
    { step: 'build', name: 'berthDeleteObjectsContentMd5' },
  );
  return client;
}

/** Sets Content-MD5 on an HTTP request whose body is already serialised. */
function addContentMd5(request: unknown): void {
  if (typeof request !== 'object' || request === null || !('headers' in request) || !('body' in request)) {
    return;
  }
  const { headers, body } = request;
  if (typeof headers !== 'object' || headers === null) {
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
  const fields = headers as Record<string, string>;
  if (bytes !== undefined && !Object.keys(fields).some((name) => name.toLowerCase() === 'content-md5')) {
    fields['content-md5'] = md5(bytes);
  }
}
