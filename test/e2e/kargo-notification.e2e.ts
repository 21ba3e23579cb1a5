/**
 * kargoNotification, run for real: a SkopeoPromoteJob copies an image with the real skopeo, then the
 * notify-kargo container (the real curl and busybox) POSTs to a local HTTP server standing in for Kargo's generic
 * webhook receiver, which checks the request and its secret header. A receiver that fails or cannot be reached
 * leaves the push successful, with the failure in the termination message.
 */
import { createServer, IncomingMessage, Server } from 'http';
import { AddressInfo } from 'net';
import { Duration } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, skopeoInspectDigest, startEnvironment, synthesize } from './environment';
import { freePort } from './fixtures';
import { pushImage, singleImage, TestImage } from './oci';
import { PodResult } from './runner';
import { KargoNotification, KargoWebhookNotificationOptions, SkopeoPromoteJob } from '../../src';

/** A secret path, as Kargo's receiver URLs are (`/webhook/generic/<hash>`): it must appear in no argv or log. */
const RECEIVER_PATH = '/webhook/generic/6f1e0c3a9b2d4e5f8a7b6c5d4e3f2a1b';
const API_KEY = 'k4rg0-api-key-e2e';

interface Received {
  readonly method?: string;
  readonly url?: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let env: E2eEnvironment;
let image: TestImage;
let receiver: Server;
let receiverPort: number;
let received: Received[] = [];
let answer = 200;

beforeAll(async () => {
  env = await startEnvironment('kargo-notification');
  image = singleImage({ 'app.txt': 'promoted, then Kargo is told\n' });
  await pushImage(env.intermediate.host, 'build/app', '1.0.0', image);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', chunk => { body += chunk; });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise(resolve => receiver?.close(resolve));
  await env?.stop();
});

/** Promotes the image to `tag` on the intermediate registry and notifies the receiver at `url` (from the Secret). */
async function promoteAndNotify(tag: string, url: string, options: Partial<KargoWebhookNotificationOptions> = {}): Promise<PodResult> {
  received = [];
  const objects = synthesize(chart => new SkopeoPromoteJob(chart, 'promote', {
    source: `${env.intermediate.host}/build/app:1.0.0`,
    destinations: [`${env.intermediate.host}/release/app:${tag}`],
    sourceTlsVerify: false,
    destinationTlsVerify: false,
    kargoNotification: KargoNotification.webhook({
      secretName: 'kargo-webhook', headerName: 'X-Api-Key', headerKey: 'api-key', allowInsecureHttp: true, timeout: Duration.seconds(3), ...options,
    }),
  }));
  const secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'kargo-webhook' }, stringData: { 'url': url, 'api-key': API_KEY } };
  return env.runner.run([...objects, secret]);
}

/** The push happened and was recorded, whatever the notification did. */
function expectPushed(result: PodResult, tag: string): void {
  expect(result.phase, describeRun(result)).toBe('Succeeded');
  expect(result.containers.map(c => c.name)).toEqual(['promote', 'notify-kargo']);
  const ref = `${env.intermediate.host}/release/app:${tag}`;
  expect(containerOf(result, 'promote').terminationMessage).toBe(`${ref}@${image.digest}\n`);
  expect(skopeoInspectDigest(env, ref)).toBe(image.digest);
}

describe('kargoNotification: webhook', () => {
  test('after the push, one POST reaches the receiver with the secret header; the URL and key appear in no argv or log', async () => {
    answer = 200;
    const result = await promoteAndNotify('1.0.0', `http://127.0.0.1:${receiverPort}${RECEIVER_PATH}`);
    expectPushed(result, '1.0.0');
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: RECEIVER_PATH, body: '{}' });
    expect(received[0].headers['x-api-key']).toBe(API_KEY);
    expect(received[0].headers['content-type']).toBe('application/json');
    const notify = containerOf(result, 'notify-kargo');
    expect(notify.exitCode).toBe(0);
    expect(notify.terminationMessage).toBe('kargo notified: webhook receiver answered HTTP 200\n');
    // curl ran, with the URL and header only on its standard input
    expect(notify.processes.some(p => p.argv[0] === 'curl' && p.argv.includes('--config'))).toBe(true);
    expectNoSecretLeak(result, [RECEIVER_PATH, API_KEY]);
  });

  test('a receiver answering 500: the push still succeeds, the failure is logged and in the termination message', async () => {
    answer = 500;
    const result = await promoteAndNotify('1.0.1', `http://127.0.0.1:${receiverPort}${RECEIVER_PATH}`);
    expectPushed(result, '1.0.1');
    expect(received.length).toBeGreaterThanOrEqual(1);
    const notify = containerOf(result, 'notify-kargo');
    expect(notify.exitCode).toBe(0);
    expect(notify.terminationMessage).toBe('kargo notification failed: the webhook receiver answered HTTP 500\n');
    expect(notify.stderr).toContain('kargo notification failed: the webhook receiver answered HTTP 500');
  });

  test('an unreachable receiver, and a plain-http URL without allowInsecureHttp: the push still succeeds', async () => {
    const closed = await freePort();
    const unreachable = await promoteAndNotify('1.0.2', `http://127.0.0.1:${closed}${RECEIVER_PATH}`);
    expectPushed(unreachable, '1.0.2');
    expect(containerOf(unreachable, 'notify-kargo').terminationMessage).toMatch(/^kargo notification failed: curl could not reach the webhook receiver \(exit code 7, status '000'\)\n$/);

    answer = 200;
    const refused = await promoteAndNotify('1.0.3', `http://127.0.0.1:${receiverPort}${RECEIVER_PATH}`, { allowInsecureHttp: false });
    expectPushed(refused, '1.0.3');
    expect(received).toHaveLength(0);
    expect(containerOf(refused, 'notify-kargo').terminationMessage).toBe('kargo notification failed: the webhook URL uses plain http; allowInsecureHttp: true permits it\n');
  });
});
