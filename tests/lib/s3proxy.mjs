// s3proxy.mjs: a proxy in front of the test's S3 server (s3rver, which does not check
// SigV4 signatures) that checks every signed request's signature with the AWS SDK's
// own signer (@smithy/signature-v4) before passing it on, and plays the faults a test
// asks for through a mode file read on every request:
//   pass         forward (default, also when the file is missing)
//   slow MS      wait MS milliseconds before forwarding
//   down         cut the connection without an answer
// Usage: node s3proxy.mjs PORT UPSTREAM_PORT MODE_FILE ACCESS_KEY_ID SECRET
// One line per request on stdout: "METHOD PATH STATUS signed|unsigned|bad-signature".
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

const [port, upstream, modeFile, keyId, secret] = process.argv.slice(2);

// The hash primitive the signer asks for (its HMAC when given a secret).
class Sha256 {
  constructor(key) {
    this.h = key ? crypto.createHmac('sha256', Buffer.from(key)) : crypto.createHash('sha256');
  }
  update(d) { this.h.update(typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d)); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

function mode() {
  try { return fs.readFileSync(modeFile, 'utf8').trim().split(/\s+/); } catch { return ['pass']; }
}

function xmlError(res, status, code, msg) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${msg}</Message></Error>`);
}

// '' when the request is unsigned, 'ok' when its signature is right, else why not.
async function verify(req, body) {
  const auth = req.headers.authorization;
  if (!auth) return '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'malformed Authorization';
  if (m[1] !== keyId) return 'unknown access key';
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  if (req.headers['x-amz-content-sha256'] !== sha) return 'x-amz-content-sha256 is not the body\'s';
  const headers = {};
  for (const h of m[4].split(';')) headers[h] = req.headers[h];
  const d = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(req.headers['x-amz-date'] || '');
  if (!d) return 'no x-amz-date';
  const url = new URL(req.url, 'http://localhost');
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const [hostname, hport] = (req.headers.host || '').split(':');
  const signer = new SignatureV4({
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
    region: m[3], service: 's3', sha256: Sha256, uriEscapePath: false,
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname, port: hport ? Number(hport) : undefined,
      path: url.pathname, query, headers },
    // Exactly the headers the client signed: libcurl signs Cache-Control, which the
    // SDK itself would leave out.
    { signingDate: new Date(`${d[1]}-${d[2]}-${d[3]}T${d[4]}:${d[5]}:${d[6]}Z`),
      signableHeaders: new Set(Object.keys(headers)) });
  const want = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)[1];
  return want === m[5] ? 'ok' : 'signature does not match';
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const [m, arg] = mode();
    if (m === 'down') { req.socket.destroy(); return; }
    if (m === 'slow') await new Promise((r) => setTimeout(r, Number(arg) || 1000));
    const v = await verify(req, body).catch((e) => `signer failed: ${e.message}`);
    const tag = v === '' ? 'unsigned' : v === 'ok' ? 'signed' : 'bad-signature';
    if (v !== '' && v !== 'ok') {
      console.log(`${req.method} ${req.url} 403 ${tag} (${v})`);
      return xmlError(res, 403, 'SignatureDoesNotMatch', `the proxy checked the signature: ${v}`);
    }
    const up = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url,
      headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
      console.log(`${req.method} ${req.url} ${ur.statusCode} ${tag}`);
    });
    up.on('error', () => { req.socket.destroy(); console.log(`${req.method} ${req.url} 502 upstream away`); });
    up.end(body);
  });
}).listen(Number(port), '127.0.0.1');
