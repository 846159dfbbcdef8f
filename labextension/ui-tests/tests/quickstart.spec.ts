/**
 * "Train this notebook" on the shipped quickstart (notebooks/quickstart.ipynb), in a real
 * JupyterLab and Chromium against the real server extension and run engine: the form fills in
 * from the notebook's %%train line, warns before launch about the cell it leaves out, trains
 * the notebook to Completed, and remembers what was submitted, across a page load.
 */
import { expect, IJupyterLabPageFixture, JupyterLabPage, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

const QUICKSTART = path.join(__dirname, '..', '..', '..', 'notebooks', 'quickstart.ipynb');
const SHOTS = path.join(__dirname, '..', 'test-results');

test.use({ autoGoto: true });

/** Open the train form of the active notebook, its first dry run done. */
async function openForm(page: IJupyterLabPageFixture) {
  await page.locator('.jp-NotebookPanel:visible .mltrain-toolbar-train').click();
  const form = page.getByTestId('mltrain-train-form');
  await expect(form).toBeVisible();
  await expect(form.getByTestId('mltrain-form-warnings')).toHaveAttribute('data-state', 'done');
  return form;
}

test('"Train this notebook" runs the quickstart as its %%train line says, and remembers the form', async ({
  page,
  tmpPath
}) => {
  const nbPath = `${tmpPath}/quickstart.ipynb`;
  await page.contents.uploadContent(fs.readFileSync(QUICKSTART, 'utf-8'), 'text', nbPath);
  await page.notebook.openByPath(nbPath);
  await page.notebook.activate('quickstart.ipynb');

  // Filled in from `%%train --np 2 --mode torch --name digits-ddp --experiment quickstart --param lr=0.5`.
  let form = await openForm(page);
  await expect(form).toHaveAttribute('data-source', 'notebook');
  await expect(form.getByTestId('mltrain-form-source')).toContainText('%%train line');
  await expect(form.getByTestId('mltrain-form-np')).toHaveValue('2');
  await expect(form.getByTestId('mltrain-form-mode')).toHaveValue('torch');
  await expect(form.getByTestId('mltrain-form-params')).toHaveValue('lr=0.5');
  await expect(form.getByTestId('mltrain-form-name')).toHaveValue('digits-ddp');
  await expect(form.getByTestId('mltrain-form-experiment')).toHaveValue('quickstart');
  // Before anything starts: the cell that only works in the kernel is left out, and said so.
  await expect(form.getByTestId('mltrain-form-warnings')).toContainText(
    "code cell 6 left out: it uses last_run, which only works in the notebook's kernel"
  );
  await expect(form.getByTestId('mltrain-form-script')).toContainText('lr = 0.5');
  await page.screenshot({ path: path.join(SHOTS, 'train-form-quickstart.png') });

  // The user's own choices, to be remembered.
  await form.getByTestId('mltrain-form-name').fill('quickstart-ui');
  await form.getByTestId('mltrain-form-env').fill('QS_FROM=form');
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Start training' }).click();

  const tab = page.locator('.mltrain-run-tab:visible .mltrain-runview');
  await expect(tab.locator('.mltrain-run-name')).toHaveText('quickstart-ui');
  await expect(tab.getByTestId('mltrain-run-status')).toHaveAttribute('data-status', 'Completed', {
    timeout: 120_000
  });
  await expect(tab.getByTestId('mltrain-log')).toContainText('rank 0 epoch 39');
  const runId = (await tab.locator('.mltrain-run-id').textContent())!;
  // Completed in the panel too, on 2 ranks.
  await page.sidebar.openTab('mltrain-panel');
  const row = page.locator(`[data-testid="mltrain-run-row"][data-run-id="${runId}"]`);
  await expect(row).toHaveAttribute('data-status', 'Completed');
  await expect(row.locator('.mltrain-row-ranks')).toHaveText('2×');
  await page.screenshot({ path: path.join(SHOTS, 'quickstart-completed.png') });

  // After a page load the form starts from what was submitted for this notebook, not its line.
  // The workspace brings the notebook back: no Launcher to wait for (the fixture's type hides
  // galata's reload options behind Playwright's).
  await (page as unknown as JupyterLabPage).reload({ waitForIsReady: false });
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
  if (!(await page.notebook.isOpen('quickstart.ipynb'))) await page.notebook.openByPath(nbPath);
  await page.notebook.activate('quickstart.ipynb');
  form = await openForm(page);
  await expect(form).toHaveAttribute('data-source', 'remembered');
  await expect(form.getByTestId('mltrain-form-name')).toHaveValue('quickstart-ui');
  await expect(form.getByTestId('mltrain-form-env')).toHaveValue('QS_FROM=form');
  await expect(form.getByTestId('mltrain-form-np')).toHaveValue('2');
  await expect(form.getByTestId('mltrain-form-mode')).toHaveValue('torch');
  await expect(form.getByTestId('mltrain-form-params')).toHaveValue('lr=0.5');
  await expect(form.getByTestId('mltrain-form-experiment')).toHaveValue('quickstart');
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Cancel' }).click();
});
