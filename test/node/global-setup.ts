/**
 * The node tier's global setup: one cluster per run. Inside the network namespace `in-netns.sh` created, it makes the
 * pod bridge, starts the image registry, builds and pushes the tool images, then starts the cluster. Test files get
 * what they need through `inject('node')`. Everything is stopped at the end, and on SIGINT/SIGTERM.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { TestProject } from 'vitest/node';
import { createPodBridge, NodeCluster } from './cluster';
import { buildNodeImages } from './images';
import { NodeTier } from './node';
import { Registry, removeScratch, requireTools, scratchDir, selfSignedCertificate } from '../e2e/fixtures';

declare module 'vitest' {
  export interface ProvidedContext {
    node: NodeTier;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  requireTools();
  createPodBridge();
  const dir = scratchDir('node');
  const began = Date.now();
  let registry: Registry | undefined;
  let cluster: NodeCluster | undefined;
  const teardown = async () => {
    await cluster?.stop();
    await registry?.stop();
    removeScratch(dir);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void teardown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    mkdirSync(join(dir, 'tls'));
    const tls = selfSignedCertificate(join(dir, 'tls'));
    registry = await Registry.start(dir, 'images');
    const imagesBegan = Date.now();
    const images = await buildNodeImages(registry.host, join(dir, 'images'), { extraCaCertificates: readFileSync(tls.cert, 'utf8') });
    const imagesSeconds = (Date.now() - imagesBegan) / 1000;
    cluster = await NodeCluster.start({ dir: join(dir, 'cluster'), sandboxImage: images.pause, insecureRegistries: [registry.host] });
    const tier: NodeTier = { access: cluster.access, images, tls, dir };
    project.provide('node', tier);
    const timings = `node tier: images built and pushed in ${imagesSeconds.toFixed(1)} s, cluster started in ${cluster.startSeconds.toFixed(1)} s (setup total ${((Date.now() - began) / 1000).toFixed(1)} s)`;
    console.log(timings);
    mkdirSync('test-reports', { recursive: true });
    writeFileSync(join('test-reports', 'node-timings.log'), `${timings}\n`);
  } catch (e) {
    await teardown();
    throw e;
  }
  return async () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await teardown();
  };
}
