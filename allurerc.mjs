// Allure 3 configuration for erdrill's drill report (`erdrill report` runs
// `node_modules/.bin/allure generate <results> --config allurerc.mjs --output <dir>`).
// reports/build.py passes paths through ERDRILL_* variables; the defaults below apply
// when allure is run by hand from the repository root.
import { existsSync, readFileSync } from "node:fs";

const env = process.env;
const categoriesFile = env.ERDRILL_ALLURE_CATEGORIES ?? "reports/allure-results/categories.json";

export default {
  name: env.ERDRILL_REPORT_NAME ?? "erdrill drill report",
  output: env.ERDRILL_REPORT_DIR ?? "reports/allure-report",
  // one JSON line per report build: the trend and per-test history across drills
  historyPath: env.ERDRILL_ALLURE_HISTORY ?? "reports/history/allure-history.jsonl",
  // the same rules as categories.json (reports/allure_results.py CATEGORIES)
  categories: existsSync(categoriesFile)
    ? JSON.parse(readFileSync(categoriesFile, "utf8"))
    : undefined,
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
        reportName: env.ERDRILL_REPORT_NAME ?? "erdrill drill report",
      },
    },
  },
};
