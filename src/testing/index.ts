/**
 * `tollgate/testing`: what our own tests use, published so users test their policies in-process.
 *
 * @packageDocumentation
 * @module tollgate/testing
 */
export { createTestContext, runPlugin } from './context';
export type { TestRequestOptions, TestResult, TestUpstreamResponse } from './context';
export { createTestIssuer } from './issuer';
export type { TestIssuer, TestIssuerOptions, TestIssuerCounters, TestIssuerOutage, TestClient, SignOptions, TestIssuerAlgorithm, TestUser, TestAuthorizeOptions } from './issuer';
export { createEchoUpstream } from './echo-upstream';
export type { EchoUpstream, EchoUpstreamOptions, EchoResponse } from './echo-upstream';
export { captureEvents } from './events';
export type { EventCapture, CapturedEvent, ChannelMessages, Snapshot } from './events';
