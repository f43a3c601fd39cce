// Which upstreams serve a name and under which upstream name: the mapping rules on their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnderPrefix, selectedBy, upstreamRepositoryName } from './upstream-map.js';

describe('upstream mapping', () => {
  it('a root upstream gets the name as it is', () => {
    assert.equal(
      upstreamRepositoryName({ namespace: '', url: 'https://registry-1.docker.io', hosts: [] }, 'library/alpine'),
      'library/alpine',
    );
    assert.equal(upstreamRepositoryName({ namespace: '', url: 'https://ghcr.io', hosts: [] }, 'alpine'), 'alpine');
  });

  it('a prefix upstream gets the rest of the name, at a path boundary only', () => {
    const quay = { namespace: 'quay.io', url: 'https://quay.io', hosts: ['quay.io'] };
    assert.equal(upstreamRepositoryName(quay, 'quay.io/coreos/etcd'), 'coreos/etcd');
    assert.equal(upstreamRepositoryName(quay, 'quay.io/etcd'), 'etcd');
    assert.equal(upstreamRepositoryName(quay, 'quay.iox/etcd'), undefined);
    assert.equal(upstreamRepositoryName(quay, 'quay.io'), undefined);
    assert.equal(upstreamRepositoryName(quay, 'other/quay.io/etcd'), undefined);
    const nested = { namespace: 'mirrors/hub', url: 'https://example.com', hosts: ['example.com'] };
    assert.equal(upstreamRepositoryName(nested, 'mirrors/hub/team/app'), 'team/app');
    assert.equal(upstreamRepositoryName(nested, 'mirrors/hubx/app'), undefined);
  });

  it('Docker Hub under a prefix: one-component names are official images under library/', () => {
    const hub = { namespace: 'docker.io', url: 'https://registry-1.docker.io', hosts: ['docker.io'] };
    assert.equal(upstreamRepositoryName(hub, 'docker.io/alpine'), 'library/alpine');
    assert.equal(upstreamRepositoryName(hub, 'docker.io/library/alpine'), 'library/alpine');
    assert.equal(upstreamRepositoryName(hub, 'docker.io/bitnami/redis'), 'bitnami/redis');
  });

  it('selected by ?ns=, a prefix upstream also gets names outside its prefix as they are (containerd)', () => {
    const hub = { namespace: 'docker.io', url: 'https://registry-1.docker.io', hosts: ['docker.io'] };
    assert.equal(upstreamRepositoryName(hub, 'library/alpine', 'docker.io'), 'library/alpine');
    assert.equal(upstreamRepositoryName(hub, 'docker.io/library/alpine', 'docker.io'), 'library/alpine');
    assert.equal(upstreamRepositoryName(hub, 'library/alpine', 'ghcr.io'), undefined);
    assert.equal(upstreamRepositoryName(hub, 'library/alpine'), undefined);
  });

  it('pushes are refused under a prefix namespace only', () => {
    assert.equal(isUnderPrefix({ namespace: 'docker.io' }, 'docker.io/library/alpine'), true);
    assert.equal(isUnderPrefix({ namespace: 'docker.io' }, 'docker.io'), true);
    assert.equal(isUnderPrefix({ namespace: 'docker.io' }, 'docker.iox/alpine'), false);
    assert.equal(isUnderPrefix({ namespace: '' }, 'library/alpine'), false);
  });

  it('?ns= selects by host, case-insensitively; no ns selects every upstream', () => {
    assert.equal(selectedBy({ hosts: ['docker.io', 'registry-1.docker.io'] }, 'docker.io'), true);
    assert.equal(selectedBy({ hosts: ['docker.io'] }, 'Docker.IO'), true);
    assert.equal(selectedBy({ hosts: ['docker.io'] }, 'ghcr.io'), false);
    assert.equal(selectedBy({ hosts: [] }, undefined), true);
  });
});
