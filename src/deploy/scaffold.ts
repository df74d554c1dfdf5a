// The files of a new loopml project (pure: names and contents, no IO).

export interface ScaffoldFile {
  readonly path: string;
  readonly content: string;
  readonly executable?: boolean;
}

export function projectScaffold(name: string): ScaffoldFile[] {
  return [
    { path: "loopml.yaml", content: loopmlYaml(name) },
    { path: "package.json", content: `${JSON.stringify(packageJson(name), null, 2)}\n` },
    { path: "Makefile", content: MAKEFILE },
    { path: ".gitignore", content: ".loopml/\nnode_modules/\nbuild/\n" },
    { path: "data/sample.csv", content: SAMPLE_CSV },
    { path: "scripts/prepare.js", content: PREPARE_JS },
    { path: "test/prepare.test.js", content: PREPARE_TEST },
    { path: ".github/workflows/ci.yml", content: GITHUB_CI },
    { path: "README.md", content: readme(name) },
  ];
}

function loopmlYaml(name: string): string {
  return `# loopml desired state for ${name}. Everything below can also be set by LOOPML_* environment variables.
project: ${name}
store:
  metadata: sqlite:.loopml/loopml.db   # or postgres://USER@HOST:5432/DB
  artifacts: file:.loopml/objects      # or s3://BUCKET/PREFIX
datasets:
  sample:
    path: data/sample.csv
pipelines:
  train:
    stages:
      prepare:
        run: node scripts/prepare.js data/sample.csv build/prepared.csv
        deps: [data/sample.csv, scripts/prepare.js]
        outs: [build/prepared.csv]
`;
}

function packageJson(name: string): Record<string, unknown> {
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: { lint: "make lint", test: "make test" },
  };
}

// Recipes use only Node.js itself, so `make test` works offline right after `loopml init`.
const MAKEFILE = `.PHONY: install lint test

install:
\tnpm install --no-audit --no-fund

lint:
\tfor f in scripts/*.js test/*.js; do node --check "$$f" || exit 1; done

test: lint
\tnode --test test/
`;

const SAMPLE_CSV = `sepal_length,sepal_width,petal_length,petal_width,species
5.1,3.5,1.4,0.2,setosa
4.9,3.0,1.4,0.2,setosa
7.0,3.2,4.7,1.4,versicolor
6.4,3.2,4.5,1.5,versicolor
6.3,3.3,6.0,2.5,virginica
5.8,2.7,5.1,1.9,virginica
5.0,,1.4,0.2,setosa
`;

const PREPARE_JS = `// Drops rows with a missing value: the first stage of the sample pipeline.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";

export function dropIncompleteRows(csv) {
  const [header, ...rows] = csv.trim().split("\\n");
  const width = header.split(",").length;
  const complete = rows.filter((r) => {
    const cells = r.split(",");
    return cells.length === width && cells.every((c) => c.trim() !== "");
  });
  return [header, ...complete].join("\\n") + "\\n";
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error("usage: node scripts/prepare.js INPUT.csv OUTPUT.csv");
    process.exit(2);
  }
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, dropIncompleteRows(readFileSync(input, "utf8")));
}
`;

const PREPARE_TEST = `import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { dropIncompleteRows } from "../scripts/prepare.js";

test("drops rows with a missing cell and keeps the header", () => {
  const out = dropIncompleteRows("a,b\\n1,2\\n3,\\n4,5\\n");
  assert.equal(out, "a,b\\n1,2\\n4,5\\n");
});

test("the sample data has one incomplete row", () => {
  const csv = readFileSync(new URL("../data/sample.csv", import.meta.url), "utf8");
  const before = csv.trim().split("\\n").length;
  const after = dropIncompleteRows(csv).trim().split("\\n").length;
  assert.equal(before - after, 1);
});
`;

const GITHUB_CI = `name: ci
on:
  push:
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: make install
      - run: make test
`;

function readme(name: string): string {
  return `# ${name}

A machine-learning project managed by loopml.

    make test            # lint and test the pipeline code
    loopml audit verify  # check the audit trail of this project

\`loopml.yaml\` declares the project's stores, datasets and pipelines.
`;
}
