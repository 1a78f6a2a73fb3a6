import { formatList } from './list.command';

describe('formatList (artisan list)', () => {
  it('puts plain commands first, then one heading per namespace', () => {
    const out = formatList([
      { name: 'migrate', description: 'Run migrations' },
      { name: 'queue:work', description: 'Work' },
      { name: 'down', description: 'Maintenance' },
      { name: 'queue:failed', description: 'Failed' },
      { name: 'user:create', description: 'Create' },
    ]);
    const body = out.slice(out.indexOf('Available commands:')).split('\n');
    expect(body.map((l) => l.trim().split(/\s+/)[0])).toEqual(['Available', 'migrate', 'down', 'queue', 'queue:work', 'queue:failed', 'user', 'user:create', '']);
  });
});
