/** Size caps that protect the store from runaway payloads. */
export interface AppendLimits {
  /** Largest serialised event (data + metadata), in bytes. Default 1 MiB. */
  maxEventBytes: number;
  /** Largest serialised append, in bytes. Default 16 MiB. */
  maxAppendBytes: number;
}

export const defaultAppendLimits: AppendLimits = {
  maxEventBytes: 1024 * 1024,
  maxAppendBytes: 16 * 1024 * 1024,
};
