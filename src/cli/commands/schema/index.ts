// loopml schema: the JSON Schema of loopml.yaml, generated from the same zod types that validate it.
import type { Command } from "commander";
import { desiredStateJsonSchema } from "../../../loop/desired-state.ts";

export function registerSchemaCommand(program: Command): void {
  program
    .command("schema")
    .description("print the JSON Schema of loopml.yaml (for editors: yaml-language-server, VS Code)")
    .addHelpText(
      "after",
      "\nExample:\n  loopml schema > loopml.schema.json\n  # then the first line of loopml.yaml:\n  # yaml-language-server: $schema=./loopml.schema.json",
    )
    .exitOverride()
    .action(() => {
      process.stdout.write(`${JSON.stringify(desiredStateJsonSchema(), null, 2)}\n`);
    });
}
