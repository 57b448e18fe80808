export * from './transport/natsNames.js';
export * from './transport/natsTransport.js';
