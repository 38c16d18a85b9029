import { ConsumerRegistry, consumers } from 'tollgate';
import { configError } from '../support/config-error';

describe('consumers', () => {
  const registry = consumers([
    { username: 'gold', customId: 'client-gold' },
    { customId: 'client-silver' },
    { id: 'c-3', username: 'bronze' },
  ]);

  it('finds a consumer by the fields of consumerBy, in order', () => {
    expect(registry.find('client-gold', ['custom_id'])).toEqual({ id: 'gold', username: 'gold', customId: 'client-gold' });
    expect(registry.find('gold', ['custom_id'])).toBeUndefined();
    expect(registry.find('gold', ['custom_id', 'username'])?.customId).toBe('client-gold');
    expect(registry.find('c-3', ['id'])?.username).toBe('bronze');
    expect(registry.find('bronze', ['id'])).toBeUndefined();
  });

  it('looks up by custom_id, then username, by default (Kong consumer_by)', () => {
    expect(registry.find('client-silver')?.id).toBe('client-silver');
    expect(registry.find('bronze')?.id).toBe('c-3');
  });

  it('gives each consumer the id it declares, else its username, else its custom id', () => {
    expect(registry.list().map((c) => c.id)).toEqual(['gold', 'client-silver', 'c-3']);
    expect(registry.size).toBe(3);
  });

  it('is immutable: its consumers cannot be changed after it is built', () => {
    expect(registry).toBeInstanceOf(ConsumerRegistry);
    expect(Object.isFrozen(registry)).toBe(true);
    expect(Object.isFrozen(registry.list()[0])).toBe(true);
    expect(() => (registry.list() as unknown[]).push({ id: 'x' })).toThrow(TypeError);
  });

  it('refuses a consumer without username and custom id, as Kong does', () => {
    expect(configError(() => consumers([{ username: 'a' }, { id: 'b' }])).option).toBe('[1]');
  });

  it('refuses a username, custom id or id used twice, naming the second one', () => {
    expect(configError(() => consumers([{ username: 'a' }, { username: 'a' }])).message).toMatch(/"\[1\]\.username" "a" is already the username of "\[0\]"/);
    expect(configError(() => consumers([{ customId: 'x' }, { customId: 'x' }])).option).toBe('[1].customId');
    // Derived ids can collide too: the message says how to fix it.
    expect(configError(() => consumers([{ username: 'x' }, { customId: 'x' }])).message).toMatch(/explicit "id"/);
  });

  it('refuses unknown keys and values that are not non-empty strings', () => {
    expect(configError(() => consumers([{ username: 'a', custom_id: 'b' } as never])).option).toBe('[0].custom_id');
    expect(configError(() => consumers([{ username: '' }])).option).toBe('[0].username');
    expect(configError(() => consumers([{ username: 7 } as never])).option).toBe('[0].username');
    expect(configError(() => consumers('gold' as never)).message).toMatch(/array/);
  });
});
