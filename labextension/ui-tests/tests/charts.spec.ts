/**
 * The shared metric charts in the panel's run view, in a real JupyterLab and Chromium, on a real
 * 2-rank run: metrics grouped by prefix (train/, val/, system/ from the ranks' telemetry), log
 * scale, drag to zoom and double-click to reset, a crosshair synced across charts, the min–max
 * band, smoothing, fullscreen; and a slow rank shown as a straggler, then as history.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);
const ROOT = process.env.MLTRAIN_UI_ROOT!;
const CLI = process.env.MLTRAIN_CLI!;
const SHOTS = path.join(__dirname, '..', 'test-results');
const FIXTURES = path.join(__dirname, '..', 'fixtures');

test.use({ autoGoto: true });

/** Start the charts fixture on 2 ranks (stragglers flagged at once); the run id. */
async function submitCharts(name: string): Promise<string> {
  const dir = path.join(ROOT, 'charts', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'charts_script.py'), path.join(dir, 'charts_script.py'));
  const env = { ...process.env, MLTRAIN_STRAGGLER_S: '0' };
  const args = ['submit', '--np', '2', '--name', name, '--env', 'STEPS=80', '--json'];
  const { stdout } = await run(CLI, [...args, 'charts_script.py'], {
    cwd: dir,
    env,
    timeout: 60_000
  });
  return JSON.parse(stdout.trim().split('\n').pop()!).id;
}

function chart(page: IJupyterLabPageFixture, id: string, metric: string) {
  return page.locator(`#mltrain-run-${id} [data-testid="mltrain-chart"][data-metric="${metric}"]`);
}

test('charts: groups, log scale, zoom, synced crosshair, band, fullscreen, stragglers', async ({
  page
}) => {
  const id = await submitCharts('charts-demo');
  await page.sidebar.openTab('mltrain-panel');
  await page.locator(`[data-testid="mltrain-run-row"][data-run-id="${id}"]`).click();
  const view = page.locator(`#mltrain-run-${id} .mltrain-runview`);
  await expect(view).toBeVisible();

  // Rank 1 is 3× slower per step: flagged while the run lasts.
  const badge = view.getByTestId('mltrain-stragglers');
  await expect(badge).toHaveAttribute('data-active', '1', { timeout: 60_000 });
  await expect(badge).toContainText('rank 1');
  await page.screenshot({ path: path.join(SHOTS, 'charts-straggler.png') });

  const groups = view.getByTestId('mltrain-chart-group');
  await expect(view.locator('[data-group="train"]')).toBeVisible();
  await expect(view.locator('[data-group="val"]')).toBeVisible();
  await expect(view.locator('[data-group="system"]')).toBeVisible();
  await expect(groups.first()).toHaveAttribute('data-group', 'train');
  await expect(view.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Completed', {
    timeout: 120_000
  });
  await expect(badge).toHaveAttribute('data-active', '0');
  expect(Number(await badge.getAttribute('data-cleared'))).toBeGreaterThanOrEqual(1);

  const loss = chart(page, id, 'train/loss');
  const acc = chart(page, id, 'train/acc');
  await expect(loss).toHaveAttribute('data-series', '2');
  await expect(loss.locator('.u-legend')).toContainText('rank 1');
  await expect(loss).toHaveAttribute('data-drawn-points', '160');

  // Log scale.
  await view.getByTestId('mltrain-log-scale').check();
  await expect(loss).toHaveAttribute('data-log', '1');
  await expect(view.locator('[data-testid="mltrain-chart"][data-log="0"]')).toHaveCount(0);

  // Crosshair: hovering one chart moves the cursor of the others to the same step.
  const over = loss.locator('.u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await expect(loss).not.toHaveAttribute('data-cursor-x', '');
  const x = await loss.getAttribute('data-cursor-x');
  await expect(acc).toHaveAttribute('data-cursor-x', x!);
  await page.screenshot({ path: path.join(SHOTS, 'charts-crosshair-log.png') });

  // Drag to zoom, double-click to reset.
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.up();
  await expect(loss).toHaveAttribute('data-zoomed', '1');
  await expect(acc).toHaveAttribute('data-zoomed', '1'); // the board's charts zoom together
  const lo = Number(await loss.getAttribute('data-x-min'));
  const hi = Number(await loss.getAttribute('data-x-max'));
  expect(lo).toBeGreaterThan(8); // 80 steps: about 16 to 40
  expect(hi).toBeLessThan(50);
  await page.screenshot({ path: path.join(SHOTS, 'charts-zoomed.png') });
  await over.dblclick({ position: { x: box.width * 0.5, y: box.height * 0.5 } });
  await expect(loss).toHaveAttribute('data-zoomed', '0');
  await expect(acc).toHaveAttribute('data-zoomed', '0');

  // The min–max band, and smoothing.
  await view.getByTestId('mltrain-log-scale').uncheck();
  await view.getByTestId('mltrain-agg-select').selectOption('minmax');
  await expect(loss).toHaveAttribute('data-band', '1');
  await expect(loss.locator('.u-legend')).toContainText('mean of 2 ranks');
  await view.getByTestId('mltrain-smoothing').fill('0.8');
  await expect(view.locator('.mltrain-chart-smoothing-value')).toHaveText('0.80');
  await page.screenshot({ path: path.join(SHOTS, 'charts-band-smoothed.png') });

  // The x axis: a step metric also goes on relative or wall time (its points' times).
  await view.getByTestId('mltrain-x-axis').selectOption('relative');
  await expect(loss).toHaveAttribute('data-axis', 'relative');
  await expect(loss.locator('.u-legend')).toContainText('time since start');
  await view.getByTestId('mltrain-x-axis').selectOption('wall');
  await expect(loss).toHaveAttribute('data-axis', 'wall');
  await page.screenshot({ path: path.join(SHOTS, 'charts-wall-time.png') });
  await view.getByTestId('mltrain-x-axis').selectOption('step');

  // Fullscreen (the chart moves to the page's body meanwhile) and back.
  await loss.getByTestId('mltrain-chart-fullscreen').click();
  const full = page.locator('body > [data-testid="mltrain-chart"][data-fullscreen="1"]');
  await expect(full).toHaveAttribute('data-metric', 'train/loss');
  await expect
    .poll(async () => (await full.locator('canvas').boundingBox())!.width)
    .toBeGreaterThan(page.viewportSize()!.width * 0.9);
  await page.screenshot({ path: path.join(SHOTS, 'charts-fullscreen.png') });
  await page.keyboard.press('Escape');
  await expect(full).toHaveCount(0);
  await expect(loss).toHaveAttribute('data-fullscreen', '0');
});
