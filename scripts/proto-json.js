#!/usr/bin/env node
// Usage: node scripts/proto-json.js OUT.json
// Writes proto/csi.proto (and the google/protobuf files it imports) as protobufjs's JSON descriptor, parsed with the
// keepCase option of proto/loader-options.json. The driver loads this JSON at start-up (src/server/proto.ts) instead
// of parsing the .proto text and building proto-loader's reflection descriptors: that was ~50 ms of every start.
// Run by scripts/codegen.sh, which also checks the committed file is current.
'use strict';
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');

const root = path.join(__dirname, '..');
const options = require(path.join(root, 'proto', 'loader-options.json'));
// csi.proto imports google/protobuf/descriptor.proto (for its field options); protobufjs bundles that file as JSON
// but does not register it by default (proto-loader registers it the same way).
protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);
const parsed = new protobuf.Root().loadSync(path.join(root, 'proto', 'csi.proto'), { keepCase: options.keepCase === true });
parsed.resolveAll();
writeFileSync(process.argv[2], `${JSON.stringify(parsed.toJSON(), null, 1)}\n`);
