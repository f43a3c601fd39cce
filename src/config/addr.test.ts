// Unit tests for http.addr parsing ("host:port", ":port", "[v6]:port").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListenAddress } from './addr.js';

describe('parseListenAddress', () => {
  it('reads ":port" as every interface', () => {
    assert.deepEqual(parseListenAddress(':5000'), { host: '0.0.0.0', port: 5000 });
  });

  it('reads host:port, IPv4, IPv6 in brackets and port 0', () => {
    assert.deepEqual(parseListenAddress('localhost:5000'), { host: 'localhost', port: 5000 });
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('registry.internal.example.com:443'), {
      host: 'registry.internal.example.com',
      port: 443,
    });
    assert.deepEqual(parseListenAddress('[::1]:5000'), { host: '::1', port: 5000 });
    assert.deepEqual(parseListenAddress('[::]:65535'), { host: '::', port: 65535 });
  });

  it('explains what is wrong', () => {
    const errorOf = (text: string): string => {
      const result = parseListenAddress(text);
      assert.ok('error' in result, `${text} should be rejected`);
      return result.error;
    };
    assert.match(errorOf('abc'), /port is missing/);
    assert.match(errorOf('5000'), /":5000"/);
    assert.match(errorOf(':http'), /not a port number/);
    assert.match(errorOf(':'), /not a port number/);
    assert.match(errorOf(':65536'), /above 65535/);
    assert.match(errorOf('::1:5000'), /\[addr\]:port/);
    assert.match(errorOf('[::1]5000'), /\[addr\]:port/);
    assert.match(errorOf('bad host:5000'), /not a host name/);
    assert.match(errorOf('-x:5000'), /not a host name/);
  });
});
