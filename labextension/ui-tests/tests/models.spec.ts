/**
 * The Models tab in a real JupyterLab and Chromium, against the real server extension, registry
 * and `mltrain serve`: a model registered from a real run is listed with its run, params and
 * metrics; an alias is set; the version is served, listed with its URL, and stopped.
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

/** A finished run of the model fixture, registered as `name` (with `lr` as its param); the run id. */
async function registeredModel(name: string): Promise<string> {
  const dir = path.join(ROOT, 'models', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'model_script.py'), path.join(dir, 'model_script.py'));
  const opts = { cwd: dir, env: process.env, timeout: 120_000 };
  const args = ['submit', '--name', `train-${name}`, '--param', 'lr=0.05', '--wait', '--quiet'];
  const { stdout } = await run(CLI, [...args, '--json', 'model_script.py'], opts);
  const record = JSON.parse(stdout.trim().split('\n').pop()!);
  expect(record.status).toBe('Completed');
  await run(CLI, ['register', record.id, name, '--tag', 'team=vision'], opts);
  return record.id;
}

async function openModels(page: IJupyterLabPageFixture) {
  await page.sidebar.openTab('mltrain-panel');
  await page.getByTestId('mltrain-models-button').click();
  const view = page.getByTestId('mltrain-models');
  await expect(view).toBeVisible();
  return view;
}

test.describe('Models tab', () => {
  test('lists a registered model with its run, sets an alias, serves it and stops the service', async ({
    page
  }) => {
    await registeredModel('linear');
    const view = await openModels(page);
    const row = view.locator(
      '[data-testid="mltrain-model-row"][data-model="linear"][data-version="1"]'
    );
    await expect(row).toBeVisible();
    await expect(row).toContainText('torchscript');
    await expect(row).toContainText('team=vision');
    await expect(row.locator('.mltrain-model-params')).toHaveText('lr=0.05');
    await expect(row.locator('.mltrain-model-metrics')).toHaveText('loss=0.125');
    await expect(row.getByTestId('mltrain-model-run')).toHaveText('train-linear');

    await row.getByTestId('mltrain-model-alias').click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.locator('input').fill('champion');
    await dialog.getByRole('button', { name: 'Set alias' }).click();
    await expect(row.getByTestId('mltrain-model-aliases')).toHaveText('@champion');

    await row.getByTestId('mltrain-model-serve').click();
    const service = view.getByTestId('mltrain-service-row');
    await expect(service).toHaveCount(1, { timeout: 120_000 });
    await expect(service).toContainText('linear:1');
    await expect(service.locator('.mltrain-service-url')).toHaveText(/^http:\/\/127\.0\.0\.1:\d+/);
    await expect(row.getByTestId('mltrain-service-stop')).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, 'models-serving.png') });

    await service.getByTestId('mltrain-service-stop').click();
    await expect(service).toHaveCount(0, { timeout: 30_000 });
    await expect(row.getByTestId('mltrain-model-serve')).toBeVisible();

    const download = page.waitForEvent('download');
    await row.getByTestId('mltrain-model-download').click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('linear-v1.zip');
    const zip = fs.readFileSync((await file.path())!);
    expect(zip.subarray(0, 2).toString()).toBe('PK');
    expect(zip.includes(Buffer.from('model/signature.json'))).toBe(true);

    await row.getByTestId('mltrain-model-delete').click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
    await expect(row).toHaveCount(0);
    await expect(view).toContainText('No models yet');

    const runId = await registeredModel('linear-2');
    await view.getByRole('button', { name: 'Refresh' }).click();
    const again = view.locator('[data-testid="mltrain-model-row"][data-model="linear-2"]');
    await again.getByTestId('mltrain-model-run').click();
    await expect(page.locator(`#mltrain-run-${runId} .mltrain-runview`)).toBeVisible();
  });
});
