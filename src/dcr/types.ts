/**
 * What every registrar takes and returns: a named machine-to-machine application and its
 * credentials, answered once.
 */

/** The application a developer asks for. */
export interface RegisterOptions {
  /** The application's display name, as the provider's dashboard shows it. */
  name: string;
  /** A longer description (Auth0 `description`; RFC 7591 has no such field, so `openidRegistrar` does not send it). */
  description?: string;
  /**
   * Back-references kept on the application, e.g. `{ developer_id: 'dev_42' }`, as Konnect stores its
   * portal ids: Auth0 `client_metadata` (at most 10 keys, string values of at most 255 characters);
   * for `openidRegistrar`, extra client metadata fields the provider must accept.
   */
  metadata?: Record<string, string>;
}

/**
 * A registered application's credentials. The secret is shown to the developer once and never
 * stored by tollgate; logging it is the caller's choice, never tollgate's.
 */
export interface RegisteredApplication {
  /** The OAuth client id: Auth0 puts it in the access token's `azp` claim. */
  clientId: string;
  /** The client secret, for `client_secret_post` (or basic) at the token endpoint. */
  clientSecret: string;
}

/** The fetch a registrar uses: the global `fetch` by default (a seam for proxies and custom agents). */
export type RegistrarFetch = (url: string, init: RequestInit) => Promise<Response>;
