/**
 * The run view's Code and Environment tabs and a run's tags and note, in a real JupyterLab and
 * Chromium on real runs: the snapshot's entry script first, diffed against the previous run of the
 * same name; interpreter, searchable packages, the plan's variables and masked secrets; tags saved
 * and searched; the compare table's column groups, run colours and rows that toggle the overlay; the
 * notebook cells a %%train cell's main.py was made of.
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
const FIXTURES = path.join(__dirname, '..', 'fixtures');
const SECRET = 'not-for-the-page-2f9c1a';

test.use({ autoGoto: true });

/** Run the fixture script (plus `extra` lines) as `tabs-run` to its end; the run id. */
async function finished(folder: string, extra: string, lr: string): Promise<string> {
  const dir = path.join(ROOT, 'tabs', folder);
  fs.mkdirSync(dir, { recursive: true });
  const script = fs.readFileSync(path.join(FIXTURES, 'train_script.py'), 'utf8') + extra;
  fs.writeFileSync(path.join(dir, 'train_script.py'), script);
  const args = ['submit', '--name', 'tabs-run', '--env', 'STEPS=3', '--env', 'DELAY=0'];
  args.push('--param', `lr=${lr}`, '--param', 'batch=32');
  const secret = ['--env', `API_TOKEN=${SECRET}`, '--wait', '--quiet', '--json'];
  const opts = { cwd: dir, env: process.env, timeout: 120_000 };
  const { stdout } = await run(CLI, [...args, ...secret, 'train_script.py'], opts);
  return JSON.parse(stdout.trim().split('\n').pop()!).id;
}

test('code diff, environment and tags of a run', async ({ page }) => {
  const first = await finished('first', '', '0.2');
  const id = await finished('second', 'print("changed in the second run")\n', '0.05');
  await page.sidebar.openTab('mltrain-panel');
  await page.locator(`[data-testid="mltrain-run-row"][data-run-id="${id}"]`).click();
  const view = page.locator(`#mltrain-run-${id} .mltrain-runview`);
  await expect(view.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Completed');

  await view.getByTestId('mltrain-tab-code').click();
  const code = view.getByTestId('mltrain-code');
  const files = code.getByTestId('mltrain-code-file');
  await expect(files.first()).toHaveAttribute('data-path', 'train_script.py');
  await expect(files.first()).toHaveAttribute('data-change', 'changed');
  const diff = code.getByTestId('mltrain-diff');
  await expect(diff.locator('.mltrain-diff-add')).toHaveCount(1);
  await expect(diff.locator('.mltrain-diff-add')).toContainText('changed in the second run');
  await expect(diff.locator('.mltrain-hl-keyword').first()).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, 'run-code-diff.png') });
  await code.getByTestId('mltrain-diff-against').selectOption('');
  await expect(code.getByTestId('mltrain-code-text')).toContainText('from jupyter_mltrain import');

  await view.getByTestId('mltrain-tab-env').click();
  const env = view.getByTestId('mltrain-env');
  await expect(env.getByTestId('mltrain-interpreter')).toContainText('python_version');
  await expect(env.getByTestId('mltrain-env-vars')).toContainText('API_TOKEN<secret>');
  await expect(env).not.toContainText(SECRET);
  await env.getByTestId('mltrain-package-search').fill('anywidget');
  await expect(env.getByTestId('mltrain-packages').locator('tr')).toHaveCount(1);
  await page.screenshot({ path: path.join(SHOTS, 'run-environment.png') });

  await view.getByTestId('mltrain-edit-labels').click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.getByTestId('mltrain-tags-input').fill('baseline, <b>bold</b>');
  await dialog.getByTestId('mltrain-note-input').fill('Kept as the reference');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const tags = view.getByTestId('mltrain-run-tag');
  await expect(tags).toHaveText(['baseline', '<b>bold</b>']);
  await expect(view.getByTestId('mltrain-run-note')).toHaveText('Kept as the reference');
  await page.getByTestId('mltrain-filter').fill('tag:baseline');
  await expect(page.getByTestId('mltrain-run-row')).toHaveCount(1);
  await page.getByTestId('mltrain-filter').fill('tag:other');
  await expect(page.getByTestId('mltrain-run-row')).toHaveCount(0);
  await page.screenshot({ path: path.join(SHOTS, 'run-tags.png') });

  // Compare: sortable columns, only the params that differ.
  await page.getByTestId('mltrain-filter').fill('');
  for (const r of [first, id]) {
    await page
      .locator(`[data-testid="mltrain-run-row"][data-run-id="${r}"]`)
      .getByTestId('mltrain-run-select')
      .check();
  }
  await page.getByTestId('mltrain-compare-button').click();
  const table = page.locator('.mltrain-compare:visible').getByTestId('mltrain-compare-table');
  const rows = table.getByTestId('mltrain-compare-row');
  await expect(table.locator('th[data-kind="param"]')).toHaveText(['lr', 'batch']);
  await page.locator('.mltrain-compare:visible').getByTestId('mltrain-only-differing').check();
  await expect(table.locator('th[data-kind="param"]')).toHaveText(['lr']);
  const lr = table.locator('th[data-kind="param"][data-name="lr"]');
  await lr.click();
  await expect(lr).toHaveAttribute('aria-sort', 'ascending');
  await expect(rows.first()).toHaveAttribute('data-run-id', id);
  await lr.click();
  await expect(lr).toHaveAttribute('aria-sort', 'descending');
  await expect(rows.first()).toHaveAttribute('data-run-id', first);
  await page.screenshot({ path: path.join(SHOTS, 'compare-sorted.png') });

  // A runs table: run, params and metrics under their group labels; a run's colour in its row and
  // in the overlay; clicking a row hides its run from the overlay, clicking again shows it.
  await expect(table.locator('.mltrain-compare-groups th')).toHaveText([
    'Run',
    'Parameters',
    'Final metrics'
  ]);
  await expect(table.locator('th[data-kind="metric"]')).toHaveText(['accuracy', 'loss']);
  const chart = page.locator('.mltrain-compare:visible').getByTestId('mltrain-compare-chart');
  await expect(chart).toHaveAttribute('data-series', '2');
  const colour = (l: ReturnType<typeof page.locator>, prop: string) =>
    l.evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), prop);
  const swatches = await Promise.all(
    [0, 1].map(i => colour(rows.nth(i).getByTestId('mltrain-compare-swatch'), 'background-color'))
  );
  expect(new Set(swatches).size).toBe(2);
  const markers = chart.locator('.u-legend .u-series:not(:first-child) .u-marker'); // not the x axis
  const legend = async () =>
    new Set(await Promise.all((await markers.all()).map(m => colour(m, 'border-color'))));
  expect(await legend()).toEqual(new Set(swatches));
  await rows.first().locator('td').nth(1).click(); // the status cell: the row, not the run's link
  await expect(rows.first()).toHaveAttribute('data-shown', 'false');
  await expect(chart).toHaveAttribute('data-series', '1');
  expect(await legend()).toEqual(new Set([swatches[1]])); // the other run keeps its colour
  await page.screenshot({ path: path.join(SHOTS, 'compare-row-hidden.png') });
  await rows.first().locator('td').nth(1).click();
  await expect(rows.first()).toHaveAttribute('data-shown', 'true');
  await expect(chart).toHaveAttribute('data-series', '2');
});

/** Run two cells in a real IPython shell (as a notebook's kernel would): a helper, then a %%train cell using it. */
async function cellRun(): Promise<string> {
  const dir = path.join(ROOT, 'tabs', 'cell');
  fs.mkdirSync(dir, { recursive: true });
  const py = [
    'from IPython.core.interactiveshell import InteractiveShell',
    'ip = InteractiveShell.instance()',
    'ip.run_line_magic("load_ext", "jupyter_mltrain")',
    'ok = ip.run_cell("def helper(v):\\n    return v * 2\\n", store_history=True).success',
    'cell = "%%train --wait --name cell-run\\nimport jupyter_mltrain as mt\\nmt.log(\'loss\', helper(0.25), step=0)\\n"',
    'ok = ok and ip.run_cell(cell, store_history=True).success',
    'print("RUN", ip.magics_manager.registry["TrainMagics"].last_run_id, ok)'
  ].join('\n');
  const python = path.join(path.dirname(CLI), 'python');
  const { stdout } = await run(python, ['-c', py], {
    cwd: dir,
    env: process.env,
    timeout: 120_000
  });
  const [, id, ok] = stdout.trim().split('\n').pop()!.split(' ');
  expect(ok).toBe('True');
  return id;
}

test('the Code tab shows which notebook cell each part of main.py came from', async ({ page }) => {
  const id = await cellRun();
  await page.sidebar.openTab('mltrain-panel');
  await page.locator(`[data-testid="mltrain-run-row"][data-run-id="${id}"]`).click();
  const view = page.locator(`#mltrain-run-${id} .mltrain-runview`);
  await expect(view.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Completed');
  await view.getByTestId('mltrain-tab-code').click();
  const code = view.getByTestId('mltrain-code');
  await expect(code.getByTestId('mltrain-code-file').first()).toHaveAttribute(
    'data-path',
    'main.py'
  );
  const text = code.getByTestId('mltrain-code-text');
  await expect(text.getByTestId('mltrain-code-cell')).toHaveText(['cell [1]', 'cell [2]']);
  const helper = text.locator('.mltrain-code-band[data-span="0"]');
  await expect(helper).toHaveText(['cell [1]def helper(v):', '    return v * 2']);
  const cell = text.locator('.mltrain-code-band[data-span="1"]');
  await expect(cell).toHaveCount(2);
  await expect(cell.last()).toContainText("mt.log('loss', helper(0.25), step=0)");
  await expect(code.getByTestId('mltrain-code-cell-link')).toHaveText([
    'cell [1] (function helper)',
    'cell [2] (the %%train cell)'
  ]);
  await code.getByTestId('mltrain-code-cell-link').first().click();
  await expect(helper.first()).toHaveClass(/mltrain-code-band-active/);
  await expect(cell.first()).not.toHaveClass(/mltrain-code-band-active/);
  await text.getByTestId('mltrain-code-cell').last().click(); // the gutter label jumps too
  await expect(cell.first()).toHaveClass(/mltrain-code-band-active/);
  await expect(helper.first()).not.toHaveClass(/mltrain-code-band-active/);
  await page.screenshot({ path: path.join(SHOTS, 'run-code-cells.png') });

  // The Environment tab lists what the plan set for the ranks, each rank's own too.
  await view.getByTestId('mltrain-tab-env').click();
  const env = view.getByTestId('mltrain-env');
  await expect(env.getByTestId('mltrain-env-vars')).toContainText('MLTRAIN_RUN_ID' + id);
  await expect(env.getByTestId('mltrain-env-vars')).toContainText('WORLD_SIZE1');
  await expect(env.getByTestId('mltrain-rank-env')).toContainText('RANK=0');
});
