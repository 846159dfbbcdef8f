/**
 * Galata (Playwright) configuration for the side panel's UI tests, in Debian's Chromium.
 * Run from labextension/: `npm run ui-test` (after `npm run build`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS, and its types export nothing
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const repo = path.resolve(__dirname, '..', '..');
const venvBin = path.join(repo, '.venv', 'bin');
const jupyter = process.env.JUPYTER ?? path.join(venvBin, 'jupyter');

// Fixed folders (this file is evaluated again in every worker, so they must not be random).
const base = path.join(os.tmpdir(), 'mltrain-ui-8900');
process.env.MLTRAIN_HOME = process.env.MLTRAIN_HOME ?? path.join(base, 'home');
process.env.MLTRAIN_UI_ROOT = process.env.MLTRAIN_UI_ROOT ?? path.join(base, 'root');
process.env.MLTRAIN_CLI = process.env.MLTRAIN_CLI ?? path.join(venvBin, 'mltrain');
if (!process.env.TEST_WORKER_INDEX) {
  // The runner process: start from empty folders (workers keep what it made).
  for (const dir of [process.env.MLTRAIN_HOME, process.env.MLTRAIN_UI_ROOT]) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
}

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results/artifacts',
  workers: 1,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: './test-results/report' }]],
  use: {
    ...baseConfig.use,
    baseURL: 'http://127.0.0.1:8900',
    viewport: { width: 1400, height: 900 },
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: CHROMIUM_FLAGS
    }
  },
  webServer: {
    command: `${jupyter} lab --config jupyter_server_test_config.py`,
    cwd: __dirname,
    url: 'http://127.0.0.1:8900/lab',
    timeout: 120_000,
    reuseExistingServer: false,
    // The server's log: set MLTRAIN_UI_SERVER_LOG=1 to see it.
    stdout: process.env.MLTRAIN_UI_SERVER_LOG ? 'pipe' : 'ignore',
    stderr: process.env.MLTRAIN_UI_SERVER_LOG ? 'pipe' : 'ignore'
  }
};
