// The desktop page: starts a session, shows the phone link as a QR code and as text, polls
// until the phone has submitted, then shows the signature. "New session" starts over.

import {
  createSession, getSession, inSeconds, plainError, retryDelay, retryable, sleep,
} from './api.js';

/** Once a second while waiting: the session's own poll budget allows twice that. */
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const page = $('desktop');

/** Each session's loop stops as soon as a newer one starts. */
let current = 0;

function show(state, message) {
  page.dataset.state = state;
  $('status').textContent = message;
}

/**
 * The onboarding this session belongs to. A real app passes its own (the customer, the
 * contract); this page makes a random one, as it has nothing to link.
 */
function onboardingToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `web_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

async function start() {
  const run = ++current;
  $('invite').hidden = true;
  $('result').hidden = true;
  show('starting', 'Starting a session…');
  let failures = 0;
  for (;;) {
    const answer = await createSession(onboardingToken());
    if (run !== current) {
      return;
    }
    if (answer.status === 201) {
      invite(answer.body);
      await poll(run, answer.body.sessionId);
      return;
    }
    if (!retryable(answer)) {
      show('error', `${plainError(answer)} Press "New session" to try again.`);
      return;
    }
    const wait = retryDelay(answer, failures++);
    show('retrying', `${plainError(answer)} Trying again in ${inSeconds(wait)} s.`);
    await sleep(wait);
    if (run !== current) {
      return;
    }
  }
}

function invite({ sessionId, expiresAt }) {
  const link = new URL(`/sign#${sessionId}`, location.origin).href;
  const qr = new URL(`/qr/${sessionId}`, location.origin);
  qr.searchParams.set('origin', location.origin);
  $('qr').src = qr.href;
  $('phone-link').href = link;
  $('phone-link').textContent = link;
  $('expires').textContent = `The code works until ${clock(expiresAt)}.`;
  $('invite').hidden = false;
  show('waiting', 'Waiting for the signature…');
}

async function poll(run, id) {
  let failures = 0;
  for (;;) {
    const answer = await getSession(id);
    if (run !== current) {
      return;
    }
    let wait = POLL_MS;
    if (answer.status === 200) {
      failures = 0;
      const { session } = answer.body;
      if (session.completed) {
        signed(session);
        return;
      }
      show('waiting', 'Waiting for the signature…');
    } else if (answer.status === 404) {
      $('invite').hidden = true;
      show('expired', 'This session has expired. Press "New session" to get a new code.');
      return;
    } else if (retryable(answer)) {
      wait = retryDelay(answer, failures++);
      show('retrying', `${plainError(answer)} Checking again in ${inSeconds(wait)} s.`);
    } else {
      show('error', `${plainError(answer)} Press "New session" to start over.`);
      return;
    }
    await sleep(wait);
    if (run !== current) {
      return;
    }
  }
}

function signed(session) {
  $('invite').hidden = true;
  $('signature').src = session.signatureData;
  $('signed-at').textContent = session.completedAt
    ? `Signed at ${clock(session.completedAt)}.`
    : 'Signed.';
  $('result').hidden = false;
  show('signed', 'Signature received.');
}

$('new-session').addEventListener('click', start);
start();
