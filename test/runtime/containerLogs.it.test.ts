// containerLogTail on a real container (no TTY: Docker multiplexes its output) that fails at start.
import { containerLogTail } from '../../src/runtime/containerLogs';
import { docker } from '../support/harness';

const name = `pb-logs-it-${process.pid}`;

afterAll(async () => {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => undefined);
});

test('the last lines of a container that died, as plain text without frame headers', async () => {
  // The fixture refuses to start without PORT: one line on stderr, exit code 64.
  const container = await docker.createContainer({ name, Image: 'patchbay/fixture:v1', Tty: false });
  await container.start();
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  expect(StatusCode).toBe(64);
  expect(await containerLogTail(docker, name)).toBe('fixture: PORT is required');
});

test('a container that does not exist gives a reason, not an exception', async () => {
  expect(await containerLogTail(docker, `${name}-missing`)).toMatch(/^\(no logs: .*no such container/i);
});
