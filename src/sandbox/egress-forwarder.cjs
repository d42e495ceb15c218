// Runs inside a bwrap box (as the worker's Node): listens on the box's own loopback and relays
// each connection to the worker's egress proxy through the Unix socket mounted into the box.
// Usage: node egress-forwarder.cjs <socket> <port>
'use strict';
const net = require('node:net');

const [socketPath, port] = process.argv.slice(2);
const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(Number(port), '127.0.0.1');
