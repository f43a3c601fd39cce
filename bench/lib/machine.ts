// The machine's own limits, measured in the same run as the registries: SHA-256 throughput of
// one core (Node's crypto, as Berth hashes) and sequential write + fsync to the disk holding
// the registries' data. Also describes the machine for the JSON results.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { MiB, baseChunk, blobChunks } from './blob-data.js';
import type { BenchOptions } from './options.js';
import type { MachineProbe } from './workload.js';

const MB = 1e6;

export function sha256Probe(options: BenchOptions): MachineProbe {
  return {
    id: 'sha256',
    metrics: [{ key: 'mbps', label: 'SHA-256, one core (node:crypto, 1 MiB updates)', unit: 'MB/s', better: 'higher' }],
    async run(_rep, meter) {
      const chunk = baseChunk();
      const rounds = Math.max(1, Math.round(options.blobBytes / MiB));
      const hash = createHash('sha256');
      meter.begin();
      for (let i = 0; i < rounds; i++) hash.update(chunk);
      hash.digest();
      const window = meter.end();
      return { mbps: (rounds * MiB) / MB / window.wallSeconds };
    },
  };
}

export function diskProbe(options: BenchOptions, dir: string): MachineProbe {
  return {
    id: 'disk-write',
    metrics: [{ key: 'mbps', label: `disk sequential write + fsync, 1 MiB writes`, unit: 'MB/s', better: 'higher' }],
    async run(rep, meter) {
      const path = join(dir, `disk-probe-${rep}.bin`);
      const chunk = baseChunk();
      meter.begin();
      const file = await open(path, 'w');
      try {
        let written = 0;
        while (written < options.blobBytes) {
          const length = Math.min(chunk.length, options.blobBytes - written);
          await file.write(chunk, 0, length);
          written += length;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const window = meter.end();
      await rm(path, { force: true });
      return { mbps: options.blobBytes / MB / window.wallSeconds };
    },
  };
}

/** Writes the large blob's exact bytes as a plain file, for nginx to serve. */
export async function writeBlobFile(path: string, seed: number, size: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const chunk of blobChunks(seed, size)) await file.write(chunk);
    await file.sync();
  } finally {
    await file.close();
  }
}

export interface MachineInfo {
  readonly hostname: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  readonly filesystem: string;
  readonly loadAverage: readonly number[];
}

export function machineInfo(dir: string): MachineInfo {
  const fs = spawnSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '--target', dir], { encoding: 'utf8' });
  return {
    hostname: os.hostname(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    filesystem: fs.status === 0 ? fs.stdout.trim().replace(/\s+/g, ' ') : 'unknown',
    loadAverage: os.loadavg(),
  };
}
