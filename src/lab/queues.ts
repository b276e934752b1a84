// Queues of end-to-end test files, one per lab slot (pure): balanced by how long each file is known to take, so that
// two queues on two labs finish at about the same time. Used by scripts/e2e.ts (`npm test`).

/** Seconds each e2e file (test/e2e/NAME.test.ts) took alone, one after another, on CI (2 cores); a new file counts as 60 s. */
export const E2E_SECONDS: Readonly<Record<string, number>> = {
  pitr: 171, 'systemd-jobs': 170, 'restore-production': 117, estate: 114, 'pitr-restore': 95, backup: 93, audit: 87,
  refresh: 75, systemd: 72, vault: 69, 'refresh-schema': 63, corruption: 62, 'refresh-failures': 61, instances: 48,
  'refresh-steps': 43, provision: 40, 'lab-systemd': 35, images: 24, tls: 24,
  'corruption-backup': 19, lab: 17, 'images-repair': 12, ssh: 10,
};

/** One queue: its lab slot, its files in run order, and the seconds they are expected to take. */
export interface TestQueue {
  slot: number;
  files: string[];
  seconds: number;
}

/**
 * Split files into `count` queues, longest first, each into the queue with the least expected time so far (ties: the
 * lower slot). A file of unknown duration counts as `unknownSeconds`. Every file lands in exactly one queue; within a
 * queue the files keep that longest-first order. Queue i runs on lab slot i + 1.
 */
export function balanceQueues(files: string[], seconds: (file: string) => number | undefined, count = 2, unknownSeconds = 60): TestQueue[] {
  const queues: TestQueue[] = Array.from({ length: count }, (_, i) => ({ slot: i + 1, files: [], seconds: 0 }));
  const timed = files.map((file) => ({ file, s: seconds(file) ?? unknownSeconds }));
  timed.sort((a, b) => b.s - a.s || a.file.localeCompare(b.file));
  for (const { file, s } of timed) {
    const q = queues.reduce((best, q) => (q.seconds < best.seconds ? q : best));
    q.files.push(file);
    q.seconds += s;
  }
  return queues;
}

/** Lines of a stream, each prefixed (a partial last line is kept for the next chunk): for interleaving two outputs readably. */
export function lineSplitter(prefix: string, emit: (line: string) => void): { push(chunk: string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const l of lines) emit(`${prefix}${l}`);
    },
    end() {
      if (rest) emit(`${prefix}${rest}`);
      rest = '';
    },
  };
}

/**
 * The failures in a TAP stream, for the summary at the end (a CI log may show only its tail): each `not ok` line at any
 * depth, with up to `detail` lines of its diagnostic block (`---` to `...`), each line cut at `width` characters.
 */
export function failureDigest(detail = 12, width = 400): { push(line: string): void; lines(): string[] } {
  const out: string[] = [];
  let left = 0;
  return {
    push(line) {
      const bare = line.trimStart();
      if (/^not ok \d+/.test(bare)) {
        out.push(line.slice(0, width));
        left = detail;
      } else if (left > 0) {
        if (bare === '...' || /^(ok|not ok) \d+|^# Subtest/.test(bare)) left = 0;
        else {
          out.push(line.slice(0, width));
          left -= 1;
        }
      }
    },
    lines: () => out,
  };
}
