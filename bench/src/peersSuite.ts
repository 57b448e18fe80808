import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { postgresUrl } from './postgresBackend.js';
import { runOurs } from './storeSuite.js';
import { peersDir, type WorkloadDefinition } from './workload.js';

/** The peer each backend is compared with: the Emmett packages run.sh installs. */
const peers = {
  sqlite: { script: 'emmett-sqlite', name: 'emmett-sqlite@0.42.4' },
  postgres: { script: 'emmett-postgres', name: 'emmett-postgresql@0.42.0' },
} as const;

interface PeerLine {
  peer: string;
  backend: string;
  case: string;
  value: number;
}

/**
 * The peers suite: runs ../shared/bench/peers/run.sh (Emmett 0.42 on the same workload.mjs),
 * then tidemark's own run of that workload on each backend, and prints tidemark's figure with
 * the peer's as its baseline — ratio = tidemark / Emmett.
 */
export async function runPeersSuite(workload: WorkloadDefinition, backends: readonly Backend[]): Promise<BenchResult[]> {
  const available: Backend[] = [];
  for (const backend of backends) {
    const reason = await backend.unavailable();
    if (reason) console.error(`peers: skipping ${backend.name}: ${reason}`);
    else available.push(backend);
  }
  const peerFigures = await runPeers(available.map((b) => peers[b.name].script));
  const results: BenchResult[] = [];
  for (const backend of available) {
    const peer = peers[backend.name];
    for (const measured of await runOurs(workload, backend)) {
      const theirs = peerFigures.find((line) => line.backend === backend.name && line.case === measured.case);
      const result = benchResult({
        suite: 'peers',
        backend: backend.name,
        case: measured.case,
        value: measured.rate,
        baseline: theirs?.peer ?? peer.name,
        baselineValue: theirs?.value ?? null,
        rssMb: measured.rssMb,
      });
      printResult(result);
      results.push(result);
    }
  }
  return results;
}

/**
 * Runs each peer on its own (run.sh stops at the first failing peer, which would take the other
 * down with it) and collects its JSON lines. A peer that ends without all its lines is run once
 * more: Emmett's SQLite store sometimes fails a run with SQLITE_BUSY.
 */
async function runPeers(scripts: readonly string[]): Promise<PeerLine[]> {
  const script = resolve(peersDir, 'run.sh');
  if (scripts.length === 0) return [];
  if (!existsSync(script)) {
    console.error(`peers: ${script} is missing, so there is no Emmett figure to compare with; tidemark's figures follow`);
    return [];
  }
  const collected: PeerLine[] = [];
  for (const name of scripts) {
    let outcome = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      console.error(`peers: ${name}, attempt ${attempt} (the very first run installs Emmett into ${peerInstallDir()}: minutes)`);
      const run = await runScript(script, name);
      if (run.lines.length >= expectedLines(name)) {
        collected.push(...run.lines);
        outcome = '';
        break;
      }
      outcome = existsSync(join(peerInstallDir(), name, '.installed'))
        ? `failed (exit code ${run.code}, ${run.lines.length} of ${expectedLines(name)} figures)`
        : 'could not be installed (offline?)';
      console.error(`peers: ${name} ${outcome}`);
    }
    if (outcome) console.error(`peers: no ${name} figures: it ${outcome} twice; tidemark's figures follow without that ratio`);
  }
  return collected;
}

/** Where run.sh installs the peers: its own default, unless PEERS_DIR says otherwise. */
function peerInstallDir(): string {
  return process.env.PEERS_DIR ?? join(process.env.TMPDIR ?? '/tmp', 'tidemark-peers');
}

function expectedLines(script: string): number {
  // Emmett's SQLite run has no concurrent cases: single, batch, aggregate.
  return script === peers.sqlite.script ? 3 : 5;
}

function runScript(script: string, peer: string): Promise<{ code: number; lines: PeerLine[] }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [script], {
      env: { ...process.env, PEERS: peer, PG_URL: process.env.PG_URL ?? postgresUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const lines = out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as PeerLine);
      done({ code: code ?? 1, lines });
    });
  });
}
