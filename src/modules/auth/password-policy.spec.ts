import { passwordProblem } from './password-policy';

describe('passwordProblem', () => {
  it('accepts a long enough password that is neither common nor the email', () => {
    expect(passwordProblem('password-123', 'ann@example.test')).toBeNull();
    expect(passwordProblem('correct horse battery staple', 'ann@example.test')).toBeNull();
  });

  it('refuses short, common, repeated and email passwords, whatever their case', () => {
    expect(passwordProblem('short', 'a@b.test')).toMatch(/at least 8/);
    expect(passwordProblem('Password123', 'a@b.test')).toMatch(/most common/);
    expect(passwordProblem('qwertyuiop', 'a@b.test')).toMatch(/most common/);
    expect(passwordProblem('zzzzzzzzzz', 'a@b.test')).toMatch(/most common/);
    expect(passwordProblem('Ann.Smith@Example.test', 'ann.smith@example.test')).toMatch(/email/);
    expect(passwordProblem('ann.smith', 'ann.smith@example.test')).toMatch(/email/);
    expect(passwordProblem('x'.repeat(201), 'a@b.test')).toMatch(/at most 200/);
  });
});
