import { loginPage, safeNext } from './browser-login';

describe('safeNext', () => {
  it('keeps local paths and sends anything that could leave the site to /status', () => {
    expect(safeNext('/admin/queues')).toBe('/admin/queues');
    expect(safeNext('/status?x=1')).toBe('/status?x=1');
    for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', undefined, ['/a'], '/a b', `/${'x'.repeat(300)}`]) {
      expect(safeNext(bad)).toBe('/status');
    }
  });

  it('escapes the return address in the page', () => {
    expect(loginPage('/a"><script>')).toContain('data-next="/a&#34;&#62;&#60;script&#62;"');
  });
});
