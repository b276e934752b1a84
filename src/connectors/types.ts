// A connector runs shell text on one host and moves files; results are values, never thrown for a non-zero exit.

/** What one command did on one host. `command` is already masked. */
export interface RunResult {
  host: string;
  command: string;
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
}

/** Run / put / get for one host. */
export interface Connector {
  readonly host: string;
  run(script: string, opts?: RunOptions): Promise<RunResult>;
  put(path: string, content: string | Buffer, mode?: number): Promise<void>;
  get(path: string): Promise<Buffer>;
  /** Start shell text that holds something (a lock) until the connector closes, its stdin left open: resolves with
   *  undefined once it has printed a line (held), or with its result when it ended first (not held). */
  hold(script: string): Promise<RunResult | undefined>;
  close(): Promise<void>;
}
