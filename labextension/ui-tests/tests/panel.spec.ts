/**
 * The side panel in a real JupyterLab and Chromium, against the real server extension
 * and run engine: runs submitted from the CLI and from the panel, live logs and charts,
 * cancel, "Train this notebook", compare.
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

/** Start a run of the fixture script with `mltrain submit`; its record. */
async function submit(
  name: string,
  opts: {
    script?: string;
    np?: number;
    steps?: number;
    delay?: number;
    lr?: number;
    experiment?: string;
    params?: string[];
    env?: string[];
    wait?: boolean;
  } = {}
): Promise<{ id: string; name: string }> {
  // Each run packages its own folder: only the script.
  const dir = path.join(ROOT, 'cli', name);
  fs.mkdirSync(dir, { recursive: true });
  const script = opts.script ?? 'train_script.py';
  fs.copyFileSync(path.join(FIXTURES, script), path.join(dir, script));
  const args = [
    'submit',
    '--np',
    String(opts.np ?? 2),
    '--name',
    name,
    '--experiment',
    opts.experiment ?? 'ui-cli',
    '--env',
    `STEPS=${opts.steps ?? 40}`,
    '--env',
    `DELAY=${opts.delay ?? 0.25}`,
    '--env',
    `LR=${opts.lr ?? 0.1}`,
    ...(opts.params ?? []).flatMap(p => ['--param', p]),
    ...(opts.env ?? []).flatMap(e => ['--env', e]),
    ...(opts.wait ? ['--wait', '--quiet'] : []),
    '--json',
    script
  ];
  const { stdout } = await run(CLI, args, { cwd: dir, env: process.env, timeout: 120_000 });
  const record = JSON.parse(stdout.trim().split('\n').pop()!);
  return { id: record.id, name: record.name };
}

async function openPanel(page: IJupyterLabPageFixture): Promise<void> {
  await page.sidebar.openTab('mltrain-panel');
  await expect(page.getByTestId('mltrain-runlist')).toBeVisible();
}

function row(page: IJupyterLabPageFixture, id: string) {
  return page.locator(`[data-testid="mltrain-run-row"][data-run-id="${id}"]`);
}

/** The run view of a run (its main-area tab). */
function view(page: IJupyterLabPageFixture, id: string) {
  return page.locator(`#mltrain-run-${id} .mltrain-runview`);
}

async function shot(page: IJupyterLabPageFixture, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

test.describe('Training panel', () => {
  test('lists a run started by `mltrain submit`, with live log lines and chart points while it runs', async ({
    page
  }) => {
    const r = await submit('cli-live', { np: 2, steps: 60, delay: 0.25 });
    await openPanel(page);
    const item = row(page, r.id);
    await expect(item).toBeVisible();
    await expect(item.locator('.mltrain-row-name')).toHaveText('cli-live');
    await expect(item.locator('.mltrain-row-target')).toHaveText('local');
    await expect(item.locator('.mltrain-row-ranks')).toHaveText('2×');
    await expect(
      page.locator('[data-testid="mltrain-group"][data-experiment="ui-cli"]')
    ).toBeVisible();
    await expect(page.getByTestId('mltrain-connection')).toHaveText('● live');
    await shot(page, 'panel-cli-run');

    await item.click();
    const v = view(page, r.id);
    await expect(v).toBeVisible();
    const log = v.getByTestId('mltrain-log');
    await expect(log).toContainText(/rank 0 step \d+ loss/);
    // Seen while the run is still going: these arrive live, not after the end.
    await expect(v.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Running');
    const lines1 = Number(await v.getByTestId('mltrain-log-count').getAttribute('data-lines'));
    expect(lines1).toBeGreaterThan(0);
    const chart = v.locator('[data-testid="mltrain-chart"][data-metric="loss"]');
    await expect(chart).toBeVisible();
    await expect(chart.locator('canvas')).toBeVisible();
    const points1 = Number(await chart.getAttribute('data-points'));
    expect(points1).toBeGreaterThan(0);
    await expect
      .poll(async () => Number(await chart.getAttribute('data-drawn-points')))
      .toBeGreaterThan(0);
    await expect(chart).toHaveAttribute('data-series', '2'); // one line per rank
    await expect(v.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Running');
    await shot(page, 'run-view-live');

    // More arrive as it runs.
    await expect
      .poll(async () => Number(await v.getByTestId('mltrain-log-count').getAttribute('data-lines')))
      .toBeGreaterThan(lines1);
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')))
      .toBeGreaterThan(points1);

    // Rank 1's log is one click away; ANSI colour is rendered, not shown as escapes.
    await v.getByTestId('mltrain-log-rank').selectOption('1');
    await expect(log).toContainText('rank 1 step');
    expect(await log.innerHTML()).not.toContain('\x1b');
    // The same rendering as the notebook widget: ansi_up's classes, coloured by style/ansi.css.
    const green = log.locator('span.ansi-green-fg').first();
    await expect(green).toBeVisible();
    await expect(green).toHaveCSS('color', 'rgb(0, 162, 80)');

    // To the end: Completed, every line there, the panel row too.
    await expect(v.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Completed', {
      timeout: 60_000
    });
    await expect(log).toContainText('rank 1 done');
    await v.getByTestId('mltrain-log-rank').selectOption('0');
    await expect(v.getByTestId('mltrain-log-count')).toHaveAttribute('data-lines', '61');
    await expect(chart).toHaveAttribute('data-points', '120');
    await expect(chart).toHaveAttribute('data-drawn-points', '120');
    await expect(item).toHaveAttribute('data-status', 'Completed');
    await expect(v.locator('.mltrain-stage[data-stage="Completed"]')).toBeVisible();
    await expect(
      page.locator('.jp-toast-message', { hasText: 'Run "cli-live" completed' })
    ).toBeVisible();
    await shot(page, 'run-view-completed');
  });

  test('cancel from the panel ends the run as Canceled', async ({ page }) => {
    const r = await submit('cli-cancel', { np: 2, steps: 600, delay: 0.5 });
    await openPanel(page);
    await row(page, r.id).click();
    const v = view(page, r.id);
    await expect(v.getByTestId('mltrain-log')).toContainText('step 1');
    await v.getByTestId('mltrain-run-cancel').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Cancel run?');
    await shot(page, 'cancel-confirm');
    await dialog.getByRole('button', { name: 'Cancel run' }).click();
    await expect(v.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Canceled', {
      timeout: 30_000
    });
    await expect(row(page, r.id)).toHaveAttribute('data-status', 'Canceled');
    await expect(v.getByTestId('mltrain-run-cancel')).toBeDisabled();
    await shot(page, 'run-canceled');
  });

  test('"Train this notebook" submits the open notebook with its unsaved edits; the run completes', async ({
    page,
    tmpPath
  }) => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells: [
        {
          cell_type: 'code',
          id: 'c1',
          metadata: {},
          execution_count: null,
          outputs: [],
          source: '%matplotlib inline\nimport jupyter_mltrain as mt\nprint("saved cell ran")'
        },
        {
          cell_type: 'code',
          id: 'c2',
          metadata: {},
          execution_count: null,
          outputs: [],
          source:
            'for step in range(5):\n    mt.log("loss", 1.0 / (step + 1), step=step)\n    print("nb step", step)\n' +
            '(mt.outputs_dir() / "model.txt").write_text("weights of rank %d" % mt.rank())'
        }
      ]
    };
    const nbPath = `${tmpPath}/train_me.ipynb`;
    await page.contents.uploadContent(JSON.stringify(nb), 'text', nbPath);
    await page.notebook.openByPath(nbPath);
    await page.notebook.activate('train_me.ipynb');
    // An edit that is not saved: the run must see it.
    await page.notebook.addCell('code', 'print("unsaved edit marker")');
    await expect(page.locator('.jp-mod-dirty')).toBeVisible();

    await page.locator('.mltrain-toolbar-train').first().click();
    const form = page.getByTestId('mltrain-train-form');
    await expect(form).toBeVisible();
    await form.getByTestId('mltrain-form-np').fill('2');
    await form.getByTestId('mltrain-form-name').fill('nb-run');
    await form.getByTestId('mltrain-form-experiment').fill('ui-notebook');
    await form.getByTestId('mltrain-form-params').fill('lr=0.01');
    // The dry run names the dropped or translated magic before anything starts.
    await expect(form.getByTestId('mltrain-form-warnings')).toHaveAttribute('data-state', 'done');
    await expect(form.getByTestId('mltrain-form-warnings')).toContainText('matplotlib');
    await shot(page, 'train-form');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Start training' }).click();

    const tab = page.locator('.mltrain-run-tab:visible .mltrain-runview');
    await expect(tab).toBeVisible();
    await expect(tab.getByTestId('mltrain-run-status')).toHaveAttribute(
      'data-status',
      'Completed',
      {
        timeout: 90_000
      }
    );
    const log = tab.getByTestId('mltrain-log');
    await expect(log).toContainText('saved cell ran');
    await expect(log).toContainText('nb step 4');
    await expect(log).toContainText('unsaved edit marker');
    await expect(tab.locator('[data-testid="mltrain-chart"][data-metric="loss"]')).toHaveAttribute(
      'data-points',
      '10'
    );
    await expect(tab.locator('.mltrain-run-name')).toHaveText('nb-run');
    await shot(page, 'notebook-run-completed');
    const runId = (await tab.locator('.mltrain-run-id').textContent())!;

    // The outputs browser lists rank 0's file and downloads it.
    await tab.getByTestId('mltrain-tab-outputs').click();
    const file = tab.locator('[data-testid="mltrain-file"][data-path="outputs/model.txt"]');
    await expect(file).toBeVisible();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      file.getByRole('button', { name: 'Download' }).click()
    ]);
    expect(download.suggestedFilename()).toBe('model.txt');
    expect(fs.readFileSync((await download.path())!, 'utf-8')).toBe('weights of rank 0');
    await shot(page, 'run-outputs');

    // "Attach in notebook" inserts a %train_attach cell into the notebook.
    await tab.getByTestId('mltrain-run-attach').click();
    await expect(
      page.locator('.jp-NotebookPanel:visible .jp-Cell .jp-InputArea-editor', {
        hasText: `%train_attach ${runId}`
      })
    ).toBeVisible();

    // Rerun starts a new run of the same snapshot, which completes too.
    const tabOf = (id: string) =>
      page.locator(`.lm-DockPanel-tabBar .lm-TabBar-tab[data-id="mltrain-run-${id}"]`);
    await expect(tabOf(runId)).toHaveText(`nb-run · ${runId.slice(-6)}`);
    await tabOf(runId).click();
    await tab.getByTestId('mltrain-run-rerun').click();
    const rerun = page.locator(
      `.mltrain-run-tab:visible:not(#mltrain-run-${runId}) .mltrain-runview`
    );
    await expect(rerun.getByTestId('mltrain-run-status')).toHaveAttribute(
      'data-status',
      'Completed',
      {
        timeout: 90_000
      }
    );
    await expect(rerun.getByTestId('mltrain-log')).toContainText('unsaved edit marker');
    // Its tab has its own title: the same name, its own short id.
    const rerunId = (await rerun.locator('.mltrain-run-id').textContent())!;
    expect(rerunId).not.toBe(runId);
    await expect(tabOf(rerunId)).toHaveText(`nb-run · ${rerunId.slice(-6)}`);
    // Never two tabs for one run: opening it again (panel row, notification) shows the same tab.
    await openPanel(page);
    await row(page, rerunId).click();
    await row(page, runId).click();
    await row(page, rerunId).click();
    await expect(tabOf(rerunId)).toHaveCount(1);
    await expect(tabOf(runId)).toHaveCount(1);
    await expect(page.locator(`#mltrain-run-${rerunId}`)).toHaveCount(1);
    await expect(page.locator(`#mltrain-run-${rerunId}`)).toBeVisible();
    await shot(page, 'rerun-tabs');
  });

  test('compare overlays a metric of two runs and tables their params', async ({ page }) => {
    const a = await submit('cmp-a', {
      np: 1,
      steps: 8,
      delay: 0.05,
      experiment: 'ui-compare',
      params: ['lr=0.1', 'batch=32'],
      env: ['LOG_LR=1'],
      lr: 0.1,
      wait: true
    });
    const b = await submit('cmp-b', {
      np: 1,
      steps: 12,
      delay: 0.05,
      experiment: 'ui-compare',
      params: ['lr=0.01', 'batch=32'],
      env: ['LOG_LR=1'],
      lr: 0.01,
      wait: true
    });
    // A failed run whose last loss (1/3) is lower than any of theirs: it is not a result.
    const f = await submit('cmp-failed', {
      script: 'fail_script.py',
      np: 2,
      experiment: 'ui-compare',
      params: ['lr=0.5', 'batch=32']
    });
    await openPanel(page);
    await page.getByTestId('mltrain-filter').fill('experiment:ui-compare');
    await expect(page.getByTestId('mltrain-run-row')).toHaveCount(3);
    await expect(row(page, f.id)).toHaveAttribute('data-status', 'Failed', { timeout: 60_000 });
    await row(page, a.id).getByTestId('mltrain-run-select').check();
    await row(page, b.id).getByTestId('mltrain-run-select').check();
    await expect(page.getByTestId('mltrain-compare-button')).toHaveText('Compare (2)');
    await page.getByTestId('mltrain-compare-button').click();

    const cmp = page.locator('.mltrain-compare:visible');
    const chart = cmp.getByTestId('mltrain-compare-chart');
    await expect(cmp.getByTestId('mltrain-compare-metric')).toHaveValue('loss');
    await expect(chart).toHaveAttribute('data-series', '2');
    await expect(chart).toHaveAttribute('data-points', '20'); // 8 + 12 steps
    await expect(chart.locator('canvas')).toBeVisible();
    await expect(chart.locator('.u-legend')).toContainText('cmp-a');
    await expect(chart.locator('.u-legend')).toContainText('cmp-b');
    const table = cmp.getByTestId('mltrain-compare-table');
    await expect(table.getByTestId('mltrain-compare-row')).toHaveCount(2);
    // The param lr and the metric lr are titled apart, under their own group headers.
    await expect(table.locator('th.mltrain-differs')).toHaveText(['param lr']);
    await expect(table.locator('th[data-kind="metric"][data-name="lr"]')).toHaveText('metric lr');
    await expect(table.locator('th[scope="colgroup"]')).toHaveText([
      'Run',
      'Parameters',
      'Final metrics'
    ]);
    await expect(table.locator(`[data-run-id="${a.id}"]`)).toContainText('0.1');
    await expect(table.locator(`[data-run-id="${b.id}"]`)).toContainText('0.01');
    // a learns faster (lr 0.1 against 0.01): its final loss is the best one.
    await expect(table.locator(`[data-run-id="${a.id}"] td.mltrain-best`)).toHaveCount(2);
    await expect(chart).toHaveAttribute('data-drawn-points', '20');
    await cmp.getByTestId('mltrain-compare-metric').selectOption('accuracy');
    await expect(chart).toHaveAttribute('data-drawn-metric', /accuracy/);
    await shot(page, 'compare');

    // With the failed run in: its lower loss is not marked best; a's still is.
    await row(page, f.id).getByTestId('mltrain-run-select').check();
    await page.getByTestId('mltrain-compare-button').click();
    const cmp3 = page.locator('.mltrain-compare:visible');
    const table3 = cmp3.getByTestId('mltrain-compare-table');
    await expect(table3.getByTestId('mltrain-compare-row')).toHaveCount(3);
    await expect(table3.locator(`[data-run-id="${f.id}"] td.mltrain-best`)).toHaveCount(0);
    await expect(table3.locator(`[data-run-id="${a.id}"] td.mltrain-best`)).toHaveCount(2);
    await shot(page, 'compare-with-failed');
  });

  test('a million-line log scrolls with a bounded DOM', async ({ page }) => {
    const r = await submit('million', {
      script: 'many_lines.py',
      np: 1,
      experiment: 'ui-big',
      wait: true
    });
    await openPanel(page);
    await row(page, r.id).click();
    const v = view(page, r.id);
    const count = v.getByTestId('mltrain-log-count');
    await expect(count).toHaveAttribute('data-lines', '1000000', { timeout: 120_000 });
    const log = v.getByTestId('mltrain-log');
    // Following the end: the last line is shown, and only a window of lines is in the DOM.
    await expect(log).toContainText('line 0999999');
    expect(await log.locator('.mltrain-log-line').count()).toBeLessThan(150);

    // Scroll through the whole log from the top, in 60 jumps, and time each frame.
    const frames = await log.evaluate(async (el: HTMLElement) => {
      const times: number[] = [];
      const frame = () => new Promise<number>(r => requestAnimationFrame(r));
      let last = await frame();
      const max = el.scrollHeight - el.clientHeight;
      for (let i = 0; i <= 60; i++) {
        el.scrollTop = (max * i) / 60;
        el.dispatchEvent(new Event('scroll'));
        await frame();
        const now = await frame();
        times.push(now - last);
        last = now;
      }
      return times;
    });
    frames.sort((a, b) => a - b);
    const p50 = frames[Math.floor(frames.length / 2)];
    console.log(
      `million-line log: 2 frames per scroll jump, p50 ${p50.toFixed(1)} ms, max ${frames[frames.length - 1].toFixed(1)} ms`
    );
    expect(p50).toBeLessThan(100);
    expect(await log.locator('.mltrain-log-line').count()).toBeLessThan(150);
    await expect(log).toContainText('line 0999999'); // back at the end

    // The top and the middle are reachable.
    await log.evaluate((el: HTMLElement) => (el.scrollTop = 0));
    await expect(log.locator('.mltrain-log-line').first()).toContainText('line 0000000');
    await log.evaluate(
      (el: HTMLElement) => (el.scrollTop = (el.scrollHeight - el.clientHeight) / 2)
    );
    await expect(log).toContainText(/line 0(49|50)\d{4}/);
    await shot(page, 'million-lines-middle');

    // The filter finds lines among the million.
    await v.getByTestId('mltrain-log-filter').fill('line 0777777');
    await expect(count).toContainText('1 of 1,000,000 lines');
    await expect(log.locator('.mltrain-log-line')).toHaveCount(1);
  });

  test('a failed run shows its exception first, every rank, and the end of stderr', async ({
    page
  }) => {
    await openPanel(page);
    const r = await submit('fails', { script: 'fail_script.py', np: 2, experiment: 'ui-fail' });
    await row(page, r.id).click();
    const v = view(page, r.id);
    await expect(v.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Failed', {
      timeout: 60_000
    });
    const cause = v.getByTestId('mltrain-root-cause');
    await expect(cause).toBeVisible();
    // The exception is the headline, above where and how the first rank ended.
    const error = cause.getByTestId('mltrain-root-cause-error');
    await expect(error).toHaveText('RuntimeError: CUDA out of memory (simulated on rank 1)');
    const title = cause.locator('.mltrain-root-cause-title');
    await expect(title).toContainText('Rank 1');
    expect((await error.boundingBox())!.y).toBeLessThan((await title.boundingBox())!.y);
    expect(
      Number(await error.evaluate(el => parseFloat(getComputedStyle(el).fontSize)))
    ).toBeGreaterThan(
      Number(await title.evaluate(el => parseFloat(getComputedStyle(el).fontSize)))
    );
    // Every rank: the one that failed, and the one the supervisor stopped.
    const ranks = cause.getByTestId('mltrain-rank-table');
    await expect(ranks.locator('tbody tr')).toHaveCount(2);
    await expect(ranks.locator('tr[data-rank="0"]')).toContainText('stopped by the supervisor');
    await expect(ranks.locator('tr[data-rank="0"]')).toContainText('SIGTERM (15)');
    await expect(ranks.locator('tr[data-rank="1"]')).toContainText('exit code 1');
    // The stderr tail opens on its last lines.
    await cause.locator('.mltrain-stderr summary').click();
    const tail = cause.getByTestId('mltrain-stderr-tail');
    await expect(tail).toBeVisible();
    await expect(tail).toContainText('RuntimeError: CUDA out of memory');
    await expect
      .poll(() =>
        tail.evaluate(
          el =>
            el.scrollHeight > el.clientHeight &&
            el.scrollTop + el.clientHeight >= el.scrollHeight - 2
        )
      )
      .toBe(true);
    await expect(row(page, r.id)).toHaveAttribute('data-status', 'Failed');
    // The log shown is the failing rank's, with its traceback.
    await expect(v.getByTestId('mltrain-log-rank')).toHaveValue('1');
    await expect(v.getByTestId('mltrain-log')).toContainText('RuntimeError: CUDA out of memory');
    const toast = page.locator('.jp-toast-message', { hasText: 'Run "fails" failed' });
    await expect(toast).toBeVisible();
    await expect(toast).toContainText('failed: RuntimeError: CUDA out of memory');
    await shot(page, 'run-failed');
  });

  test('the runs list keeps the name in sight of a long metric, and tells same-named runs apart', async ({
    page
  }) => {
    const a = await submit('same-name', {
      script: 'long_metric.py',
      np: 1,
      experiment: 'ui-list',
      wait: true
    });
    const b = await submit('same-name', {
      script: 'long_metric.py',
      np: 1,
      experiment: 'ui-list',
      wait: true
    });
    await openPanel(page);
    await page.getByTestId('mltrain-filter').fill('experiment:ui-list');
    for (const r of [a, b]) {
      const item = row(page, r.id);
      const name = item.getByTestId('mltrain-row-name');
      await expect(name).toHaveText('same-name');
      // The whole name is shown: not cut, not squeezed out by the metric.
      expect(
        await name.evaluate(el => el.clientWidth > 0 && el.scrollWidth <= el.clientWidth)
      ).toBe(true);
      await expect(item.getByTestId('mltrain-row-id')).toHaveText(r.id.slice(-6));
      // The metric gives way: its name is cut with an ellipsis, its value stays.
      const metric = item.getByTestId('mltrain-row-metric');
      await expect(metric.locator('.mltrain-row-metric-value')).toHaveText('0.8731');
      const cut = metric.locator('.mltrain-row-metric-name');
      expect(await cut.evaluate(el => el.scrollWidth > el.clientWidth)).toBe(true);
      await expect(cut).toHaveCSS('text-overflow', 'ellipsis');
      const rowBox = (await item.boundingBox())!;
      const metricBox = (await metric.boundingBox())!;
      expect(metricBox.x + metricBox.width).toBeLessThanOrEqual(rowBox.x + rowBox.width + 1);
    }
    expect(a.id.slice(-6)).not.toBe(b.id.slice(-6));
    await shot(page, 'runs-list-long-metric');
  });

  test('targets view shows the local target as reachable', async ({ page }) => {
    await openPanel(page);
    await page.getByTestId('mltrain-targets-toggle').click();
    const local = page.locator('[data-testid="mltrain-target"][data-target="local"]');
    await expect(local).toBeVisible();
    await expect(local).toHaveAttribute('data-reachable', 'true');
    await shot(page, 'targets');
  });
});

test.describe('Without websockets', () => {
  test.use({ autoGoto: false });

  test('the panel and the run view fall back to polling and still show everything', async ({
    page
  }) => {
    // Every mltrain websocket is accepted and closed at once, as a strict proxy would.
    await page.routeWebSocket(/mltrain\/api\/.*stream/, ws => ws.close());
    await page.goto();
    await openPanel(page);
    await expect(page.getByTestId('mltrain-connection')).toHaveText('polling');
    const r = await submit('polled', { np: 2, steps: 20, delay: 0.2, experiment: 'ui-polling' });
    const item = row(page, r.id);
    await expect(item).toBeVisible({ timeout: 30_000 });
    await item.click();
    const v = view(page, r.id);
    await expect(v.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Completed', {
      timeout: 90_000
    });
    await expect(v.getByTestId('mltrain-log-count')).toHaveAttribute('data-lines', '21');
    await expect(v.locator('[data-testid="mltrain-chart"][data-metric="loss"]')).toHaveAttribute(
      'data-points',
      '40'
    );
    await expect(v.locator('.mltrain-conn')).toHaveText('');
    await expect(item).toHaveAttribute('data-status', 'Completed', { timeout: 30_000 });
    await shot(page, 'polling-fallback');
  });
});
