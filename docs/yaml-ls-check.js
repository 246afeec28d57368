// Checks docs/spec.schema.json in the real YAML language server (the engine of VS Code's YAML
// extension and of most editors' YAML support), as an editor would use it through the
// `# yaml-language-server: $schema=...` first line. Not part of the test suite (it needs node
// and an npm install); run it after changing archcalc/spec/schema.py:
//
//   cd /tmp && npm install yaml-language-server vscode-languageserver-textdocument
//   NODE_PATH=/tmp/node_modules node docs/yaml-ls-check.js .
//
// It exits 1 when a shipped spec gets a diagnostic, a bad spec gets none of the expected ones,
// or completion misses an op, an attribute or a block parameter.
const fs = require('fs');
const path = require('path');
const { getLanguageService } = require('yaml-language-server/lib/umd/languageservice/yamlLanguageService');
const { TextDocument } = require('vscode-languageserver-textdocument');
const { URI } = require('vscode-uri');

const repo = path.resolve(process.argv[2] || '.');
const schema = JSON.parse(fs.readFileSync(path.join(repo, 'docs', 'spec.schema.json'), 'utf8'));
const service = getLanguageService({
  schemaRequestService: (uri) => Promise.resolve(fs.readFileSync(URI.parse(uri).fsPath, 'utf8')),
  workspaceContext: {
    resolveRelativePath: (relative, resource) =>
      URI.file(path.resolve(path.dirname(URI.parse(resource).fsPath), relative)).toString(),
  },
});
service.configure({ validate: true, completion: true, hover: true, schemas: [] });

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}

// the spec sits in specs/ (or specs/zoo/), so the first line points at the schema from there;
// the server caches a parsed document by its URI and version, so each text gets its own version
let version = 0;
function documentFor(file, text) {
  const relative = path.relative(path.dirname(file), path.join(repo, 'docs', 'spec.schema.json'));
  const modeline = `# yaml-language-server: $schema=${relative}\n`;
  version += 1;
  return TextDocument.create(URI.file(file).toString(), 'yaml', version, modeline + text);
}

async function labels(file, text, line, character) {
  const completion = await service.doComplete(documentFor(file, text), { line: line + 1, character }, false);
  return completion.items.map((item) => item.label);
}

(async () => {
  const folders = ['specs', path.join('specs', 'zoo')].filter((f) => fs.existsSync(path.join(repo, f)));
  for (const folder of folders) {
    for (const name of fs.readdirSync(path.join(repo, folder)).filter((f) => f.endsWith('.yaml'))) {
      const file = path.join(repo, folder, name);
      const diagnostics = await service.doValidation(documentFor(file, fs.readFileSync(file, 'utf8')), false);
      check(diagnostics.length === 0, `${folder}/${name} validates` +
        diagnostics.slice(0, 3).map((d) => `\n       line ${d.range.start.line}: ${d.message}`).join(''));
    }
  }
  const scratch = path.join(repo, 'specs', 'scratch.yaml');
  const bad = 'input: {channels: 3, resolution: 32}\nlayers:\n  - {op: conv2d, out: 8, kernal: 3}\n' +
    '  - {block: bottleneck, t: 6, c: 8, n: 0}\nwidht: 1\n';
  const messages = (await service.doValidation(documentFor(scratch, bad), false)).map((d) => d.message).join(' | ');
  for (const expected of ['kernal', 'minimum', 'widht']) {
    check(messages.includes(expected), `a bad spec is flagged: ${expected} (${messages})`);
  }
  const ops = await labels(scratch, 'input: {channels: 3, resolution: 32}\nlayers:\n  - op: \n', 2, 8);
  const allOps = schema.definitions.layer_row.properties.op.anyOf[0].enum;
  check(allOps.every((op) => ops.includes(op)), `completion offers every op (${ops.length} of ${allOps.length})`);
  const attrs = await labels(scratch, 'input: {channels: 3, resolution: 32}\nlayers:\n  - op: conv2d\n    \n', 3, 4);
  check(['out', 'kernel', 'stride', 'padding', 'groups'].every((a) => attrs.includes(a)),
    `completion offers conv2d's attributes (${attrs.join(', ')})`);
  const params = await labels(scratch, 'input: {channels: 3, resolution: 32}\nlayers:\n  - block: bottleneck\n    \n', 3, 4);
  check(['t', 'c', 's', 'n'].every((p) => params.includes(p)), `completion offers bottleneck's parameters (${params.join(', ')})`);
  process.exit(failures ? 1 : 0);
})();
