import { shortId } from '@oxvcs/engine';
import { Box, Text } from 'ink';
import { clock, failedText, fit, takeText, wrap } from '../format.js';
import type { Row } from '../reducer.js';

/** The selected entry: operation fields, idempotency key, the whole cause chain, attempt history. */
export function Details(props: { row: Row | undefined; height: number; width: number; now: number }) {
  const { row, height, width, now } = props;
  if (!row) return <Box height={height} />;
  const e = row.entry;
  const op = e.operation as unknown as Record<string, unknown>;
  const fields = Object.entries(op)
    .filter(([k]) => k !== 'kind' && k !== 'projectDir' && k !== 'remote')
    .map(([k, v]) => `${k}=${typeof v === 'number' && k === 'ttlMs' ? `${v / 3_600_000}h` : String(v)}`)
    .join('  ');
  // Why, in the words the CLI uses (a refused token, a push someone else got in before): the
  // sentence ends in what to do, so it is wrapped rather than cut at the window's edge.
  const why = failedText(e);
  const lines = [
    ...wrap(`${shortId(e.id)} · ${e.status}${why ? ` · ${why}` : ''}`, width),
    `project ${e.operation.projectDir} → ${e.operation.remote}`,
    `${e.operation.kind} ${fields}`,
    ...(row.take ? [takeText(row.take)] : []),
    `key ${e.idempotencyKey}${e.verifyFirst ? ' · verify first' : ''}${e.expiresAt ? ` · expires ${clock(e.expiresAt, now)}` : ''}`,
    // A done entry's last error is from an attempt it got past (a HELD before the lock was free):
    // the history below still tells it, but it is not shown as the entry's error.
    ...(e.lastError && e.status !== 'done'
      ? e.lastError.chain.map(
          (link, i) =>
            `${i === 0 ? 'error' : '  caused by'} ${link.name}${link.code ? ` [${link.code}]` : ''}: ${link.message}`,
        )
      : []),
    ...e.history
      .slice(-3)
      .map((h) => `  ${clock(h.at, now)} ${h.outcome}${h.message ? `: ${h.message}` : ''}`),
  ];
  return (
    <Box
      flexDirection="column"
      height={height}
      borderStyle="single"
      borderTop
      borderBottom={false}
      borderLeft={false}
      borderRight={false}
    >
      {lines.slice(0, height - 1).map((line, i) => (
        <Text
          key={i}
          wrap="truncate"
          {...(line.startsWith('error') || line.startsWith('  caused') ? { color: 'red' } : {})}
        >
          {fit(line, width)}
        </Text>
      ))}
    </Box>
  );
}
