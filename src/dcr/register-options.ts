/**
 * Checks a `register()` call's arguments before anything is sent, so a portal can answer its
 * developer a 400 instead of creating nothing at the provider and failing there.
 *
 * The limits are Auth0's (`client_metadata`: at most 10 keys, keys and values at most 255
 * characters, values strings); RFC 7591 providers get the same checks so a portal behaves the
 * same whichever registrar it uses.
 *
 * @see https://auth0.com/docs/get-started/applications/configure-application-metadata
 */
import { RegistrationError } from './errors';
import type { RegisterOptions } from './types';

const MAX_METADATA_KEYS = 10;
const MAX_METADATA_LENGTH = 255;
const MAX_NAME_LENGTH = 255;

/** A {@link RegisterOptions} that passed the checks, with only the known fields. */
export type CheckedRegisterOptions = RegisterOptions;

function invalid(operation: string, what: string): never {
  throw new RegistrationError('ERR_DCR_INVALID_REQUEST', `${operation}: ${what}`, { operation });
}

/** Returns the options as sent, or throws `RegistrationError` `ERR_DCR_INVALID_REQUEST` naming the field. */
export function checkRegisterOptions(operation: string, input: unknown): CheckedRegisterOptions {
  if (typeof input !== 'object' || input === null) invalid(operation, 'expects an object such as { name: "Acme billing" }');
  const { name, description, metadata, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest).filter((k) => rest[k] !== undefined);
  if (unknown.length) invalid(operation, `unknown field "${unknown[0]}" (expected name, description, metadata)`);
  if (typeof name !== 'string' || name.trim().length === 0) invalid(operation, '"name" must be a non-empty string');
  if (name.length > MAX_NAME_LENGTH) invalid(operation, `"name" must be at most ${MAX_NAME_LENGTH} characters`);
  if (description !== undefined && typeof description !== 'string') invalid(operation, '"description" must be a string');
  const out: CheckedRegisterOptions = { name, ...(description !== undefined ? { description } : {}) };
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) invalid(operation, '"metadata" must be an object of strings');
    const entries = Object.entries(metadata);
    if (entries.length > MAX_METADATA_KEYS) invalid(operation, `"metadata" may hold at most ${MAX_METADATA_KEYS} keys, got ${entries.length}`);
    for (const [key, value] of entries) {
      if (key.length === 0 || key.length > MAX_METADATA_LENGTH) invalid(operation, `"metadata" keys must be 1 to ${MAX_METADATA_LENGTH} characters`);
      if (typeof value !== 'string' || value.length > MAX_METADATA_LENGTH) {
        invalid(operation, `"metadata.${key}" must be a string of at most ${MAX_METADATA_LENGTH} characters`);
      }
    }
    out.metadata = { ...(metadata as Record<string, string>) };
  }
  return out;
}

/** Returns a client id fit for a URL path, or throws `ERR_DCR_INVALID_REQUEST`. */
export function checkClientId(operation: string, clientId: unknown): string {
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 255) invalid(operation, 'expects a client id (a non-empty string)');
  return clientId;
}
