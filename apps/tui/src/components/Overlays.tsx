import { Box, Text } from 'ink';
import { type keepAliveLines, lockLine, safe } from '../format.js';
import type { State } from '../reducer.js';

/** Every key, in one place. */
export const KEYS: ReadonlyArray<[string, string]> = [
  ['↑/↓ j/k', 'move'],
  ['PgUp/PgDn', 'page'],
  ['g / G', 'first / last'],
  ['Tab / f', 'filter: all → pending → failed → done'],
  ['/', 'text filter (Enter keeps, Esc clears)'],
  ['s', 'sync now'],
  ['x', 'cancel the sync (entries stay consistent)'],
  ['r', 'retry the selected failed entry'],
  ['d', 'remove the selected entry (asks first)'],
  ['c', 'clear done entries (asks first)'],
  ['l', 'lock panel: acquire, release, renew, break'],
  ['Esc', 'hide a banner (lock lost, while away) or a push warning'],
  ['?', 'this help'],
  ['q / Ctrl-C', 'quit'],
];

export function HelpOverlay(props: { height: number }) {
  return (
    <Box flexDirection="column" height={props.height} borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {KEYS.map(([k, v]) => (
        <Text key={k}>
          {k.padEnd(12)} {v}
        </Text>
      ))}
      <Text dimColor>Esc or ? to close</Text>
    </Box>
  );
}

/**
 * The lock panel: the lock, its keep-alive (state, last renewal, lease end), and the lock keys.
 * As tall as what it says (on a 50-row terminal it does not frame 40 empty rows); `height` is the
 * room it is given, the rest left blank below it.
 */
export function LockPanel(props: {
  state: State;
  height: number;
  /** The server's clock, as last read: lease times are on it. */
  serverNow: number;
  keepAlive?: ReturnType<typeof keepAliveLines>;
}) {
  const { state, keepAlive } = props;
  return (
    <Box flexDirection="column" height={props.height}>
      <Box flexDirection="column" borderStyle="round" paddingX={1} flexShrink={0}>
        <Text bold>Lock</Text>
        <Text>
          {state.lockError ? `Lock: ${safe(state.lockError)}` : lockLine(state.lock, props.serverNow)}
        </Text>
        {keepAlive ? (
          <>
            <Text {...(keepAlive.colour ? { color: keepAlive.colour } : {})}>{keepAlive.state}</Text>
            <Text dimColor> {keepAlive.detail}</Text>
          </>
        ) : null}
        <Text> </Text>
        <Text>[a] acquire [r] release [n] renew [b] break (asks for a reason)</Text>
        {state.busy ? <Text color="cyan">{state.busy}…</Text> : null}
        <Text dimColor>Esc to go back</Text>
      </Box>
    </Box>
  );
}

export function Confirm(props: { text: string; height: number }) {
  return (
    <Box flexDirection="column" height={props.height} borderStyle="round" paddingX={1}>
      <Text color="yellow">{props.text}</Text>
      <Text>[y] yes [n / Esc] no</Text>
    </Box>
  );
}

export function ReasonPrompt(props: { reason: string; height: number }) {
  return (
    <Box flexDirection="column" height={props.height} borderStyle="round" paddingX={1}>
      <Text>Why break the lock? (shown to the holder)</Text>
      <Text color="cyan">&gt; {props.reason}_</Text>
      <Text dimColor>Enter to continue, Esc to cancel</Text>
    </Box>
  );
}
