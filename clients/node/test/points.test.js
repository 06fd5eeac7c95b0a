// The integrators' contract, from Node, against a real running server at POINTS_ADDRESS
// (development mode: no token). Every run uses fresh ids, so it can run against any server.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { ERROR_DOMAIN, PointsClient, PointsError } from '../points.js';

const ADDRESS = process.env.POINTS_ADDRESS;
assert.ok(ADDRESS, 'set POINTS_ADDRESS to the host:port of a running points server (e.g. 127.0.0.1:50051)');

const RUN = randomUUID().slice(0, 8);
const OUTLET = `node-${RUN}`;
const WORK_DAY = '2026-11-02'; // in the past: the server uses the real clock

/** @param {string} employeeId  @param {string} requestId  @param {string} quantity */
const work = (employeeId, requestId, quantity) => ({
  request_id: `${RUN}/${requestId}`,
  employee_id: employeeId,
  kind: 'counter_transaction',
  quantity,
  occurred_on: WORK_DAY,
  recorded_by: 'node-example',
  source: 'clients/node',
});

/**
 * The PointsError a call was refused with.
 * @param {Promise<unknown>} call
 * @returns {Promise<PointsError>}
 */
async function refusal(call) {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof PointsError, `expected a PointsError, got ${error}`);
    return error;
  }
  assert.fail('the call succeeded; expected it to be refused');
}

describe('points from Node', () => {
  /** @type {PointsClient} */
  let client;

  /**
   * A service manager of its own at OUTLET, so that each test's balances are its own.
   * @param {string} tag
   * @returns {Promise<string>} the employee id
   */
  async function newEmployee(tag) {
    const employeeId = `node-${tag}-${RUN}`;
    const registered = await client.registerEmployee({
      employee_id: employeeId, role: 'ROLE_SERVICE_MANAGER', outlet_id: OUTLET, effective_from: '2026-01-01',
    });
    assert.equal(registered.employee.current.role, 'ROLE_SERVICE_MANAGER');
    return employeeId;
  }

  before(async () => {
    client = new PointsClient(/** @type {string} */ (ADDRESS));
    await client.registerOutlet({ outlet_id: OUTLET, outlet_class: 'OUTLET_CLASS_A', region: 'east' });
  });

  after(() => client?.close());

  it('answers health checks: SERVING', async () => {
    assert.equal(await client.checkHealth(), 'SERVING');
    assert.equal(await client.checkHealth('points.v1.WorkEventService'), 'SERVING');
  });

  it('reads its own write: GetBalance with min_position = the write position', async () => {
    const employee = await newEmployee('ryw');
    const recorded = await client.recordWorkEvent(work(employee, 'ryw', '12'));
    assert.equal(recorded.replayed, false);
    assert.equal(recorded.points, '4.8000'); // 12 x 0.40 under the default policy
    assert.match(recorded.position, /^[1-9][0-9]*$/); // int64 as a decimal string

    const read = await client.getBalance({ employee_id: employee, period: recorded.booked_period, min_position: recorded.position });

    assert.ok(BigInt(read.position) >= BigInt(recorded.position), `answer at ${read.position}, write at ${recorded.position}`);
    assert.equal(read.balance.total, '4.8000');
    assert.equal(read.balance.event_count, '1');
  });

  it('retries as a replay: same request_id and content, same event, counted once', async () => {
    const employee = await newEmployee('replay');
    const first = await client.recordWorkEvent(work(employee, 'replay', '5'));
    const retried = await client.recordWorkEvent(work(employee, 'replay', '5'));

    assert.equal(retried.replayed, true);
    assert.equal(retried.event_id, first.event_id);
    assert.equal(retried.position, first.position);
    assert.equal(retried.points, first.points);
    const read = await client.getBalance({ employee_id: employee, period: first.booked_period, min_position: retried.position });
    assert.equal(read.balance.total, '2.0000'); // 5 x 0.40 once, not 4.0000
    assert.equal(read.balance.event_count, '1');

    const reused = await refusal(client.recordWorkEvent(work(employee, 'replay', '6')));
    assert.equal(reused.codeName, 'ALREADY_EXISTS');
    assert.equal(reused.reason, 'REQUEST_ID_REUSED');
  });

  it('decodes google.rpc.Status from grpc-status-details-bin: ErrorInfo and BadRequest', async () => {
    const employee = await newEmployee('bad');
    const error = await refusal(client.recordWorkEvent(work(employee, 'bad', '-1')));

    assert.equal(error.codeName, 'INVALID_ARGUMENT');
    assert.ok(error.status, 'no grpc-status-details-bin trailer');
    assert.equal(error.status.code, error.code);
    assert.deepEqual(error.status.details.map((d) => d.type), ['google.rpc.ErrorInfo', 'google.rpc.BadRequest']);
    assert.equal(error.status.domain, ERROR_DOMAIN);
    assert.equal(error.reason, 'NEGATIVE_QUANTITY');
    assert.deepEqual(error.violations.map((v) => [v.field, v.reason]), [['quantity', 'NEGATIVE_QUANTITY']]);
    assert.ok(error.violations[0].description, 'a violation says what is wrong');
  });

  it('lists every mistake of a request at once', async () => {
    const employee = await newEmployee('bad-2');
    const error = await refusal(client.recordWorkEvent({ ...work(employee, 'bad-2', '-1'), request_id: '', occurred_on: '9998-01-01' }));

    assert.equal(error.codeName, 'INVALID_ARGUMENT');
    assert.deepEqual(
      error.violations.map((v) => [v.field, v.reason]).sort(),
      [['occurred_on', 'FUTURE_DATE'], ['quantity', 'NEGATIVE_QUANTITY'], ['request_id', 'MISSING_REQUEST_ID']],
    );
  });

  it('names an unknown resource NOT_FOUND with an ErrorInfo and no BadRequest', async () => {
    const error = await refusal(client.getBalance({ employee_id: `ghost-${RUN}`, period: '2026' }));

    assert.equal(error.codeName, 'NOT_FOUND');
    assert.equal(error.reason, 'EMPLOYEE_NOT_FOUND');
    assert.equal(error.status?.domain, ERROR_DOMAIN);
    assert.deepEqual(error.violations, []);
  });
});
