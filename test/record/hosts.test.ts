// How a record's hosts are reached (src/record/schema.ts DockerHost): through an agent on the host,
// or directly by the worker; and the task queue an agent host's steps go to.
import { agentTaskQueue } from '../../src/record/identity';
import { DockerHost } from '../../src/record/schema';
import { validateRecord } from '../../src/record/validate';
import { fastRecordInput } from '../support/fastRecords';

describe('reach', () => {
  test('a host on this machine (loopback, the default address) is reached directly', () => {
    expect(DockerHost.parse({ name: 'ctl1' })).toEqual({
      name: 'ctl1',
      address: '127.0.0.1',
      endpoint: 'unix:///var/run/docker.sock',
      reach: 'direct',
    });
  });

  test('a remote host without an endpoint is reached through its agent, which uses the local engine', () => {
    expect(DockerHost.parse({ name: 'ctl2', address: '10.77.0.12' })).toMatchObject({
      reach: 'agent',
      endpoint: 'unix:///var/run/docker.sock',
    });
  });

  test('an explicit endpoint means direct; an explicit reach wins', () => {
    expect(DockerHost.parse({ name: 'a', address: '10.0.0.5', endpoint: 'unix:///run/x.sock' }).reach).toBe(
      'direct',
    );
    expect(
      DockerHost.parse({ name: 'b', address: '10.0.0.6', endpoint: 'unix:///run/b.sock', reach: 'agent' }),
    ).toMatchObject({ reach: 'agent', endpoint: 'unix:///run/b.sock' });
    expect(DockerHost.parse({ name: 'c', reach: 'agent' }).reach).toBe('agent');
  });

  test('an unknown reach is refused', () => {
    expect(() => DockerHost.parse({ name: 'd', reach: 'ssh' })).toThrow(/agent|direct/);
  });

  test('one agent queue per cloud and host', () => {
    expect(agentTaskQueue('east', 'ctl2')).toBe('patchbay-agent:east:ctl2');
    expect(agentTaskQueue('west', 'ctl2')).not.toBe(agentTaskQueue('east', 'ctl2'));
  });
});

describe('a balancer on a host', () => {
  const withBalancer = (host: string) => {
    const input = fastRecordInput('lbh', { api: { image: 'x/api:v1', ports: [8001] } });
    (input.spec as Record<string, unknown>).loadBalancers = [
      { name: 'front', haproxy: { runtimeApi: 'unix:///run/haproxy.sock', host } },
    ];
    return validateRecord(input);
  };

  test('names a declared host', () => {
    expect(withBalancer('ctl1').ok).toBe(true);
  });

  test('an unknown host is refused with its path', () => {
    const result = withBalancer('ctl9');
    expect(result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.loadBalancers[0].haproxy.host: unknown host "ctl9"; declared (spec.runtime.docker.hosts): "ctl1"',
    ]);
  });
});
