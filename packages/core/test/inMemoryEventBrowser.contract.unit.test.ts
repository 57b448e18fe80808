import { eventBrowserContract } from '@tidemark/testing';
import { createInMemoryEventBrowser, createInMemoryEventStore } from '../src/index.js';

eventBrowserContract('in-memory', {
  create: async (options) => {
    const store = createInMemoryEventStore(options);
    return { store, browser: createInMemoryEventBrowser(store) };
  },
});
