// The session routes as the pages call them, and what their answers mean in plain words.
// Same origin as the pages: no CORS, and the Content-Security-Policy's connect-src 'self'.

/** A session id as the API spells it. */
export const SESSION_ID = /^[0-9a-f]{32}$/;

/** The longest wait between two tries when the server gives no Retry-After. */
const MAX_BACKOFF_MS = 30_000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One API call. Answers {status, body, retryAfter}: status 0 when the server could not be
 * reached at all; body the JSON envelope, or null; retryAfter in seconds, or null.
 */
export async function call(method, path, body) {
  const init = { method, cache: 'no-store', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { status: 0, body: null, retryAfter: null };
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    // Not JSON: a gateway's own error page. The status says enough.
  }
  return {
    status: response.status,
    body: json,
    retryAfter: seconds(response.headers.get('retry-after')),
  };
}

/** Retry-After as seconds: a number of seconds or an HTTP date. */
function seconds(value) {
  if (value === null || value.trim() === '') {
    return null;
  }
  const number = Number(value);
  if (Number.isFinite(number) && number >= 0) {
    return number;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

export const createSession = (onboardingToken) =>
  call('POST', '/signature-session/create', { onboardingToken });

export const getSession = (id) => call('GET', `/signature-session/${id}`);

export const submitSignature = (id, signatureData) =>
  call('POST', `/signature-session/${id}/submit`, { signatureData });

/** Worth trying again later: no answer, too many requests, or the server's trouble. */
export const retryable = (answer) => answer.status === 0 || answer.status === 429 || answer.status >= 500;

/**
 * How long to wait before try number `attempt` + 1 (0 after the first failure): what the
 * server's Retry-After says when it says it, else 1, 2, 4 ... s up to 30 s; plus up to a
 * quarter second at random, so many pages told the same thing do not all come back at once.
 */
export function retryDelay(answer, attempt) {
  const jitter = Math.random() * 250;
  if (answer.retryAfter !== null) {
    return Math.max(1, answer.retryAfter) * 1000 + jitter;
  }
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt) + jitter;
}

/** What went wrong, for people. */
export function plainError(answer) {
  switch (answer.status) {
    case 0:
      return 'Cannot reach the server. Check your connection.';
    case 429:
      return 'Too many requests for now.';
    case 503:
      return 'The service is briefly unavailable.';
    default:
      if (answer.status >= 500) {
        return 'Something went wrong on the server.';
      }
      return (answer.body && answer.body.error) || `The server answered ${answer.status}.`;
  }
}

/** A wait in whole seconds, for a message (the jitter is not worth a second). */
export const inSeconds = (ms) => Math.max(1, Math.round(ms / 1000));
