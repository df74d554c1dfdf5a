import { defineConfig } from "vitest/config";

// Suites that start real servers (PostgreSQL, s3rver) share global setup in test/setup/.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
