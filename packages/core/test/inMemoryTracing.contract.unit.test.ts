import { appendTracingContract } from '@tidemark/testing';
import { createInMemoryEventStore } from '../src/index.js';

appendTracingContract('in-memory', { create: async (options) => createInMemoryEventStore(options) });
