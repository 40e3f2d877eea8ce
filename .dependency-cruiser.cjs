// The layering of docs/architecture.md, checked by dependency-cruiser in `npm test` (npm run
// lint:layers). Each rule is named after the folder it governs and lists what that folder may
// import; everything else of ours is forbidden. Tests (*.test.ts) and the shared test helpers
// (testing/) may import anything, and the wiring is the one place that imports every layer.
// A test (packages/server/src/layering.test.ts) runs these rules over a fixture tree with
// deliberate violations and checks each is reported.

const SRC = '^packages/server/src/';
const CORE = '^packages/core/';
const notTest = '\\.test\\.ts$';

/** A rule: files under `folder` may import only `allowed` folders of the server (and the core). */
function layer(folder, allowed, comment) {
  const ours = [folder, ...allowed].map((f) => `${SRC}${f}/`);
  return {
    name: folder,
    severity: 'error',
    comment: `${folder}/ ${comment}; it may import ${allowed.length === 0 ? 'nothing of ours but the core' : `${allowed.map((f) => `${f}/`).join(', ')} and the core`}`,
    from: { path: `${SRC}${folder}/`, pathNot: notTest },
    to: { path: '^packages/', pathNot: [CORE, ...ours].join('|') },
  };
}

/** The faces: every way in calls the service, through what service/contracts.ts exports, and nothing below it. */
function face(folder) {
  const rule = layer(folder, ['service'], 'is a face: it calls the service through service/contracts.ts, never the store, config internals, a connector or the wiring');
  return { ...rule, to: { path: '^packages/', pathNot: [CORE, `${SRC}${folder}/`, `${SRC}service/contracts\\.[jt]s$`].join('|') } };
}

module.exports = {
  forbidden: [
    {
      name: 'core',
      severity: 'error',
      comment: 'core/ is the pure rules: it imports nothing of ours',
      from: { path: CORE, pathNot: notTest },
      to: { path: '^packages/server/' },
    },
    layer('config', [], 'loads and validates portcullis.yaml; system kinds are handed to it, so it imports no connector'),
    layer('store', [], 'is the Store port and its adapters'),
    layer('vault', ['config', 'store'], 'seals system credentials in the store'),
    layer('connectors', ['config', 'store', 'vault'], 'is one folder per system kind; an adapter never imports the service or a face'),
    layer('audit-log', ['config', 'store'], 'signs checkpoints of the audit tree and publishes them outside the store'),
    layer('channels', ['config', 'store', 'vault', 'connectors'], 'tells people about alerts (signed webhooks, email); the service reaches it only through the core\'s Notifier port, which the wiring fills'),
    layer('metrics', [], 'counts for Prometheus through the core\'s MetricsRecorder port'),
    layer('service', ['config', 'store', 'vault', 'connectors', 'audit-log'], 'is the use cases, the only way in'),
    face('http'),
    face('mcp-gateway'),
    face('cli'),
    face('demo'),
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no import cycle, between folders or files',
      from: { pathNot: notTest },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/|/testing/fixtures/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
