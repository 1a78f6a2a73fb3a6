import { commanderExit } from './commander-errors';

describe('commanderExit', () => {
  it('exits 0 after help, printing nothing more', () => {
    expect(commanderExit({ code: 'commander.helpDisplayed', exitCode: 0, message: '(outputHelp)' })).toEqual({ code: 0 });
    expect(commanderExit({ code: 'commander.help', exitCode: 0 })).toEqual({ code: 0 });
  });

  it('leaves the message of a usage error to commander, which printed it already', () => {
    expect(commanderExit({ code: 'commander.unknownCommand', exitCode: 1, message: "error: unknown command 'x'" })).toEqual({ code: 2 });
    expect(commanderExit({ code: 'commander.unknownOption', exitCode: 0 })).toEqual({ code: 2 });
  });

  it('prints any other error once', () => {
    expect(commanderExit(new Error('boom'))).toEqual({ code: 2, print: 'boom' });
  });
});
