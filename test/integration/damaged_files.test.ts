import { describeDamagedFiles } from "../io/damaged_files.js";

describeDamagedFiles(1);
