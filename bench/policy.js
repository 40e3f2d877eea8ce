/**
 * Policy decision latency: the core's `evaluatePolicy` over a policy of 1,000 workflows and
 * 10,000 grants with field-level writes, against the plain-Map floor, Cedar (wasm) and
 * node-casbin, in one process. Each tinybench sample times one decision (timer overhead
 * calibrated and subtracted by tinybench); the requests rotate through a shared stream over
 * all workflows, so caches see the whole policy, not one hot entry. Before timing, every
 * engine must agree with the core on every request of the stream.
 */
import { Bench } from 'tinybench';
import { buildCasbin, buildCedar, buildMapFloor, buildPolicyFixture } from './policy-fixture.js';
import { coreModule, round, row } from './lib.js';

/**
 * Times each engine one decision per sample, and again as 64-call batch means (when
 * `batches`); engines measured together share one Bench and so one timer calibration.
 * Returns p50/p99/mean in µs per engine.
 */
async function measure(engines, stream, { timeMs, batches }) {
  let i = 0;
  let sink = 0;
  const n = stream.length;
  const bench = new Bench({ name: 'policy', time: timeMs, warmupTime: Math.min(250, timeMs / 4), subtractTimerOverhead: true, throws: true });
  for (const [name, decide] of engines) {
    bench.add(name, () => {
      const item = stream[i];
      i = i + 1 === n ? 0 : i + 1;
      if (decide(item.workflow, item.request)) sink += 1;
    }, { async: false });
    if (batches) {
      bench.add(`${name} (64-call batches)`, () => {
        const start = bench.now();
        for (let k = 0; k < 64; k += 1) {
          const item = stream[i];
          i = i + 1 === n ? 0 : i + 1;
          if (decide(item.workflow, item.request)) sink += 1;
        }
        const elapsed = bench.now() - start;
        return { overriddenDuration: elapsed / 64, overriddenIterationCost: elapsed };
      }, { async: false });
    }
  }
  await bench.run();
  const us = (ms) => round(ms * 1000, 4);
  const result = (name) => {
    const r = bench.getTask(name)?.result;
    if (r?.state !== 'completed') throw new Error(`policy benchmark ${name} did not complete: ${r?.state}`);
    return r;
  };
  if (sink < 0) console.error(sink); // keeps the decisions observable
  return engines.map(([name]) => {
    const single = result(name);
    const batched = batches ? result(`${name} (64-call batches)`) : undefined;
    return {
      name,
      samples: single.latency.samplesCount,
      p50us: us(single.latency.p50), p99us: us(single.latency.p99), meanUs: us(single.latency.mean),
      batchMeanP50us: batched === undefined ? null : us(batched.latency.p50), batchMeanP99us: batched === undefined ? null : us(batched.latency.p99),
      timerOverheadUs: bench.timerOverhead === undefined ? null : us(bench.timerOverhead),
    };
  });
}

/** Runs the policy benchmark; returns rows for the table and details for the JSON. */
export async function runPolicyBenchmark({ quick }) {
  const core = await coreModule();
  const fixture = buildPolicyFixture(core);
  const { policies, stream, context } = fixture;
  const portcullis = (workflow, request) => core.evaluatePolicy(policies.get(workflow), request, context).outcome === 'allow';
  const floor = buildMapFloor(core, fixture);

  // [name, decide, { check: requests checked for agreement, timeMs, batches }]
  const fast = { check: stream.length, timeMs: quick ? 400 : 2500, batches: true };
  const engines = [['portcullis evaluatePolicy', portcullis, fast], ['plain Map + field subset', floor, fast]];
  const notes = [];
  try {
    const cedar = await import('@cedar-policy/cedar-wasm/nodejs');
    // Hundreds of µs per call: a few thousand samples are plenty.
    engines.push([`Cedar ${cedar.getCedarVersion()} (wasm)`, buildCedar(core, cedar, fixture), { check: 1024, timeMs: quick ? 300 : 2000, batches: false }]);
  } catch (error) {
    notes.push(`Cedar not measured: ${error.message}`);
  }
  let casbinLines;
  try {
    const casbin = await import('casbin');
    const built = await buildCasbin(core, casbin, fixture);
    casbinLines = built.lines;
    // casbin evaluates its matcher against every policy line per call (tens of ms here).
    engines.push(['node-casbin', built.decide, { check: quick ? 16 : 64, timeMs: quick ? 300 : 2000, batches: false }]);
  } catch (error) {
    notes.push(`casbin not measured: ${error.message}`);
  }

  // Same questions, same answers: a benchmark of engines that disagree measures nothing.
  const expected = stream.map((item) => portcullis(item.workflow, item.request));
  for (const [name, decide, { check }] of engines) {
    for (let k = 0; k < check; k += 1) {
      const item = stream[k];
      if (decide(item.workflow, item.request) !== expected[k]) throw new Error(`${name} disagrees with evaluatePolicy on request ${k}`);
    }
  }
  const allowedShare = expected.filter(Boolean).length / expected.length;

  // The core and its floor in one Bench (one timer calibration); each reference engine alone.
  const results = await measure(engines.slice(0, 2), stream, fast);
  for (const engine of engines.slice(2)) results.push(...(await measure([engine], stream, engine[2])));
  for (const r of results) console.error(`  policy: ${r.name}: p50 ${r.p50us} µs, p99 ${r.p99us} µs (${r.samples} samples)`);
  const [ours, base] = results;
  const reference = results.slice(2).map((r) => `${r.name} p50 ${r.p50us} µs / p99 ${r.p99us} µs`).join('; ');
  const rows = [
    row({
      id: 'policy.p50', figure: 'policy decision, 1,000 workflows / 10,000 grants, p50',
      value: ours.p50us, unit: 'µs', baseline: 'plain Map + field subset, p50', baselineValue: base.p50us,
      ratio: ours.p50us / base.p50us, target: 'p99 ≤ 5 µs (see p99 row)', pass: null,
      note: reference,
    }),
    row({
      id: 'policy.p99', figure: 'policy decision, 1,000 workflows / 10,000 grants, p99',
      value: ours.p99us, unit: 'µs', baseline: 'plain Map + field subset, p99', baselineValue: base.p99us,
      ratio: ours.p99us / base.p99us, target: '≤ 5 µs and ≤ 5× the floor', pass: ours.p99us <= 5 && ours.p99us <= 5 * Math.max(base.p99us, 1),
      note: reference,
    }),
  ];
  return {
    rows,
    details: {
      workflows: policies.size, grants: fixture.grantCount, requests: stream.length, allowedShare: round(allowedShare, 3),
      casbinPolicyLines: casbinLines ?? null, engines: results, notes,
    },
  };
}
