export * from './transport/rabbitTopology.js';
export * from './transport/rabbitTransport.js';
