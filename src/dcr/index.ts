/**
 * `tollgate/dcr`: application registration for a service's own developer portal — create a
 * machine-to-machine application, answer its client id and secret once, and let those credentials
 * pass the gateway's client-credentials flow (`oidc({ authMethods: ['client_credentials'] })`).
 *
 * - {@link auth0Registrar}: Auth0, through the Management API (as Kong Konnect does).
 * - {@link openidRegistrar}: any provider with an RFC 7591 registration endpoint.
 *
 * @see https://docs.konghq.com/konnect/dev-portal/applications/dynamic-client-registration/
 *
 * @packageDocumentation
 * @module tollgate/dcr
 */
export { auth0Registrar } from './auth0-registrar';
export type { Auth0Registrar, Auth0RegistrarOptions, Auth0RegistrarConfig } from './auth0-registrar';
export { openidRegistrar } from './openid-registrar';
export type { OpenidRegistrar, OpenidRegistrarOptions, OpenidRegistrarConfig, OpenidRegisteredApplication } from './openid-registrar';
export { RegistrationError, registrationErrorCodes } from './errors';
export type { RegistrationErrorCode, RegistrationErrorOptions } from './errors';
export type { RegisterOptions, RegisteredApplication, RegistrarFetch } from './types';
