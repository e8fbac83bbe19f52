// Parses AsyncAPI documents with the AsyncAPI project's own parser; prints their error diagnostics.
// usage: node validate_asyncapi.cjs <node_modules dir> <document.json>...
const path = require("path");
const fs = require("fs");

const { Parser } = require(path.resolve(process.argv[2], "@asyncapi/parser"));

async function main() {
  const parser = new Parser();
  const report = {};
  for (const file of process.argv.slice(3)) {
    const { diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"));
    // Severity 0 is an error: a document with one does not parse.
    report[file] = diagnostics
      .filter((d) => d.severity === 0)
      .map((d) => `${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
  }
  process.stdout.write(JSON.stringify(report));
}

main().catch((err) => {
  process.stderr.write(String(err.stack || err));
  process.exit(1);
});
