import { type Engine, loadTake, takeStamp } from '@oxvcs/engine';
import { type Dispatch, useEffect } from 'react';
import { queueErrorText } from './queue-words.js';
import type { Action, Row, TakeOnRemote } from './reducer.js';

/** A push tried before (it did not finish) of a project whose head is a recorded take. */
function takeOf(entry: Row['entry']): TakeOnRemote | undefined {
  const op = entry.operation;
  if (op.kind !== 'push' || entry.status === 'done' || !(entry.verifyFirst || entry.attempts > 0))
    return undefined;
  const take = loadTake(op.projectDir, op.branch);
  if (!take || take.pushed) return undefined;
  const on = take.onRemote;
  return {
    parts: take.parts.length,
    bytes: take.parts.reduce((n, p) => n + p.bytes, 0),
    ...(on ? { partsOnRemote: on.parts, bytesOnRemote: on.bytes } : {}),
  };
}

/**
 * Follows the queue: re-reads it (without taking its lock) whenever its stamp (the stats of the
 * snapshot and its journal) changes, or what the record of a take shown in it says of the remote
 * (a push running notes each part that reaches it, without touching the queue), checked every
 * `pollMs`, so changes by the CLI or another process show within a second.
 */
export function useQueue(
  engine: Engine,
  dispatch: Dispatch<Action>,
  pollMs: number,
  describe: (row: Row['entry']) => string,
) {
  useEffect(() => {
    let stopped = false;
    let signature = '';
    /** The projects whose takes the rows show. */
    let takeDirs: string[] = [];
    const load = async (force = false) => {
      try {
        const next = [engine.queue.stamp(), ...takeDirs.map(takeStamp)].join('\0');
        if (!force && next === signature) return;
        // Taken before the read: a change made during it shows at the next poll. A new set of
        // takes changes the stamp's shape, which costs one more read.
        signature = next;
        const entries = await engine.queue.list();
        const rows = entries.map((entry) => {
          const take = takeOf(entry);
          return { entry, description: describe(entry), ...(take ? { take } : {}) };
        });
        takeDirs = [
          ...new Set(
            rows.flatMap((r) =>
              r.take && r.entry.operation.kind === 'push' ? [r.entry.operation.projectDir] : [],
            ),
          ),
        ];
        if (!stopped) dispatch({ type: 'rows', rows });
      } catch (error) {
        if (!stopped)
          dispatch({ type: 'load-error', message: queueErrorText(error) ?? (error as Error).message });
      }
    };
    void load(true);
    const timer = setInterval(() => void load(), pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [engine, dispatch, pollMs, describe]);
}
