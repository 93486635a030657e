/**
 * Field errors of a validation: functions that can find several problems collect them in
 * `FieldErrors`, keyed by the field's path as the client sent it (`content_type.schema.author.reference_to`,
 * `entry.address.city`, `entry.sections[1].heading`), so one 422 names every field that is wrong.
 */
import { HeraldError, type FieldErrors } from '../errors.ts';
import { isObject } from './guards.ts';

export function addError(errors: FieldErrors, path: string, problem: string): void {
  (errors[path] ??= []).push(problem);
}

export function hasErrors(errors: FieldErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** `title is required; price must be a number` */
export function describeErrors(errors: FieldErrors): string {
  return Object.entries(errors)
    .map(([path, problems]) => `${path} ${problems.join(', ')}`)
    .join('; ');
}

/** A 422 naming every field in `errors`; its message names the first. */
export function validationError(errors: FieldErrors): HeraldError {
  return new HeraldError('validation_failed', describeErrors(errors), { errors });
}

export function throwIfErrors(errors: FieldErrors): void {
  if (hasErrors(errors)) throw validationError(errors);
}

/**
 * The object under `key` in a JSON body (`{ "entry": { ... } }`). A body that is not an object is
 * refused naming the key the client should send.
 */
export function bodyField(body: unknown, key: string): unknown {
  if (!isObject(body)) throw validationError({ [key]: [`is required: send { "${key}": { ... } } as JSON`] });
  return body[key];
}
