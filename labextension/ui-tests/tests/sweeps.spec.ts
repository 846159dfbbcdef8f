/**
 * A finished sweep in the panel, in a real JupyterLab and Chromium on real runs: its trials nested under
 * the driver's row (expanded on demand, each opening as a normal run), and its tab: the trials table
 * (sorted by a click on a column), best so far, parallel coordinates and every trial's curve.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);
const ROOT = process.env.MLTRAIN_UI_ROOT!;
const CLI = process.env.MLTRAIN_CLI!;
const SHOTS = path.join(__dirname, '..', 'test-results');

// The loss falls with the step; a small lr and one layer are best.
const SCRIPT = `import jupyter_mltrain as mt

p = mt.params()
for step in range(6):
    mt.log("loss", p["lr"] * 10 / (step + 1) + p["layers"] * 0.1, step=step)
`;

interface ISweepRecord {
  id: string;
  parent: string;
  status: string;
  best: { run: string };
  trials: { trial: number; run: string; status: string }[];
}

test.use({ autoGoto: true });

/** A sweep of 4 trials, run to its end with the CLI; its record. */
async function finishedSweep(): Promise<ISweepRecord> {
  const dir = path.join(ROOT, 'sweep');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train.py'), SCRIPT);
  const args = ['sweep', '--name', 'ui-sweep', '--sweep', 'lr=loguniform(0.001, 0.1)'];
  args.push('--sweep', 'layers=choice(1, 2, 3)', '--trials', '4', '--concurrent', '2');
  args.push('--metric', 'loss', '--goal', 'min', '--sampler', 'random', '--seed', '3');
  const opts = { cwd: dir, env: process.env, timeout: 150_000 };
  const { stdout } = await run(CLI, [...args, '--wait', '--json', 'train.py'], opts);
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('a finished sweep: trials nested in the list, its table sorted, parallel coordinates and curves', async ({
  page
}) => {
  const sweep = await finishedSweep();
  expect(sweep.status).toBe('Completed');
  expect(sweep.trials).toHaveLength(4);
  const trialIds = sweep.trials.map(t => t.run);

  await page.sidebar.openTab('mltrain-panel');
  const driver = page.locator(`[data-testid="mltrain-run-row"][data-run-id="${sweep.parent}"]`);
  await expect(driver).toBeVisible();
  await expect(driver.getByTestId('mltrain-sweep-badge')).toHaveText('4 trials');
  // The trials are not at the top level: only the driver is listed until it is expanded.
  const listedTrials = trialIds.map(id => `[data-testid="mltrain-run-row"][data-run-id="${id}"]`);
  await expect(page.locator(listedTrials.join(', '))).toHaveCount(0);

  await driver.getByTestId('mltrain-sweep-expander').click();
  const nested = page.locator('.mltrain-row.mltrain-row-sweep-trial');
  await expect(nested).toHaveCount(4);
  expect(await nested.evaluateAll(els => els.map(e => (e as HTMLElement).dataset.runId))).toEqual(
    [...sweep.trials].sort((a, b) => a.trial - b.trial).map(t => t.run)
  );
  await expect(nested.first().getByTestId('mltrain-sweep-badge')).toHaveText('#0');
  await expect(driver).toHaveAttribute('data-status', 'Completed');
  await expect(page.locator('.mltrain-row-sweep-trial[data-status="Completed"]')).toHaveCount(4);
  await page.screenshot({ path: path.join(SHOTS, 'sweep-list.png') });

  // A trial opens as a normal run.
  await nested.nth(1).click();
  const trialView = page.locator(`#mltrain-run-${trialIds[1]} .mltrain-runview`);
  await expect(trialView.getByTestId('mltrain-run-status')).toHaveAttribute(
    'data-status',
    'Completed'
  );

  await driver.getByTestId('mltrain-sweep-open').click();
  const tab = page.locator(`#mltrain-sweep-${sweep.id}`);
  const view = tab.getByTestId('mltrain-sweep');
  await expect(view).toBeVisible();
  await expect(view.getByTestId('mltrain-sweep-summary')).toContainText('4 of 4 trials');
  await expect(view.getByTestId('mltrain-sweep-cancel')).toBeHidden();
  const trials = view.getByTestId('mltrain-sweep-trial');
  await expect(trials).toHaveCount(4);
  const best = view.locator('[data-testid="mltrain-sweep-trial"][data-best="1"]');
  await expect(best).toHaveCount(1);
  await expect(best).toHaveAttribute('data-run-id', sweep.best.run);

  // Sorting: by the metric, best first (the goal is min); again: best last.
  const byValue = view.locator('[data-testid="mltrain-sweep-sort"][data-key="value"]');
  await byValue.click();
  await expect(byValue).toHaveAttribute('aria-sort', 'ascending');
  await expect(trials.first()).toHaveAttribute('data-run-id', sweep.best.run);
  await byValue.click();
  await expect(byValue).toHaveAttribute('aria-sort', 'descending');
  await expect(trials.last()).toHaveAttribute('data-run-id', sweep.best.run);

  // Parallel coordinates: lr on a log axis, layers ordinal, then the metric; a line per trial.
  const pc = view.getByTestId('mltrain-sweep-parcoords');
  await expect(pc).toBeVisible();
  await expect(pc.getByTestId('mltrain-parcoords-line')).toHaveCount(4);
  const axes = pc.getByTestId('mltrain-parcoords-axis');
  await expect(axes).toHaveCount(3);
  await expect(axes.nth(0)).toHaveAttribute('data-scale', 'log');
  await expect(axes.nth(1)).toHaveAttribute('data-scale', 'category');
  await expect(axes.nth(2)).toHaveAttribute('data-name', 'loss');
  await expect(pc.locator('[data-best="1"]')).toHaveAttribute(
    'data-trial',
    String(sweep.trials.find(t => t.run === sweep.best.run)!.trial)
  );

  // Every trial's curve overlaid (6 steps each), and the best so far by trial.
  const overlay = view.getByTestId('mltrain-sweep-overlay').getByTestId('mltrain-chart');
  await expect(overlay).toHaveAttribute('data-series', '4');
  await expect(overlay).toHaveAttribute('data-points', '24');
  await expect(overlay.locator('canvas')).toBeVisible();
  const bestChart = view.getByTestId('mltrain-sweep-best-chart').getByTestId('mltrain-chart');
  await expect(bestChart).toHaveAttribute('data-points', '4');
  await page.addStyleTag({ content: '.Toastify { display: none !important; }' }); // run-ended notices
  await page.screenshot({ path: path.join(SHOTS, 'sweep-view.png') });
});
