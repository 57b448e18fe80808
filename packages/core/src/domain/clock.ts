/** Time as a port, so that temporal queries, timeouts and lag can be tested without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
