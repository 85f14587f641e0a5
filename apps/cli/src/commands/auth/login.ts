import type { Readable, Writable } from 'node:stream';
import { Command, UsageError } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';

/** Reads a secret: all of stdin when piped, or a hidden prompt on a terminal (nothing echoed). */
async function readSecret(stdin: Readable, stderr: Writable): Promise<string> {
  const tty = stdin as Readable & { isTTY?: boolean; setRawMode?: (on: boolean) => void };
  if (!tty.isTTY || !tty.setRawMode) {
    let text = '';
    for await (const chunk of stdin) text += chunk;
    return text.trim();
  }
  stderr.write('Token (input hidden): ');
  tty.setRawMode(true);
  tty.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (result?: string) => {
      tty.setRawMode?.(false);
      tty.pause();
      tty.off('data', onData);
      stderr.write('\n');
      if (result === undefined) reject(new UsageError('Cancelled; no token was stored.'));
      else resolve(result.trim());
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0003' || ch === '\u0004') return done(undefined);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    tty.on('data', onData);
  });
}

/** `oxenvcs auth login`. */
export class AuthLoginCommand extends BaseCommand {
  static override paths = [['auth', 'login']];
  static override usage = Command.Usage({
    category: 'Auth',
    description: 'Store an API token for the remote’s host in Oxen’s auth config (mode 0600).',
    details:
      'The token is read from stdin or a hidden prompt, never from the command line (where other users could see it).',
    examples: [
      ['Paste at a hidden prompt', 'oxenvcs auth login'],
      ['From a password manager', 'pass oxen/hub | oxenvcs auth login'],
    ],
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const host = engine.project().remote.host;
    const token = await readSecret(this.context.stdin, this.context.stderr);
    if (!token) throw new UsageError('No token was given on stdin or at the prompt; nothing was stored.');
    const { file } = await engine.authLogin(token);
    return {
      data: { host, file },
      human: () => this.ui.out(`${this.ui.mark('ok')} Token stored for ${host} in ${file}`),
    };
  }
}
