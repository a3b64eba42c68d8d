#!/usr/bin/env node
// Usage: node scripts/probe.js SOCKET
// Calls CSI Identity.Probe on a unix socket; exits 0 when the driver answers ready, 1 otherwise. Used by
// scripts/build-image.sh to check the built image serves, as kubelet and the livenessprobe sidecar would reach it.
'use strict';
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const socket = process.argv[2];
if (!socket) {
  process.stderr.write('usage: node scripts/probe.js SOCKET\n');
  process.exit(2);
}
const def = loader.loadSync(path.join(__dirname, '..', 'proto', 'csi.proto'), { keepCase: true, defaults: true });
const Identity = grpc.loadPackageDefinition(def).csi.v1.Identity;
const client = new Identity(`unix://${socket}`, grpc.credentials.createInsecure());
client.Probe({}, { deadline: Date.now() + 2000 }, (err, res) => {
  client.close();
  if (err) {
    process.stderr.write(`Probe failed: ${err.message}\n`);
    process.exit(1);
  }
  const ready = !res.ready || res.ready.value !== false;
  process.stdout.write(`ready=${ready}\n`);
  process.exit(ready ? 0 : 1);
});
