import { command, taskId } from './schedule';

describe('schedule definitions', () => {
  it("turns Laravel's frequency methods into cron expressions", () => {
    expect(command('queue:monitor high,default').everyMinute()).toEqual({ command: ['queue:monitor', 'high,default'], cron: '* * * * *', frequency: 'everyMinute' });
    expect(command('queue:prune-failed --hours=168').daily().cron).toBe('0 0 * * *');
    expect(command('x').dailyAt('03:30').cron).toBe('30 3 * * *');
    expect(() => command('x').dailyAt('25:00')).toThrow('dailyAt takes HH:MM');
    expect(taskId(command('queue:monitor  high,default').hourly())).toBe('queue:monitor high,default');
  });
});
