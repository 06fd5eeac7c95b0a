// An example Node client for the points service.
//
// It loads the repository's protos/ at run time with @grpc/proto-loader (no generation step),
// plus two vendored protos under ./protos: google/rpc/error_details.proto (ErrorInfo,
// BadRequest, ...) and grpc/health/v1/health.proto. Failed calls become PointsError, with the
// google.rpc.Status of the `grpc-status-details-bin` trailer decoded into its details.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The repository's own protos (points/v1/*.proto, google/rpc/status.proto). */
export const REPO_PROTOS = path.resolve(HERE, '..', '..', 'protos');
/** The protos this client adds: google/rpc/error_details.proto, grpc/health/v1/health.proto. */
export const VENDORED_PROTOS = path.join(HERE, 'protos');
const INCLUDE_DIRS = [REPO_PROTOS, VENDORED_PROTOS];

/** The trailer that carries a serialized google.rpc.Status. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
/** The domain of every ErrorInfo the service sends. */
export const ERROR_DOMAIN = 'points.v1';

/** Every points/v1 proto, so every service is there, whatever files the API gains. */
function serviceFiles() {
  const dir = path.join(REPO_PROTOS, 'points', 'v1');
  const points = fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).sort().map((f) => `points/v1/${f}`);
  return [...points, 'grpc/health/v1/health.proto'];
}

// keepCase: fields as the protos spell them (employee_id, min_position); longs as decimal
// strings (positions are int64); enums by name (ROLE_SERVICE_MANAGER).
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: INCLUDE_DIRS };

const packageDefinition = protoLoader.loadSync(serviceFiles(), LOADER_OPTIONS);
const loaded = /** @type {any} */ (grpc.loadPackageDefinition(packageDefinition));

/** The protobufjs types used to decode google.rpc.Status and the Any-packed details. */
const statusRoot = (() => {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  root.resolveAll();
  return root;
})();
const StatusType = statusRoot.lookupType('google.rpc.Status');
const TO_OBJECT = { longs: String, enums: String, defaults: true, arrays: true };

/**
 * @typedef {object} FieldViolation
 * @property {string} field       the request field, as a path (`quantity`, `requests[3].request_id`)
 * @property {string} reason      UPPER_SNAKE, e.g. NEGATIVE_QUANTITY
 * @property {string} description for people
 */

/**
 * @typedef {object} Detail
 * @property {string} type   the full message name, e.g. google.rpc.ErrorInfo
 * @property {object|null} value  the decoded message, or null for a type this client does not know
 */

/**
 * @typedef {object} RichStatus
 * @property {number} code         the gRPC status code
 * @property {string} message      the developer-facing message
 * @property {Detail[]} details    every detail, decoded
 * @property {string} reason       the ErrorInfo's reason ('' if none)
 * @property {string} domain       the ErrorInfo's domain ('' if none)
 * @property {FieldViolation[]} violations  every BadRequest field violation
 */

/**
 * Decodes a serialized google.rpc.Status and its Any-packed details.
 * @param {Uint8Array} bytes
 * @returns {RichStatus}
 */
export function decodeStatus(bytes) {
  const status = /** @type {any} */ (StatusType.toObject(StatusType.decode(bytes), TO_OBJECT));
  /** @type {Detail[]} */
  const details = status.details.map((/** @type {{type_url: string, value: Uint8Array}} */ any) => {
    const type = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    const known = statusRoot.lookup(type);
    if (!(known instanceof protobuf.Type)) return { type, value: null };
    return { type, value: known.toObject(known.decode(any.value), TO_OBJECT) };
  });
  const info = /** @type {any} */ (details.find((d) => d.type === 'google.rpc.ErrorInfo')?.value ?? {});
  const violations = details
    .filter((d) => d.type === 'google.rpc.BadRequest' && d.value)
    .flatMap((d) => /** @type {any} */ (d.value).field_violations)
    .map((/** @type {any} */ v) => ({ field: v.field, reason: v.reason, description: v.description }));
  return { code: status.code, message: status.message, details, reason: info.reason ?? '', domain: info.domain ?? '', violations };
}

/** A failed call: the gRPC code and, when the server sent one, its google.rpc.Status decoded. */
export class PointsError extends Error {
  /**
   * @param {grpc.ServiceError} error
   * @param {string} method  e.g. WorkEventService/RecordWorkEvent
   */
  constructor(error, method) {
    const bytes = error.metadata?.get(STATUS_DETAILS_KEY)?.[0];
    const status = bytes ? decodeStatus(/** @type {Buffer} */ (bytes)) : null;
    super(`${method}: ${grpc.status[error.code]}${status?.reason ? ` (${status.reason})` : ''}: ${error.details}`, { cause: error });
    this.name = 'PointsError';
    /** @type {number} */
    this.code = error.code;
    /** @type {string} e.g. INVALID_ARGUMENT */
    this.codeName = grpc.status[error.code];
    /** @type {RichStatus|null} */
    this.status = status;
    /** @type {string} the ErrorInfo reason, '' without a rich status */
    this.reason = status?.reason ?? '';
    /** @type {FieldViolation[]} */
    this.violations = status?.violations ?? [];
  }
}

/**
 * @typedef {object} CallOptions
 * @property {number} [timeoutMs]  the call's deadline, from now (default 10 s)
 */

/** Stubs for the points services over one channel; every call returns a Promise. */
export class PointsClient {
  /**
   * @param {string} address  host:port, e.g. 127.0.0.1:50051
   * @param {object} [options]
   * @param {grpc.ChannelCredentials} [options.credentials]  default: plaintext (development mode)
   * @param {string} [options.token]  a bearer JWT, sent as `authorization` on every call
   */
  constructor(address, { credentials = grpc.credentials.createInsecure(), token } = {}) {
    const v1 = loaded.points.v1;
    /** The one channel every stub shares. */
    this.channel = new grpc.Channel(address, credentials, {});
    const shared = { channelOverride: this.channel };
    /** @type {Record<string, grpc.Client>} */
    this.stubs = {
      DirectoryService: new v1.DirectoryService(address, credentials, shared),
      WorkEventService: new v1.WorkEventService(address, credentials, shared),
      BalanceService: new v1.BalanceService(address, credentials, shared),
      Health: new loaded.grpc.health.v1.Health(address, credentials, shared),
    };
    this.token = token;
  }

  /**
   * One unary call.
   * @param {string} service  e.g. WorkEventService
   * @param {string} method   e.g. RecordWorkEvent
   * @param {object} request  fields as the proto names them
   * @param {CallOptions} [options]
   * @returns {Promise<any>}
   */
  call(service, method, request, { timeoutMs = 10_000 } = {}) {
    const stub = /** @type {any} */ (this.stubs[service]);
    const metadata = new grpc.Metadata();
    if (this.token) metadata.set('authorization', `Bearer ${this.token}`);
    const deadline = new Date(Date.now() + timeoutMs);
    return new Promise((resolve, reject) => {
      stub[method](request, metadata, { deadline }, (/** @type {grpc.ServiceError|null} */ error, /** @type {any} */ response) => {
        if (error) reject(new PointsError(error, `${service}/${method}`));
        else resolve(response);
      });
    });
  }

  /** @param {{outlet_id: string, outlet_class: string, region: string}} request  @param {CallOptions} [options] */
  registerOutlet(request, options) { return this.call('DirectoryService', 'RegisterOutlet', request, options); }

  /** @param {{employee_id: string, role: string, outlet_id: string, effective_from: string, name?: string}} request  @param {CallOptions} [options] */
  registerEmployee(request, options) { return this.call('DirectoryService', 'RegisterEmployee', request, options); }

  /**
   * Records one work event; repeating the same request (same request_id, same content) is a
   * replay: the original result with `replayed: true`, counted once.
   * @param {{request_id: string, employee_id: string, kind: string, quantity: string, occurred_on: string,
   *          outlet_id?: string, recorded_by?: string, source?: string, attributes?: Record<string, string>}} request
   * @param {CallOptions} [options]
   */
  recordWorkEvent(request, options) { return this.call('WorkEventService', 'RecordWorkEvent', request, options); }

  /**
   * A balance; with `min_position` (a write's `position`) it waits until that write shows.
   * @param {{employee_id: string, period: string, min_position?: string|number}} request
   * @param {CallOptions} [options]
   */
  getBalance(request, options) { return this.call('BalanceService', 'GetBalance', request, options); }

  /**
   * grpc.health.v1 Check: 'SERVING', 'NOT_SERVING', ...; '' asks about the server as a whole.
   * @param {string} [service]
   * @param {CallOptions} [options]
   * @returns {Promise<string>}
   */
  async checkHealth(service = '', options) {
    const answer = await this.call('Health', 'Check', { service }, options);
    return answer.status;
  }

  /** Closes the channel. */
  close() {
    this.channel.close();
  }
}
