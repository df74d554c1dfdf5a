// The loopml command: the only file that reads process.argv and sets the exit status.
import { CommanderError } from "commander";
import { createProgram } from "./program.ts";
import { exitCodeFor, reportError } from "./output.ts";

const program = await createProgram(process.argv);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed help, the version or its usage error.
    process.exitCode = e.exitCode;
  } else {
    reportError(e, process.argv.includes("--json"));
    process.exitCode = exitCodeFor(e);
  }
}
