import type { EventStage, EventStore, KeyStore, SnapshotStore } from '@tidemark/core';
import type { WorkloadTarget } from './workloadCases.js';

export interface ClosableTarget extends WorkloadTarget {
  close(): Promise<void>;
}

/** A storage the store suite measures: tidemark's adapter and its raw-driver baseline, side by side. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  /** The baseline's name in the JSON lines (`raw-better-sqlite3`, `raw-pg`). */
  baseline: string;
  /** Whether the concurrent-writer cases apply (SQLite has one writer at a time). */
  concurrent: boolean;
  /** Callers of the `append.single.<n>concurrent` case (issue 13), where it applies. */
  callers?: number;
  /** Why the backend cannot run here (adapter or server missing), or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /**
   * tidemark's store on fresh, empty storage. `name` opens another one beside it (its own file or
   * schema, removed by cleanup) with the given pipeline `stages`: the versioning cases compare two.
   */
  openOurs(options?: { name?: string; stages?: readonly EventStage[] }): Promise<ClosableTarget & EventStore>;
  /** A key store (crypto-shredding) on the storage of `openOurs`: its file or schema. */
  openKeyStore(): Promise<KeyStore & { close(): unknown }>;
  /** The raw-driver baseline on its own fresh storage, created with the adapter's DDL. */
  openBaseline(): Promise<ClosableTarget>;
  /** The snapshot store beside the store `openOurs` returned (the snapshot cases). */
  snapshots(ours: ClosableTarget): SnapshotStore;
  /** Removes every file or schema this backend created. */
  cleanup(): Promise<void>;
}
