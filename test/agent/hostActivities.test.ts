// The agent's guard (src/agent/hostActivities.ts): an agent acts only for its own cloud and host;
// and what it reports about itself (src/agent/version.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Activities } from '../../src/activities';
import { addressedTo, guardedHostActivities, HOST_ACTIVITY_NAMES } from '../../src/agent/hostActivities';
import { AGENT_VERSION, agentTooOld, REQUIRED_AGENT_PROTOCOL } from '../../src/agent/version';
import { DockerHost } from '../../src/record/schema';

const ctl2 = DockerHost.parse({ name: 'ctl2', address: '10.77.0.12' });
const ctl3 = DockerHost.parse({ name: 'ctl3', address: '10.77.0.13' });

/** Every host activity answers "ran <name>" so a test sees whether the guard let it through. */
const fakeAll = Object.fromEntries(
  HOST_ACTIVITY_NAMES.map((name) => [name, async () => `ran ${name}`]),
) as unknown as Activities;
const agent = guardedHostActivities(fakeAll, { cloud: 'east', host: 'ctl2', identity: 'test' });

test('inputs name their cloud and hosts, whatever their shape', () => {
  expect(addressedTo({ ref: { cloud: 'east', host: ctl2 } })).toEqual({ cloud: 'east', hosts: ['ctl2'] });
  expect(addressedTo({ cloud: 'east', hosts: [ctl2, ctl3] })).toEqual({
    cloud: 'east',
    hosts: ['ctl2', 'ctl3'],
  });
  expect(addressedTo({ cloud: 'east', host: ctl3 })).toEqual({ cloud: 'east', hosts: ['ctl3'] });
});

test('an agent runs a step addressed to its own host', async () => {
  await expect(agent.startInstance({ ref: { cloud: 'east', host: ctl2 } } as never)).resolves.toBe(
    'ran startInstance',
  );
  await expect(agent.preflightService({ cloud: 'east', hosts: [ctl2] } as never)).resolves.toBe(
    'ran preflightService',
  );
});

test('an agent refuses a step for another host, another cloud, or no host, with a clear error', async () => {
  await expect(agent.startInstance({ ref: { cloud: 'east', host: ctl3 } } as never)).rejects.toMatchObject({
    type: 'WRONG_HOST',
    nonRetryable: true,
    message:
      'the agent of east/ctl2 refuses startInstance for east/ctl3: an agent acts only for its own host',
  });
  await expect(agent.runJob({ cloud: 'west', host: ctl2 } as never)).rejects.toMatchObject({
    type: 'WRONG_HOST',
  });
  await expect(agent.observeService({ cloud: 'east', hosts: [ctl2, ctl3] } as never)).rejects.toMatchObject({
    type: 'WRONG_HOST',
  });
  await expect(agent.commitInstance({} as never)).rejects.toMatchObject({ type: 'WRONG_HOST' });
});

test('the agent says who it is; an older protocol is refused naming both versions', async () => {
  const hello = await agent.agentHello();
  expect(hello).toMatchObject({ cloud: 'east', host: 'ctl2', version: AGENT_VERSION });
  expect(agentTooOld(hello)).toBeNull();
  expect(agentTooOld({ ...hello, version: '0.0.9', protocol: REQUIRED_AGENT_PROTOCOL - 1 })).toMatch(
    /^host ctl2: its agent runs Patchbay 0\.0\.9 \(agent protocol \d+\); this change needs agent protocol \d+ \(Patchbay .+ or later\)/,
  );
});

test("AGENT_VERSION is the package's version", () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
    version: string;
  };
  expect(AGENT_VERSION).toBe(pkg.version);
});
