// The phone page: a signature pad on a canvas (pointer events: finger, pen and mouse alike)
// that sends the drawing as a PNG data URL to the session named in the link's fragment.

import {
  SESSION_ID, inSeconds, plainError, retryDelay, retryable, sleep, submitSignature,
} from './api.js';

/** The API's default SIGNATURE_MAX_BYTES: the whole data URL must fit. */
const MAX_BYTES = 262_144;
/** Wide enough to keep a signature sharp, small enough to stay far under MAX_BYTES. */
const EXPORT_MAX_WIDTH = 800;
const INK = '#111827';
const LINE_WIDTH = 2.5;

const $ = (id) => document.getElementById(id);
const page = $('phone');
const canvas = $('pad');
const sessionId = location.hash.slice(1);

/** Strokes in CSS pixels, so the drawing survives a resize or a turn of the phone. */
const strokes = [];
let drawing = null;
let locked = false;
let failures = 0;

function show(state, message) {
  page.dataset.state = state;
  $('status').textContent = message;
}

function draw(context, stroke) {
  context.beginPath();
  context.moveTo(stroke[0].x, stroke[0].y);
  if (stroke.length === 1) {
    context.lineTo(stroke[0].x + 0.1, stroke[0].y);
  }
  for (let i = 1; i < stroke.length; i += 1) {
    // Through the midpoints: smooth curves from the points a pointer reports.
    const previous = stroke[i - 1];
    const point = stroke[i];
    context.quadraticCurveTo(previous.x, previous.y, (previous.x + point.x) / 2,
      (previous.y + point.y) / 2);
  }
  context.stroke();
}

function ink(context) {
  context.strokeStyle = INK;
  context.lineWidth = LINE_WIDTH;
  context.lineCap = 'round';
  context.lineJoin = 'round';
}

/** Fits the canvas to its box at the screen's pixel density, and draws the strokes again. */
function fit() {
  const box = canvas.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(box.width * ratio);
  canvas.height = Math.round(box.height * ratio);
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  ink(context);
  strokes.forEach((stroke) => draw(context, stroke));
}

function redraw() {
  const context = canvas.getContext('2d');
  context.save();
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.restore();
  strokes.forEach((stroke) => draw(context, stroke));
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return { x: event.clientX - box.left, y: event.clientY - box.top };
}

canvas.addEventListener('pointerdown', (event) => {
  if (locked || !event.isPrimary) {
    return;
  }
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  drawing = [point(event)];
  strokes.push(drawing);
  redraw();
});

canvas.addEventListener('pointermove', (event) => {
  if (!drawing || !event.isPrimary) {
    return;
  }
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  (events.length ? events : [event]).forEach((each) => drawing.push(point(each)));
  redraw();
});

function endStroke() {
  if (!drawing) {
    return;
  }
  drawing = null;
  $('send').disabled = locked || strokes.length === 0;
}
canvas.addEventListener('pointerup', endStroke);
canvas.addEventListener('pointercancel', endStroke);

$('clear').addEventListener('click', () => {
  strokes.length = 0;
  redraw();
  $('send').disabled = true;
  if (page.dataset.state !== 'unusable') {
    show('ready', '');
  }
});

/**
 * The drawing as a PNG data URL: black ink on white, at most EXPORT_MAX_WIDTH pixels wide,
 * halved until it fits MAX_BYTES (a signature is a few kilobytes; this is only a guard).
 */
function exportPng() {
  const box = canvas.getBoundingClientRect();
  let scale = Math.min(2, EXPORT_MAX_WIDTH / box.width);
  for (;;) {
    const out = document.createElement('canvas');
    out.width = Math.max(1, Math.round(box.width * scale));
    out.height = Math.max(1, Math.round(box.height * scale));
    const context = out.getContext('2d');
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, out.width, out.height);
    context.scale(scale, scale);
    ink(context);
    strokes.forEach((stroke) => draw(context, stroke));
    const url = out.toDataURL('image/png');
    if (url.length <= MAX_BYTES || scale < 0.25) {
      return url;
    }
    scale /= 2;
  }
}

function finish(state, message) {
  locked = true;
  $('send').disabled = true;
  $('clear').disabled = true;
  show(state, message);
}

/** Lets the person send again once the wait is over, counting it down. */
async function retryLater(answer) {
  const wait = retryDelay(answer, failures);
  failures += 1;
  const until = Date.now() + wait;
  for (let left = wait; left > 0; left = until - Date.now()) {
    show('retrying', `${plainError(answer)} You can send again in ${inSeconds(left)} s.`);
    await sleep(Math.min(left, 1000));
  }
  $('send').disabled = strokes.length === 0;
  show('ready', `${plainError(answer)} Press "Send signature" to try again.`);
}

$('send').addEventListener('click', async () => {
  $('send').disabled = true;
  show('sending', 'Sending…');
  const answer = await submitSignature(sessionId, exportPng());
  switch (answer.status) {
    case 200:
      finish('sent', 'Thank you, your signature was sent. You can go back to the other screen.');
      return;
    case 409:
      finish('done', 'A signature was already sent for this session. There is nothing more to do here.');
      return;
    case 404:
      finish('expired', 'This session has expired. Ask for a new code on the other screen and scan it again.');
      return;
    case 413:
      $('send').disabled = false;
      show('error', 'The drawing is too large to send. Clear it and sign again.');
      return;
    default:
      if (retryable(answer)) {
        await retryLater(answer);
      } else {
        finish('error', plainError(answer));
      }
  }
});

window.addEventListener('resize', fit);
fit();
if (!SESSION_ID.test(sessionId)) {
  finish('unusable', 'This link is incomplete. Scan the code on the other screen again.');
}
