// The DTOs' OpenAPI decorators only document; @nestjs/swagger is ESM, which ts-jest cannot load.
jest.mock('@nestjs/swagger', () => ({
  ApiProperty: () => () => undefined,
  ApiPropertyOptional: () => () => undefined,
}));

import 'reflect-metadata';
import { fastAcceptFor } from '../../../common/validation/fast-path';
import { dtoDecision } from '../../../../test/support/dto-agreement';
import { ClaimRequest, HeartbeatRequest } from './queue.requests';
import { acceptClaim, acceptHeartbeat } from './queue-requests.fast-path';

const id64 = 'w'.repeat(64);
type Table = { fast: object[]; bad: object[]; left: object[] };

const claims: Table = {
  fast: [
    { workerId: 'w1' },
    { workerId: id64, leaseMs: 1000, waitMs: 0 },
    { workerId: 'w.1:x-y_z', leaseMs: 600_000, waitMs: 30_000 },
  ],
  bad: [
    {},
    { leaseMs: 1000 },
    { workerId: '' },
    { workerId: `${id64}x` },
    { workerId: 'a b' },
    { workerId: 7 },
    { workerId: 'w', leaseMs: 999 },
    { workerId: 'w', leaseMs: 600_001 },
    { workerId: 'w', leaseMs: 1500.5 },
    { workerId: 'w', leaseMs: '2000' },
    { workerId: 'w', waitMs: -1 },
    { workerId: 'w', waitMs: 30_001 },
    { workerId: 'w', stray: 1 },
  ],
  left: [
    { workerId: 'w', leaseMs: null },
    { workerId: 'w', waitMs: null },
  ],
};

const heartbeats: Table = {
  fast: [
    { leaseToken: 't' },
    { leaseToken: 'x'.repeat(128), leaseMs: 1000 },
    { leaseToken: 'tok', leaseMs: 600_000 },
  ],
  bad: [
    {},
    { leaseMs: 5000 },
    { leaseToken: '' },
    { leaseToken: 'x'.repeat(129) },
    { leaseToken: 5 },
    { leaseToken: 't', leaseMs: 999 },
    { leaseToken: 't', leaseMs: 2.5e3 + 0.5 },
    { leaseToken: 't', stray: true },
  ],
  left: [{ leaseToken: 't', leaseMs: null }, { leaseToken: '\u{1F600}'.repeat(100) }],
};

describe.each([
  ['ClaimRequest', ClaimRequest, acceptClaim, claims],
  ['HeartbeatRequest', HeartbeatRequest, acceptHeartbeat, heartbeats],
] as const)('%s fast path', (_name, cls, accept, table) => {
  it('is the one the validation pipe uses for the DTO', () => {
    expect(fastAcceptFor(cls)).toBe(accept);
  });

  it.each(table.fast.map((b) => [b]))('takes a valid body as it is: %j', async (body) => {
    expect(accept(body)).toBe(true);
    const dto = await dtoDecision(cls, body);
    expect(dto.ok).toBe(true);
    expect(JSON.parse(JSON.stringify(dto.value))).toEqual(body);
  });

  it.each(table.bad.map((b) => [b]))('leaves an invalid body to the pipe: %j', async (body) => {
    expect(accept(body)).toBe(false);
    expect((await dtoDecision(cls, body)).ok).toBe(false);
  });

  it.each(table.left.map((b) => [b]))(
    'leaves to the pipe a valid body it does not take: %j',
    async (body) => {
      expect(accept(body)).toBe(false);
      expect((await dtoDecision(cls, body)).ok).toBe(true);
    },
  );

  it('leaves a body that is not a JSON object to the pipe', () => {
    for (const body of [undefined, null, 'x', 42, [], [{}]]) expect(accept(body)).toBe(false);
  });
});
