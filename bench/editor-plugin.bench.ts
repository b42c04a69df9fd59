/**
 * Node-RED's start-up time and memory with and without node-red-contrib-nrcert (deploy/node-red),
 * for each Node-RED release the running Node can start: time from spawn to "Started flows" in
 * its log, and the Node-RED process's VmRSS once started (after SETTLE_MS). Same settings both
 * ways (HTTPS, adminAuth, `nrcert.editorDir` with published files); runs alternate. Figures only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeRedReleases, startNodeRed, waitFor, type NodeRedRelease } from '../test/helpers/nodered';
import { fixtureStatus, makeEditorDir, prepareEditorUserDir, writeEditorFile } from '../test/helpers/nrcert-editor';
import { makeTempDir, removeTempDir } from '../test/helpers/tmp';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 2000);

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bench-editor');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

function vmRssMB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

async function startOnce(userDir: string, release: NodeRedRelease): Promise<{ ms: number; rssMB: number }> {
  writeFileSync(join(userDir, 'node-red.log'), '');
  const t0 = Date.now();
  const nodeRed = await startNodeRed({ userDir, release });
  try {
    await waitFor(() => nodeRed.readLog().includes('Started flows'), 60_000, { intervalMs: 10, what: 'Started flows' });
    const ms = Date.now() - t0;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return { ms, rssMB: vmRssMB(nodeRed.state().childPid as number) };
  } finally {
    await nodeRed.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test.each(nodeRedReleases(__filename))('$name start-up with and without node-red-contrib-nrcert', async (release: NodeRedRelease) => {
  const editorDir = join(dir, `editor-${release.major}`);
  makeEditorDir(editorDir);
  writeEditorFile(editorDir, 'status.json', { publishedAt: new Date().toISOString(), status: fixtureStatus(54), service: null });
  writeEditorFile(editorDir, 'events.json', { events: [] });
  const flows = JSON.stringify([{ id: 't1', type: 'tab', label: 'bench' }]);
  const variants = { without: join(dir, `without-${release.major}`), with: join(dir, `with-${release.major}`) };
  await prepareEditorUserDir(variants.without, { release, editorDir, install: false });
  await prepareEditorUserDir(variants.with, { release, editorDir });
  for (const d of Object.values(variants)) writeFileSync(join(d, 'flows.json'), flows);
  const samples: Record<string, Array<{ ms: number; rssMB: number }>> = { without: [], with: [] };
  await startOnce(variants.without, release); // warm the file cache
  for (let i = 0; i < RUNS; i++) {
    for (const name of ['without', 'with'] as const) samples[name].push(await startOnce(variants[name], release));
  }
  const line = (name: string) => {
    const s = samples[name];
    return `${name.padEnd(8)} start ${median(s.map((x) => x.ms))} ms (min ${Math.min(...s.map((x) => x.ms))}), VmRSS ${median(s.map((x) => x.rssMB)).toFixed(1)} MB`;
  };
  process.stdout.write(`${release.name} on Node ${process.versions.node}, median of ${RUNS}:\n  ${line('without')}\n  ${line('with')}\n`);
}, 600_000);
