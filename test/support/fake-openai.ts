/* eslint-disable @typescript-eslint/no-require-imports */
import { join } from 'node:path';

export type FakeMode = 'ok' | 'error' | 'hang' | 'malformed';

export interface FakeOpenAiStats {
  calls: number;
  inFlight: number;
  maxInFlight: number;
  requests: Array<{ model?: string; authorization?: string; messages: Array<{ role: string; content: string }> }>;
}

export interface FakeOpenAi {
  port: number;
  /** Base URL for `openai-compatible:<url>`. */
  url: string;
  stats(): FakeOpenAiStats;
  set(next: { mode?: FakeMode; latencyMs?: number }): void;
  reset(): void;
  close(): Promise<void>;
}

/** The fake chat completions server of bench/ai (one implementation for tests and benchmarks), on 127.0.0.1. */
export function startFakeOpenAi(opts: { latencyMs?: number; mode?: FakeMode; port?: number } = {}): Promise<FakeOpenAi> {
  const mod = require(join(__dirname, '..', '..', 'bench', 'ai', 'fake-openai.js')) as {
    startFakeOpenAi(o: typeof opts): Promise<FakeOpenAi>;
  };
  return mod.startFakeOpenAi(opts);
}
