// The webhook baseline: a Probot app with no handlers behind createNodeMiddleware and node:http.
import http from 'node:http';
import { createNodeMiddleware, Probot } from 'probot';

const probot = new Probot({ appId: process.env.APP_ID!, privateKey: process.env.PRIVATE_KEY!, secret: process.env.WEBHOOK_SECRET! });
const middleware = await createNodeMiddleware(() => {}, { probot, webhooksPath: '/api/github/webhooks' });
http.createServer((req, res) => void middleware(req, res)).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
