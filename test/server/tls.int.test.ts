import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import type { ConnectionOptions, Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** A throwaway self-signed certificate for 127.0.0.1, made by openssl for this test run only. */
function selfSigned(dir: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath };
}

/** Handshake with exactly one TLS version; resolves to the protocol, or the error code. */
function handshake(port: number, version: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3', ca: Buffer): Promise<string> {
  // SECLEVEL=0 lets this client offer TLS 1.1, so a failure is the server refusing it.
  const options: ConnectionOptions = {
    host: '127.0.0.1',
    port,
    minVersion: version,
    maxVersion: version,
    ciphers: 'DEFAULT@SECLEVEL=0',
    ca,
  };
  return new Promise((resolve) => {
    const socket = connect(options, () => {
      const protocol = socket.getProtocol() ?? 'unknown';
      socket.end();
      resolve(protocol);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe(
  'HTTPS with --tls-cert and --tls-key',
  { skip: hasOpenssl ? false : 'openssl is not installed' },
  () => {
    let srv: TestServer;
    let port: number;
    let cert: Buffer;
    let files: { certPath: string; keyPath: string };
    const suite = suiteScope(after);

    before(async () => {
      files = selfSigned(tempDir(suite));
      cert = readFileSync(files.certPath);
      srv = await startTestServer(suite, { tls: files });
      port = Number(new URL(srv.baseUrl).port);
    });

    test('builds an https base URL', () => {
      assert.match(srv.baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    test('the test client can speak TLS 1.1 to a server that allows it', async () => {
      const open: Server = createServer({
        key: readFileSync(files.keyPath),
        cert,
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      open.on('secureConnection', (s) => s.end());
      await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
      const result = await handshake((open.address() as AddressInfo).port, 'TLSv1.1', cert);
      await new Promise<void>((resolve) => open.close(() => resolve()));
      assert.equal(result, 'TLSv1.1');
    });

    test('refuses a TLS 1.1 handshake with a protocol_version alert', async () => {
      assert.equal(await handshake(port, 'TLSv1.1', cert), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    });

    test('accepts TLS 1.2 and TLS 1.3 handshakes', async () => {
      assert.equal(await handshake(port, 'TLSv1.2', cert), 'TLSv1.2');
      assert.equal(await handshake(port, 'TLSv1.3', cert), 'TLSv1.3');
    });

    test('serves /metadata over HTTPS', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${srv.baseUrl}/metadata`, { ca: cert, maxVersion: 'TLSv1.2' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
    });
  },
);
