// The image's HEALTHCHECK: exits 0 when Berth answers GET /readyz (storage and metadata answer)
// with 200, else 1. It finds the port and the scheme where the container's settings put them:
// REGISTRY_HTTP_ADDR (default :5000) and REGISTRY_HTTP_TLS_CERTIFICATE (then HTTPS, with the
// certificate not checked: the probe only asks whether this process answers).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const addr = process.env.REGISTRY_HTTP_ADDR || process.env.BERTH_HTTP_ADDR || ':5000';
const port = Number(addr.slice(addr.lastIndexOf(':') + 1)) || 5000;
const tls = Boolean(process.env.REGISTRY_HTTP_TLS_CERTIFICATE || process.env.BERTH_HTTP_TLS_CERTIFICATE);
const request = tls ? httpsRequest : httpRequest;
const probe = request({ host: '127.0.0.1', port, path: '/readyz', timeout: 5000, rejectUnauthorized: false }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
probe.on('timeout', () => probe.destroy(new Error('timed out')));
probe.on('error', () => process.exit(1));
probe.end();
