// Debian's Chromium for the browser tests (see STACK.md): nothing is downloaded at run time.
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium, headless, with nothing that reaches the network (STACK.md's flags). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}
