import { describeDamagedFiles } from "./damaged_files.js";

// a sample of each case; test/integration/damaged_files.test.ts runs them all
describeDamagedFiles(0.04);
