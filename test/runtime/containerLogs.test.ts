import { demuxLogs } from '../../src/runtime/containerLogs';

const frame = (stream: number, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

test('stdout and stderr frames are joined in order, headers dropped', () => {
  expect(demuxLogs(Buffer.concat([frame(1, 'out one\n'), frame(2, 'err two\n')]))).toBe('out one\nerr two\n');
});

test('output of a TTY container (no frames) is returned as it is', () => {
  expect(demuxLogs(Buffer.from('plain line\n'))).toBe('plain line\n');
});

test('a frame cut short keeps what arrived', () => {
  const cut = frame(1, 'complete\n').subarray(0, 12);
  expect(demuxLogs(Buffer.concat([frame(2, 'first\n'), cut]))).toContain('first\n');
});
