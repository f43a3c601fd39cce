// Loopback ports for servers the tests and benchmarks start themselves.
import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago, for servers that cannot listen on port 0 and
 * report the port (the reference registry, PostgreSQL, nginx). Another process may still take
 * it before the server binds: callers check that their server, not another, answers.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
