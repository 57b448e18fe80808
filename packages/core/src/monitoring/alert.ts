/** A threshold crossed by a monitor. Delivered through a callback: paging is the caller's business. */
export interface Alert {
  /** `horizon`: a long transaction keeps committed events unreadable (PostgreSQL), stalling every reader. */
  kind: 'consistency' | 'lag' | 'horizon';
  /** The read model or projection concerned. */
  subject: string;
  /** The measured value (a rate in 0..1, or seconds) and the threshold it crossed. */
  value: number;
  threshold: number;
  message: string;
  details?: Record<string, unknown>;
}

export type AlertHandler = (alert: Alert) => void;
