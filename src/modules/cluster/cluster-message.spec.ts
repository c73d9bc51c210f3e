import { channelOf, clusterNamespace, decodeForeign, encodeMessage } from './cluster-message';

describe('cluster messages', () => {
  it('derives the namespace from the database name unless REDIS_PREFIX is set', () => {
    expect(clusterNamespace(undefined, 'mysql://root@db:3306/stepline_prod')).toBe('stepline:stepline_prod');
    expect(clusterNamespace(undefined, 'mariadb://u:p@10.0.0.5/shop')).toBe('stepline:shop');
    expect(clusterNamespace('acme-eu', 'mysql://root@db:3306/stepline_prod')).toBe('acme-eu');
    expect(channelOf('stepline:shop', 'events')).toBe('stepline:shop:events');
  });

  it('recognises its own messages without parsing them and hands over foreign payloads intact', () => {
    const mine = encodeMessage('a1b2', '[{"seq":1}]');
    expect(decodeForeign('a1b2', mine)).toBeUndefined();
    expect(decodeForeign('ffff', mine)).toBe('[{"seq":1}]');
    // an id that is a prefix of another's is still another instance
    expect(decodeForeign('a1b', mine)).toBe('[{"seq":1}]');
    expect(decodeForeign('a1b2', encodeMessage('a1b2c', 'x y'))).toBe('x y');
    expect(decodeForeign('a1b2', 'garbage')).toBeUndefined();
  });
});
