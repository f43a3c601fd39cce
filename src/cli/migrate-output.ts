// What `berth migrate` prints: progress on stderr (a bar on a terminal, plain lines in logs)
// and the closing summary.
import cliProgress from 'cli-progress';
import type { MigrateProgress, MigrateSummary } from '../server/migrate.js';

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/**
 * Shows migrate's progress on stderr: a progress bar (cli-progress) on a terminal, else a plain
 * line at each phase change and at most every 5 seconds, for logs.
 */
export function progressReporter(stream: NodeJS.WriteStream): { update: (progress: MigrateProgress) => void; stop: () => void } {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: '{phase} [{bar}] {percentage}% | {detail}', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let phase = '';
    return {
      update(progress) {
        const key = progress.phase === 'blobs' ? 'blobs' : `index ${progress.table}`;
        const [value, total, detail] =
          progress.phase === 'blobs'
            ? [
                progress.bytes,
                progress.totalBytes,
                `${progress.done}/${progress.total} blobs, ${mib(progress.bytes)}/${mib(progress.totalBytes)} MiB`,
              ]
            : [progress.copied, progress.total, `${progress.copied}/${progress.total} rows`];
        if (key !== phase) {
          if (phase !== '') bar.stop();
          phase = key;
          bar.start(Math.max(total, 1), total === 0 ? 1 : value, { phase: key.padEnd(25), detail });
        } else {
          bar.setTotal(Math.max(total, 1));
          bar.update(value, { detail });
        }
      },
      stop: () => bar.stop(),
    };
  }
  let phase = '';
  let lastLine = 0;
  return {
    update(progress) {
      const key = progress.phase === 'blobs' ? 'blobs' : `index ${progress.table}`;
      const finished = progress.phase === 'blobs' ? progress.done === progress.total : progress.copied === progress.total;
      const now = Date.now();
      if (key === phase && !finished && now - lastLine < 5000) return;
      phase = key;
      lastLine = now;
      stream.write(
        progress.phase === 'blobs'
          ? `migrate: blobs ${progress.done}/${progress.total}, ${mib(progress.bytes)}/${mib(progress.totalBytes)} MiB\n`
          : `migrate: index ${progress.table} ${progress.copied}/${progress.total} rows\n`,
      );
    },
    stop: () => undefined,
  };
}

export function formatSummary(summary: MigrateSummary): string {
  const rows = Object.entries(summary.rows)
    .map(([table, count]) => `${table} ${count}`)
    .join(', ');
  return [
    `migrated in ${summary.seconds.toFixed(1)} s`,
    `blobs: ${summary.blobsCopied} copied (${mib(summary.bytesCopied)} MiB), ${summary.blobsSkipped} already present`,
    `rows: ${rows}`,
  ].join('\n');
}
