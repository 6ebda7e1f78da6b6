// examples/openstack-3hosts.yaml is the record the multi-host Keystone test deploys
// (src/lab/multiHostOpenstack.ts on the lab's hosts): the two must not drift apart.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { multiHostOpenstack } from '../../src/lab/multiHostOpenstack';
import { openstackLab } from '../../src/lab/openstackLab';
import { canonicalJson } from '../../src/record/identity';
import { loadRecordFile } from '../../src/record/load';
import { PROJECT_ROOT } from '../../src/lib/config';

test('the example is the generated multi-host record, for the lab hosts h1..h3', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'patchbay-mh-example-'));
  try {
    const lab = openstackLab({ root });
    const generated = multiHostOpenstack(
      lab,
      [1, 2, 3].map((n) => ({
        name: `h${n}`,
        address: `10.77.0.1${n}`,
        endpoint: `unix:///run/pblab/h${n}/docker.sock`,
      })),
    ).record;
    const example = loadRecordFile(path.join(PROJECT_ROOT, 'examples', 'openstack-3hosts.yaml'));
    expect(canonicalJson(example)).toBe(
      canonicalJson(generated).replaceAll(root, '/var/lib/patchbay/os-lab'),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
