import {
  AddressRefused,
  isForbiddenAddress,
  parseAllowedHosts,
  resolveChecked,
  type Resolver,
} from './address-policy';

const fixed =
  (answers: Record<string, string[]>): Resolver =>
  (host) =>
    Promise.resolve(
      (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const),
    );

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '::',
    '::1',
    'fc00::1',
    'fd00:ec2::254',
    'fe80::1',
    'fe80::1%eth0',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '64:ff9b::a9fe:a9fe',
    'not-an-ip',
  ])('refuses %s', (a) => expect(isForbiddenAddress(a)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'lets %s through',
    (a) => expect(isForbiddenAddress(a)).toBe(false),
  );
});

describe('resolveChecked', () => {
  const none = new Set<string>();

  it('refuses a host when any one of its addresses is forbidden', async () => {
    const r = fixed({ 'mixed.test': ['93.184.216.34', '10.0.0.5'] });
    await expect(resolveChecked('mixed.test', none, r)).rejects.toThrow(AddressRefused);
    await expect(resolveChecked('mixed.test', none, r)).rejects.toThrow(/10\.0\.0\.5/);
  });

  it('checks IP literals without asking the resolver', async () => {
    const r: Resolver = () => Promise.reject(new Error('the resolver must not be asked'));
    await expect(resolveChecked('169.254.169.254', none, r)).rejects.toThrow(AddressRefused);
    await expect(resolveChecked('[::1]', none, r)).rejects.toThrow(AddressRefused);
    await expect(resolveChecked('93.184.216.34', none, r)).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  it('lets an allow-listed host through whatever it resolves to (exact host match only)', async () => {
    const r = fixed({ 'hooks.internal': ['10.0.0.7'], 'x.hooks.internal': ['10.0.0.8'] });
    const allowed = parseAllowedHosts(' Hooks.Internal ,127.0.0.1');
    await expect(resolveChecked('hooks.internal', allowed, r)).resolves.toHaveLength(1);
    await expect(resolveChecked('x.hooks.internal', allowed, r)).rejects.toThrow(AddressRefused);
    await expect(resolveChecked('127.0.0.1', allowed, r)).resolves.toHaveLength(1);
  });

  it('refuses a host that does not resolve', async () => {
    await expect(resolveChecked('nowhere.test', none, fixed({}))).rejects.toThrow(/does not resolve/);
  });
});
