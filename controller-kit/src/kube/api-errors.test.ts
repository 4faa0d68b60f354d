import { describe, expect, it } from 'vitest';
import { PermanentError, TemporaryError } from '../errors.js';
import { recordingRequester } from '../testing/recording-requester.js';
import { apiErrorClass, typedApiError } from './api-errors.js';
import { ApiError, call } from './request.js';

describe('apiErrorClass', () => {
  it.each([
    [400, 'permanent'], [405, 'permanent'], [413, 'permanent'], [415, 'permanent'], [422, 'permanent'],
    [401, 'temporary'], [403, 'temporary'], [404, 'temporary'], [408, 'temporary'], [409, 'temporary'],
    [410, 'temporary'], [429, 'temporary'], [500, 'temporary'], [502, 'temporary'], [503, 'temporary'], [504, 'temporary'],
  ] as const)('%i is %s', (status, expected) => {
    expect(apiErrorClass(status)).toBe(expected);
  });

  it('lets the call decide what 404 and 409 mean', () => {
    expect(apiErrorClass(404, { notFound: 'permanent' })).toBe('permanent');
    expect(apiErrorClass(409, { conflict: 'permanent' })).toBe('permanent');
    expect(apiErrorClass(422, { notFound: 'temporary' })).toBe('permanent');
  });
});

describe('typedApiError', () => {
  it('turns a 422 into a PermanentError with the Status reason and the original as cause', () => {
    const original = new ApiError(422, 'Invalid', 'spec.ports: Too many', {});
    const typed = typedApiError(original);
    expect(typed).toBeInstanceOf(PermanentError);
    expect(typed).toMatchObject({ reason: 'Invalid', message: 'spec.ports: Too many', cause: original });
  });

  it('turns a 429 into a TemporaryError that waits Retry-After, capped at five minutes', () => {
    expect(typedApiError(new ApiError(429, 'TooManyRequests', 'slow down', {}, 3))).toMatchObject({ reason: 'TooManyRequests', delayMs: 3000 });
    expect(typedApiError(new ApiError(503, 'ServiceUnavailable', 'x', {}, 86_400))).toMatchObject({ delayMs: 300_000 });
    expect(typedApiError(new ApiError(500, 'InternalError', 'x', {}))).toMatchObject({ delayMs: undefined });
  });

  it('types network failures as temporary and leaves bugs and typed errors alone', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(typedApiError(refused)).toBeInstanceOf(TemporaryError);
    expect(typedApiError(refused)).toMatchObject({ reason: 'NetworkError' });
    const bug = new TypeError('x is undefined');
    expect(typedApiError(bug)).toBe(bug);
    const permanent = new PermanentError('no', { reason: 'Mine' });
    expect(typedApiError(permanent)).toBe(permanent);
  });
});

describe('call', () => {
  it('keeps Retry-After from the header, else from the Status details', async () => {
    const fromHeader = recordingRequester(() => ({ statusCode: 429, body: 'Too many requests, please try again later.\n', retryAfterSeconds: 4 }));
    await expect(call(fromHeader, { method: 'GET', path: '/x' })).rejects.toMatchObject({ statusCode: 429, retryAfterSeconds: 4 });
    const fromStatus = recordingRequester(() => ({ statusCode: 504, body: { kind: 'Status', reason: 'Timeout', message: 'slow etcd', details: { retryAfterSeconds: 2 } } }));
    await expect(call(fromStatus, { method: 'GET', path: '/x' })).rejects.toMatchObject({ reason: 'Timeout', retryAfterSeconds: 2 });
  });
});
