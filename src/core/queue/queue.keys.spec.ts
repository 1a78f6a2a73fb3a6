import { parseRange } from './failed-jobs.service';
import { formatJobRef, jobOwnerKey, parseJobRef, parseQueueName, restartKey } from './queue.keys';

describe('queue ids and keys', () => {
  it('reads back the ids queue:failed prints, and plain ids', () => {
    expect(parseJobRef(formatJobRef('high', '42'))).toEqual({ queue: 'high', id: '42' });
    expect(parseJobRef('42')).toEqual({ id: '42' });
    expect(parseJobRef(':42')).toEqual({ id: ':42' });
  });

  it('names the job-owner and restart keys under the Redis prefix', () => {
    expect(jobOwnerKey('sb:', 'default', '7')).toBe('sb:job-owner:default:7');
    expect(restartKey('sb:')).toBe('sb:queue:restart');
  });

  it('parses --range and refuses malformed or reversed ranges', () => {
    expect(parseRange('3-9')).toEqual({ from: 3, to: 9 });
    expect(() => parseRange('9-3')).toThrow('after its end');
    expect(() => parseRange('a-b')).toThrow('--range');
  });
});

describe('parseQueueName', () => {
  it("takes a plain name and Laravel's connection:queue form", () => {
    expect(parseQueueName('emails')).toBe('emails');
    expect(parseQueueName(' redis:high ')).toBe('high');
  });

  it('refuses another connection or a malformed name', () => {
    expect(() => parseQueueName('sqs:high')).toThrow('Unknown queue connection "sqs"');
    expect(() => parseQueueName('a b')).toThrow('is not a queue name');
    expect(() => parseQueueName('redis:')).toThrow('is not a queue name');
  });
});
