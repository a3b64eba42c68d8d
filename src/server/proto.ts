import { loadPackageDefinition, type GrpcObject, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Root, type IConversionOptions, type INamespace, type Type } from 'protobufjs/light';
import type { ProtoGrpcType } from '../generated/csi';
import { packageRoot } from '../package-root';

const PROTO_DIR = path.join(packageRoot(), 'proto');
const SERVICES = ['Identity', 'Controller', 'Node', 'GroupController', 'SnapshotMetadata'] as const;

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

type Method = MethodDefinition<object, object>;

/** What @grpc/proto-loader's serializer and deserializer do, for one message type (same calls, same options). */
function serializer(type: Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    // On Node.js protobufjs writes into a Buffer (its BufferWriter), which is what grpc-js sends.
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: Type, options: IConversionOptions): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), options);
}

function serviceDefinition(root: Root, service: string, options: IConversionOptions): ServiceDefinition {
  const definition: Record<string, Method> = {};
  for (const method of root.lookupService(`csi.v1.${service}`).methodsArray) {
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/csi.v1.${service}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request, options),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response, options),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition;
}

/**
 * Loads the CSI services at start-up from proto/csi.json, the protobufjs descriptor scripts/codegen.sh writes from
 * proto/csi.proto, and builds grpc-js service definitions whose (de)serializers are exactly @grpc/proto-loader's with
 * proto/loader-options.json. proto-loader itself would parse the .proto text and build a reflection descriptor of
 * every message (for gRPC server reflection, which this driver does not offer): ~50 ms and ~5 MiB of each start.
 * test/unit/server/proto.test.ts checks the bytes and objects match proto-loader's. Synchronous: before serving.
 */
export function loadCsiProto(): ProtoGrpcType {
  const json = JSON.parse(readFileSync(path.join(PROTO_DIR, 'csi.json'), 'utf8')) as INamespace;
  const root = Root.fromJSON(json);
  root.resolveAll();
  const options = loaderOptions() as IConversionOptions;
  const definition = Object.fromEntries(SERVICES.map((s) => [`csi.v1.${s}`, serviceDefinition(root, s, options)]));
  return loadPackageDefinition(definition) as GrpcObject as unknown as ProtoGrpcType;
}
