import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProtoGrpcType } from '../generated/csi';

const PROTO_DIR = path.join(__dirname, '..', '..', 'proto');

/**
 * The options scripts/codegen.sh generated src/generated/ with: read from the same file, so the types the code is
 * checked against describe exactly the objects the runtime produces.
 */
export function loaderOptions(): Options {
  const raw = JSON.parse(readFileSync(path.join(PROTO_DIR, 'loader-options.json'), 'utf8')) as Record<string, unknown>;
  // JSON can only name the conversion types; protobufjs compares against the constructors themselves.
  const types: Record<string, unknown> = { String, Number };
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) options[key] = typeof value === 'string' && value in types ? types[value] : value;
  return options as Options;
}

/** Loads proto/csi.proto at start-up (synchronous file reads are fine before serving). */
export function loadCsiProto(): ProtoGrpcType {
  const definition = loadSync(path.join(PROTO_DIR, 'csi.proto'), loaderOptions());
  return loadPackageDefinition(definition) as unknown as ProtoGrpcType;
}
