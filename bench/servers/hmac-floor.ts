// The webhook floor: node:http that reads the body, checks the HMAC signature and answers.
import crypto from 'node:crypto';
import http from 'node:http';

const secret = process.env.WEBHOOK_SECRET!;
http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const expected = Buffer.from(`sha256=${crypto.createHmac('sha256', secret).update(Buffer.concat(chunks)).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      const ok = given.length === expected.length && crypto.timingSafeEqual(given, expected);
      res.writeHead(ok ? 200 : 401).end(ok ? 'ok\n' : 'bad signature\n');
    });
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
