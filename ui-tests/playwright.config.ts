/**
 * Playwright configuration of the browser tests, on top of galata's.
 *
 * No browser is downloaded: the tests drive Debian's chromium (`apt-get install chromium`).
 * The server is JupyterLab from the repository's virtualenv, started by start-server.sh
 * with galata's server configuration, on 127.0.0.1:8888 in a throw-away Jupyter home.
 */
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORT = Number(process.env.UI_TESTS_PORT ?? 8888);
const BASE_URL = `http://127.0.0.1:${PORT}`;
const ARTIFACTS = path.join(__dirname, 'artifacts');

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: path.join(ARTIFACTS, 'test-results'),
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: path.join(ARTIFACTS, 'report') }]
  ],
  // One JupyterLab server for all the tests.
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  use: {
    ...baseConfig.use,
    baseURL: BASE_URL,
    // galata's own server URL (it talks to the server's REST API from the tests).
    appPath: '/lab',
    browserName: 'chromium',
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    },
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure'
  },
  webServer: {
    command: 'bash start-server.sh',
    url: `${BASE_URL}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10 * 1000 }
  }
};
