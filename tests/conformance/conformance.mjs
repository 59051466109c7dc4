// Conformance: the official JavaScript clients, @upstash/redis and @upstash/ratelimit, against
// upstash-local.
//
// Usage: UPSTASH_REDIS_REST_URL=http://127.0.0.1:PORT UPSTASH_REDIS_REST_TOKEN=... node conformance.mjs
//
// One line per check; the first mismatch prints what was expected, what came back and the last
// HTTP exchanges the client made, then exits non-zero. tests/conformance.rs runs this against a
// hermetic stack (its own redis-server and upstash-local).
//
// @upstash/ratelimit's scripts carry `#!lua flags=allow-key-locking`, and it calls them by the
// SHA-1 of that text (EVALSHA, then EVAL on NOSCRIPT): its checks show that upstash-local runs
// flagged scripts under their rules and knows them by the client's SHA-1.
//
// The pinned client auto-pipelines by default: most single commands are batched into
// `POST /pipeline`. The checks run with the defaults and again with `enableAutoPipelining: false`
// (one `POST /` per command), and once with `responseEncoding: false`, so that every endpoint is
// exercised with and without `Upstash-Encoding: base64`; the last check verifies that coverage.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis, errors } from "@upstash/redis";

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;
if (!url || !token) {
  console.error("FAIL setup: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
  process.exit(2);
}

// Record the last few HTTP exchanges so that a failure shows the wire, not just the client's view,
// which endpoints were used with which encoding, and the name of every command sent.
const exchanges = [];
const endpointsUsed = new Set();
const commandsSent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const entry = {
    request: `${init.method ?? "GET"} ${input}`,
    encoding: headerOf(init.headers, "upstash-encoding") ?? "(none)",
    body: typeof init.body === "string" ? init.body : String(init.body ?? ""),
  };
  endpointsUsed.add(`${init.method ?? "GET"} ${new URL(input).pathname} encoding=${entry.encoding}`);
  commandsSent.push(...commandNames(entry.body));
  exchanges.push(entry);
  if (exchanges.length > 4) exchanges.shift();
  const response = await realFetch(input, init);
  entry.status = response.status;
  try {
    entry.response = await response.clone().text();
  } catch (error) {
    entry.response = `(unreadable: ${error})`;
  }
  return response;
};

/** The lower-case command names in a request body: one command, or a pipeline's list of them. */
function commandNames(body) {
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const commands = Array.isArray(parsed[0]) ? parsed : [parsed];
  return commands.map((command) => String(command[0]).toLowerCase());
}

function headerOf(headers, name) {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

const prefix = `conformance:${Date.now()}:${process.pid}:`;
const key = (name) => `${prefix}${name}`;

// Default options: base64-encoded responses (`Upstash-Encoding: base64`), auto-pipelining.
const redis = new Redis({ url, token });
// One `POST /` per command, still base64.
const direct = new Redis({ url, token, enableAutoPipelining: false });
// `responseEncoding: false`: plain JSON strings in the responses, one `POST /` per command.
const plain = new Redis({ url, token, responseEncoding: false, enableAutoPipelining: false });

// The per-command checks run with both base64 clients.
const CLIENTS = [
  ["default", redis],
  ["no auto-pipelining", direct],
];

let passed = 0;

async function check(name, body) {
  try {
    await body();
  } catch (error) {
    console.log(`FAIL ${name}`);
    console.error(`\nFAIL ${name}\n${describe(error)}`);
    if (exchanges.length > 0) {
      console.error("\nlast HTTP exchanges (oldest first):");
      for (const e of exchanges) {
        console.error(`  > ${e.request}  Upstash-Encoding: ${e.encoding}`);
        console.error(`  > ${e.body}`);
        console.error(`  < ${e.status ?? "(no response)"} ${e.response ?? ""}`);
      }
    }
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed += 1;
  console.log(`ok   ${name}`);
}

function describe(error) {
  if (error instanceof assert.AssertionError) return error.message;
  return `unexpected ${error?.name ?? "error"}: ${error?.stack ?? error}`;
}

/** Awaits a promise that must reject; returns the error for further assertions. */
async function rejection(promise, what) {
  let value;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  assert.fail(`${what} should reject, but resolved to ${JSON.stringify(value)}`);
}

function assertUpstashError(error, fragment) {
  assert.ok(
    error instanceof errors.UpstashError,
    `expected an UpstashError, got ${error?.name}: ${error?.message}`,
  );
  assert.ok(
    error.message.includes(fragment),
    `expected the error message to contain ${JSON.stringify(fragment)}, got ${JSON.stringify(error.message)}`,
  );
}

const NOT_AN_INTEGER = "ERR value is not an integer or out of range";
// NUL, emoji, accented letters, newline, both quotes and a backslash: none of it is valid JSON,
// so the client's automatic deserialization hands it back untouched.
const AWKWARD = 'nul:\u0000 crab:🦀 family:👩‍👩‍👧 accents:éàüñç Ω newline:\n quotes:"double" \'single\' backslash:\\ end';

// ---- strings, expiry, counters, awkward values --------------------------------------------

for (const [label, client] of CLIENTS) {
  const k = (name) => key(`${label}:${name}`);

  await check(`[${label}] set/get a string`, async () => {
    assert.deepStrictEqual(await client.set(k("greeting"), "hello world"), "OK");
    assert.deepStrictEqual(await client.get(k("greeting")), "hello world");
  });

  await check(`[${label}] set with ex, then ttl is within 1..=100`, async () => {
    assert.deepStrictEqual(await client.set(k("expiring"), "soon gone", { ex: 100 }), "OK");
    const ttl = await client.ttl(k("expiring"));
    assert.ok(Number.isInteger(ttl) && ttl > 0 && ttl <= 100, `ttl ${JSON.stringify(ttl)} not in 1..=100`);
    assert.deepStrictEqual(await client.get(k("expiring")), "soon gone");
    assert.deepStrictEqual(await client.ttl(k("greeting")), -1);
    assert.deepStrictEqual(await client.ttl(k("missing")), -2);
  });

  await check(`[${label}] get of a missing key is null`, async () => {
    assert.deepStrictEqual(await client.get(k("missing")), null);
  });

  await check(`[${label}] incr/incrby`, async () => {
    assert.deepStrictEqual(await client.incr(k("counter")), 1);
    assert.deepStrictEqual(await client.incr(k("counter")), 2);
    assert.deepStrictEqual(await client.incrby(k("counter"), 40), 42);
    assert.deepStrictEqual(await client.incrby(k("counter"), -50), -8);
    // A stored integer comes back as a number (the client JSON-parses results).
    assert.deepStrictEqual(await client.get(k("counter")), -8);
  });

  await check(`[${label}] awkward string (NUL, emoji, accents, newline, quotes, backslash) round-trips`, async () => {
    assert.deepStrictEqual(await client.set(k("awkward"), AWKWARD), "OK");
    assert.deepStrictEqual(await client.get(k("awkward")), AWKWARD);
    assert.deepStrictEqual(await client.strlen(k("awkward")), Buffer.byteLength(AWKWARD, "utf8"));
  });

  await check(`[${label}] a value that is literally "OK" reads back as "OK"`, async () => {
    assert.deepStrictEqual(await client.set(k("ok"), "OK"), "OK");
    assert.deepStrictEqual(await client.get(k("ok")), "OK");
  });

  await check(`[${label}] a value that looks like base64 ("T0s=") is not decoded twice`, async () => {
    assert.deepStrictEqual(await client.set(k("b64"), "T0s="), "OK");
    assert.deepStrictEqual(await client.get(k("b64")), "T0s=");
  });

  await check(`[${label}] a command error rejects with the Redis error text`, async () => {
    assert.deepStrictEqual(await client.set(k("text"), "not a number"), "OK");
    const error = await rejection(client.incr(k("text")), "INCR on a string");
    assertUpstashError(error, NOT_AN_INTEGER);
    // The failed command changed nothing.
    assert.deepStrictEqual(await client.get(k("text")), "not a number");
  });

  await check(`[${label}] a wrong token rejects (401)`, async () => {
    const intruder = new Redis({
      url,
      token: `${token}-wrong`,
      retry: false,
      enableAutoPipelining: client === redis,
    });
    const error = await rejection(intruder.get(k("greeting")), "GET with a wrong token");
    // UpstashError, not UpstashJSONParseError: the 401 body is JSON with an "error" field.
    assert.ok(!(error instanceof errors.UpstashJSONParseError), `401 body is not JSON: ${error.message}`);
    assertUpstashError(error, "Unauthorized");
    const last = exchanges.at(-1);
    assert.deepStrictEqual(last.status, 401, "status of the wrong-token request");
    const body = JSON.parse(last.response);
    assert.ok(typeof body.error === "string" && body.error.length > 0, `401 body ${last.response} has no "error"`);
    assert.ok(!("result" in body), `401 body ${last.response} has a "result"`);
    assert.ok(error.message.startsWith(body.error), `error message ${JSON.stringify(error.message)}`);
  });
}

await check("responseEncoding: false: same values, errors and pipelines", async () => {
  assert.deepStrictEqual(await plain.get(key("default:awkward")), AWKWARD);
  assert.deepStrictEqual(await plain.get(key("default:ok")), "OK");
  assert.deepStrictEqual(await plain.get(key("default:b64")), "T0s=");
  assert.deepStrictEqual(await plain.get(key("missing")), null);
  assert.deepStrictEqual(await plain.set(key("plain"), AWKWARD), "OK");
  assert.deepStrictEqual(await redis.get(key("plain")), AWKWARD);
  assert.deepStrictEqual(await plain.incrby(key("plain-counter"), 2), 2);
  assertUpstashError(await rejection(plain.incr(key("plain")), "INCR on a string"), NOT_AN_INTEGER);
  assert.deepStrictEqual(
    await plain.pipeline().get(key("default:greeting")).incr(key("plain-counter")).get(key("missing")).exec(),
    ["hello world", 3, null],
  );
  assert.deepStrictEqual(
    await plain.multi().set(key("plain-tx"), AWKWARD).get(key("plain-tx")).incr(key("plain")).exec({ keepErrors: true }),
    [
      { error: undefined, result: "OK" },
      { error: undefined, result: AWKWARD },
      { error: NOT_AN_INTEGER, result: undefined },
    ],
  );
});

// ---- hashes and JSON values -----------------------------------------------------------------

for (const [label, client] of CLIENTS) {
  const k = (name) => key(`${label}:${name}`);

  await check(`[${label}] hset/hgetall`, async () => {
    const fields = { name: "Zoë 🦀", visits: 3, note: AWKWARD };
    assert.deepStrictEqual(await client.hset(k("hash"), fields), 3);
    assert.deepStrictEqual(await client.hgetall(k("hash")), fields);
    assert.deepStrictEqual(await client.hget(k("hash"), "name"), "Zoë 🦀");
    assert.deepStrictEqual(await client.hgetall(k("missing")), null);
  });

  await check(`[${label}] a JSON object value round-trips (automatic (de)serialization)`, async () => {
    const value = {
      id: "user-1",
      score: 12.5,
      tags: ["a", "ü", "🦀"],
      nested: { ok: true, none: null, text: 'line\nbreak "quoted" \\ back' },
    };
    assert.deepStrictEqual(await client.set(k("json"), value), "OK");
    assert.deepStrictEqual(await client.get(k("json")), value);
    // On the wire it is a JSON string.
    assert.deepStrictEqual(await client.strlen(k("json")), Buffer.byteLength(JSON.stringify(value), "utf8"));
    // Inside a hash too.
    assert.deepStrictEqual(await client.hset(k("json-hash"), { doc: value }), 1);
    assert.deepStrictEqual(await client.hgetall(k("json-hash")), { doc: value });
  });
}

// ---- pipelines ------------------------------------------------------------------------------

await check("pipeline of several commands", async () => {
  const results = await redis
    .pipeline()
    .set(key("p:string"), "pipelined")
    .incr(key("p:counter"))
    .incrby(key("p:counter"), 9)
    .get(key("p:string"))
    .get(key("missing"))
    .hset(key("p:hash"), { field: "value" })
    .hgetall(key("p:hash"))
    .set(key("p:ok"), "OK")
    .get(key("p:ok"))
    .exec();
  assert.deepStrictEqual(results, ["OK", 1, 10, "pipelined", null, 1, { field: "value" }, "OK", "OK"]);
});

await check("pipeline with a failing command rejects (no keepErrors)", async () => {
  const error = await rejection(
    redis
      .pipeline()
      .set(key("p:text"), "not a number")
      .incr(key("p:text"))
      .set(key("p:after"), "ran")
      .exec(),
    "pipeline with INCR on a string",
  );
  assertUpstashError(error, `Command 2 [ incr ] failed: ${NOT_AN_INTEGER}`);
  // A pipeline is not a transaction: the commands around the failed one still ran.
  assert.deepStrictEqual(await redis.get(key("p:text")), "not a number");
  assert.deepStrictEqual(await redis.get(key("p:after")), "ran");
});

await check("pipeline with a failing command, exec({ keepErrors: true })", async () => {
  const results = await redis
    .pipeline()
    .set(key("p:text2"), "still not a number")
    .incr(key("p:text2"))
    .get(key("p:text2"))
    .exec({ keepErrors: true });
  assert.deepStrictEqual(results, [
    { error: undefined, result: "OK" },
    { error: NOT_AN_INTEGER, result: undefined },
    { error: undefined, result: "still not a number" },
  ]);
});

// ---- transactions ---------------------------------------------------------------------------

await check("multi/exec", async () => {
  const results = await redis
    .multi()
    .set(key("tx:string"), "in a transaction")
    .incr(key("tx:counter"))
    .incrby(key("tx:counter"), 4)
    .get(key("tx:string"))
    .get(key("missing"))
    .exec();
  assert.deepStrictEqual(results, ["OK", 1, 5, "in a transaction", null]);
});

await check("multi/exec with a failing command: per-command error, the rest applied", async () => {
  const results = await redis
    .multi()
    .set(key("tx:text"), "words")
    .incr(key("tx:text"))
    .set(key("tx:after"), "applied")
    .exec({ keepErrors: true });
  assert.deepStrictEqual(results, [
    { error: undefined, result: "OK" },
    { error: NOT_AN_INTEGER, result: undefined },
    { error: undefined, result: "OK" },
  ]);
  assert.deepStrictEqual(await redis.get(key("tx:after")), "applied");
});

// ---- scripts --------------------------------------------------------------------------------

// The run's prefix in a comment makes the script (and its SHA-1) new to this Redis.
const SCRIPT = `-- ${prefix}
local n = redis.call("INCRBY", KEYS[1], ARGV[1])
return {KEYS[1], ARGV[2], n}`;
const SCRIPT_SHA = createHash("sha1").update(SCRIPT).digest("hex");

for (const [label, client] of CLIENTS) {
  const k = (name) => key(`${label}:${name}`);

  await check(`[${label}] eval`, async () => {
    assert.deepStrictEqual(await client.eval(SCRIPT, [k("script:eval")], [5, "café 🦀"]), [
      k("script:eval"),
      "café 🦀",
      5,
    ]);
    assert.deepStrictEqual(await client.eval("return nil", [], []), null);
    assert.deepStrictEqual(await client.eval("return 'OK'", [], []), "OK");
  });

  await check(`[${label}] scriptLoad then evalsha`, async () => {
    assert.deepStrictEqual(await client.scriptLoad(SCRIPT), SCRIPT_SHA);
    assert.deepStrictEqual(await client.evalsha(SCRIPT_SHA, [k("script:sha")], [7, "x"]), [
      k("script:sha"),
      "x",
      7,
    ]);
    assert.deepStrictEqual(await client.evalsha(SCRIPT_SHA, [k("script:sha")], [1, "y"]), [
      k("script:sha"),
      "y",
      8,
    ]);
  });

  await check(`[${label}] evalsha of an unknown script rejects with NOSCRIPT`, async () => {
    const unknown = createHash("sha1").update(`${prefix}${label}:never loaded`).digest("hex");
    const error = await rejection(client.evalsha(unknown, [], []), "EVALSHA of an unknown script");
    assertUpstashError(error, "NOSCRIPT");
  });

  await check(`[${label}] createScript: EVALSHA, NOSCRIPT fallback to EVAL, then EVALSHA`, async () => {
    const source = `-- ${prefix}${label}:createScript
return {ARGV[1], redis.call("INCR", KEYS[1])}`;
    const sha = createHash("sha1").update(source).digest("hex");
    // Not yet known to Redis, so the first exec goes EVALSHA -> NOSCRIPT -> EVAL.
    assert.deepStrictEqual(await client.scriptExists(sha), [0]);
    const script = client.createScript(source);
    assert.deepStrictEqual(await script.exec([k("script:created")], ["first"]), ["first", 1]);
    assert.deepStrictEqual(await script.exec([k("script:created")], ["second"]), ["second", 2]);
    assert.deepStrictEqual(await script.eval([k("script:created")], ["third"]), ["third", 3]);
  });
}

// ---- booleans ------------------------------------------------------------------------------

// Values exactly as stored, not parsed back from JSON.
const raw = new Redis({ url, token, automaticDeserialization: false, enableAutoPipelining: false });

for (const [label, client] of CLIENTS) {
  const k = (name) => key(`${label}:${name}`);

  await check(`[${label}] hset with boolean values stores "true" and "false"`, async () => {
    assert.deepStrictEqual(await client.hset(k("flags"), { off: false, on: true }), 2);
    assert.deepStrictEqual(await raw.hget(k("flags"), "off"), "false");
    assert.deepStrictEqual(await raw.hget(k("flags"), "on"), "true");
    assert.deepStrictEqual(await client.hgetall(k("flags")), { off: false, on: true });
  });
}

// ---- @upstash/ratelimit ---------------------------------------------------------------------

// Windows of an hour, so that no window ends while a check runs.
const LIMITERS = [
  ["fixed window", () => Ratelimit.fixedWindow(3, "1 h")],
  ["sliding window", () => Ratelimit.slidingWindow(3, "1 h")],
  ["token bucket", () => Ratelimit.tokenBucket(1, "1 h", 3)],
];

for (const [label, client] of CLIENTS) {
  for (const [name, limiter] of LIMITERS) {
    await check(`[${label}] ratelimit ${name}: limit, getRemaining, resetUsedTokens`, async () => {
      // No ephemeral cache: every call asks Redis.
      const ratelimit = new Ratelimit({
        redis: client,
        limiter: limiter(),
        prefix: key(`ratelimit:${label}:${name}`),
        ephemeralCache: false,
      });
      const sentBefore = commandsSent.length;
      const started = Date.now();
      const decisions = [];
      for (let i = 0; i < 4; i += 1) decisions.push(await ratelimit.limit("user-1"));
      assert.deepStrictEqual(
        decisions.map(({ success, limit, remaining, reason }) => ({ success, limit, remaining, reason })),
        [
          { success: true, limit: 3, remaining: 2, reason: undefined },
          { success: true, limit: 3, remaining: 1, reason: undefined },
          { success: true, limit: 3, remaining: 0, reason: undefined },
          { success: false, limit: 3, remaining: 0, reason: undefined },
        ],
      );
      for (const { reset } of decisions) {
        assert.ok(reset > started && reset <= Date.now() + 3_600_000, `reset ${reset} is not within the hour`);
      }
      // The flagged script went to Redis by the SHA-1 of its text: at most one EVAL (the fallback
      // of the first call, when Redis did not know it yet), then EVALSHA only.
      const sent = commandsSent.slice(sentBefore);
      assert.ok(sent.filter((c) => c === "eval").length <= 1, `more than one EVAL: ${sent}`);
      assert.ok(sent.filter((c) => c === "evalsha").length >= 4, `too few EVALSHA: ${sent}`);

      const remaining = await ratelimit.getRemaining("user-1");
      assert.deepStrictEqual([remaining.remaining, remaining.limit], [0, 3]);
      assert.ok(remaining.reset > started, `getRemaining reset ${remaining.reset}`);
      assert.deepStrictEqual((await ratelimit.getRemaining("user-2")).remaining, 3);

      await ratelimit.resetUsedTokens("user-1");
      assert.deepStrictEqual((await ratelimit.getRemaining("user-1")).remaining, 3);
      const again = await ratelimit.limit("user-1");
      assert.deepStrictEqual([again.success, again.remaining], [true, 2]);
    });
  }
}

// ---- coverage -------------------------------------------------------------------------------

await check("every endpoint was exercised with and without base64", async () => {
  const expected = [];
  for (const path of ["/", "/pipeline", "/multi-exec"]) {
    for (const encoding of ["base64", "(none)"]) expected.push(`POST ${path} encoding=${encoding}`);
  }
  assert.deepStrictEqual([...endpointsUsed].sort(), expected.sort());
});

// Best effort: leave nothing behind on a shared server.
try {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
} catch (error) {
  console.error(`(cleanup failed: ${error?.message ?? error})`);
}

console.log(`${passed} passed, 0 failed`);
