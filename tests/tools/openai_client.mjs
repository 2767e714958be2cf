// Checks build/dsv3-server with the official `openai` Node package, unchanged.
// Optional, run by hand (make test does not need node):
//
//   mkdir -p /tmp/oai && (cd /tmp/oai && npm install openai)
//   build/dsv3-server -m models/dsv3-kjv.gguf --port 8080 --api-key sk-local &
//   NODE_PATH=/tmp/oai/node_modules node tests/tools/openai_client.mjs 8080 sk-local
//
// With a server on tests/data/v3_tools.gguf (a model scripted to answer with
// one tool call) and a third argument `tools`, it checks the client's view of
// tool calls, streamed and not, and of n, logprobs and echo instead.
//
// (NODE_PATH does not reach ES module imports, so the package is loaded
// through createRequire.) Exits non-zero when an answer is not what the
// client should see.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), 'x.js'));
const OpenAI = require('openai').default ?? require('openai');
const port = process.argv[2] || '8080';
const key = process.argv[3] || 'sk-local';
const baseURL = `http://127.0.0.1:${port}/v1`;
const client = new OpenAI({ baseURL, apiKey: key, maxRetries: 0 });
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

const ids = [];
for await (const m of await client.models.list()) ids.push(m.id);
check(ids.length === 1, `models.list(): ${JSON.stringify(ids)}`);

if (process.argv[4] === 'tools') {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
  const ask = { model: ids[0], messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, temperature: 0 };
  const answer = await client.chat.completions.create(ask);
  const call = answer.choices[0].message.tool_calls?.[0];
  check(answer.choices[0].finish_reason === 'tool_calls' && call?.function.name === 'get_weather' &&
        JSON.parse(call.function.arguments).city === 'Paris', `tool call: ${JSON.stringify(answer.choices[0].message)}`);
  const parts = [];
  let finish = null;
  for await (const chunk of await client.chat.completions.create({ ...ask, stream: true })) {
    for (const c of chunk.choices[0]?.delta?.tool_calls ?? []) parts.push(c);
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  check(parts.length === 1 && parts[0].function.name === 'get_weather' && finish === 'tool_calls',
        `streamed tool call: ${JSON.stringify(parts)}`);
  const back = await client.chat.completions.create({
    ...ask, messages: [...ask.messages, answer.choices[0].message,
                       { role: 'tool', tool_call_id: call?.id, content: '21 degrees' }] });
  check(back.usage.prompt_tokens > answer.usage.prompt_tokens, `the call sent back: ${JSON.stringify(back.usage)}`);
  const scored = await client.completions.create({ model: ids[0], prompt: 'hello there', max_tokens: 0, echo: true,
                                                   logprobs: 1 });
  check(scored.choices[0].text === 'hello there' && scored.choices[0].logprobs.tokens.join('') === 'hello there',
        `echo with logprobs: ${JSON.stringify(scored.choices[0].logprobs)}`);
  const several = await client.chat.completions.create({ ...ask, tools: undefined, n: 2, max_tokens: 4,
                                                          temperature: 1, logprobs: true, top_logprobs: 2 });
  check(several.choices.length === 2 && several.choices[1].index === 1 &&
        several.choices[0].logprobs.content.every((e) => e.top_logprobs.length === 2),
        `n = 2 with logprobs: ${JSON.stringify(several.choices.map((c) => c.message.content))}`);
  console.log(failures ? `${failures} failed` : 'all passed');
  process.exit(failures ? 1 : 0);
}

// cache_prompt: false (an extension) makes both runs prefill alike, so the
// greedy texts compare exactly.
const request = {
  model: ids[0],
  messages: [{ role: 'user', content: 'Who made the heaven and the earth?' }],
  max_tokens: 16,
  temperature: 0,
  cache_prompt: false,
};
const reply = await client.chat.completions.create(request);
const text = reply.choices[0].message.content;
check(typeof text === 'string' && text.length > 0 && reply.choices[0].finish_reason === 'length' &&
      reply.usage.completion_tokens === 16, `chat: ${JSON.stringify(text)} ${JSON.stringify(reply.usage)}`);

const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
let streamed = '';
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length) streamed += chunk.choices[0].delta.content ?? '';
  if (chunk.usage) usage = chunk.usage;
}
check(streamed === text && usage && usage.completion_tokens === 16, `stream equals the answer: ${JSON.stringify(streamed)}`);

const completion = await client.completions.create({ model: ids[0], prompt: 'And God said', max_tokens: 8, seed: 3 });
check(typeof completion.choices[0].text === 'string' && completion.usage.completion_tokens === 8,
      `completions: ${JSON.stringify(completion.choices[0].text)}`);

try {
  await client.chat.completions.create({ model: ids[0], messages: 'not an array' });
  check(false, 'a bad request raised nothing');
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.status === 400, `bad request: ${e.status} ${e.message}`);
}
try {
  await new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).models.list();
  check(false, 'a wrong key raised nothing');
} catch (e) {
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, `wrong key: ${e.status}`);
}
console.log(failures ? `${failures} failed` : 'all passed');
process.exit(failures ? 1 : 0);
