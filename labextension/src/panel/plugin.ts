// The plugin: the "Training" panel, run and compare tabs, "Train this notebook"
// (palette, notebook toolbar, context menus) and notifications when runs end.
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import {
  INotebookModel,
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';
import { LabIcon } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { APIError, IRunRecord, MLTrainAPI } from './api';
import { CompareView } from './compare';
import { FormMemory } from './formmemory';
import { ModelsView } from './modelsview';
import { runTitle, shortId } from './format';
import { INotifier, RunNotices } from './notices';
import { placeView } from './placement';
import { RunsPanel } from './runspanel';
import { confirmAndCancel, RunView } from './runview';
import { RunsModel } from './runsmodel';
import { SweepPanel } from './sweepview';
import { ITrainFormResult, ITrainFormValues, TrainForm } from './trainform';

const PLUGIN_ID = 'jupyter-mltrain:plugin';

/** The ids of the extension's commands. */
export const CommandIDs = {
  openPanel: 'mltrain:open-panel',
  openRun: 'mltrain:open-run',
  compare: 'mltrain:compare',
  train: 'mltrain:train-notebook',
  insertAttach: 'mltrain:insert-attach',
  rerun: 'mltrain:rerun',
  cancel: 'mltrain:cancel-run',
  models: 'mltrain:models',
  openSweep: 'mltrain:open-sweep'
};

const TRAIN_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161"><path d="M3 3h2v16h16v2H3z"/>
<path d="M7 15.6l3.6-4.8 3.2 2.6 4.7-6.9 1.7 1.1-5.9 8.6-3.2-2.6-2.5 3.4z"/>
<circle cx="19.5" cy="6.5" r="1.6"/></g></svg>`;

/** The icon of "Train notebook" and of the Training panel. */
export const trainIcon = new LabIcon({ name: 'jupyter-mltrain:train', svgstr: TRAIN_SVG });

/** The run id of the run row under the context menu, or of the command's args. */
function runIdOf(app: JupyterFrontEnd, args: Record<string, unknown>): string | null {
  if (typeof args.id === 'string' && args.id) return args.id;
  const node = app.contextMenuHitTest(n => !!n.dataset?.runId);
  return node?.dataset.runId ?? null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Every training run, live; train the open notebook on N processes.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, INotebookTracker, IDefaultFileBrowser, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    fileBrowser: IDefaultFileBrowser | null,
    state: IStateDB | null
  ) => {
    const api = new MLTrainAPI();
    const model = new RunsModel(api);
    const { commands, shell } = app;

    const panel = new RunsPanel(model, api, commands);
    panel.title.icon = trainIcon;
    shell.add(panel, 'left', { rank: 850 });

    const runs = new WidgetTracker<MainAreaWidget<RunView>>({ namespace: 'mltrain-run' });
    const compares = new WidgetTracker<MainAreaWidget<CompareView>>({
      namespace: 'mltrain-compare'
    });

    // Where the shell has no main-area dock (Notebook 7) views open in its down area; in its
    // right side area (older Notebook 7) one at a time: the previous one there is closed.
    let sideView: MainAreaWidget | null = null;
    const place = (widget: MainAreaWidget, type: string, activate = true): void => {
      const placed = placeView(shell, widget, { activate, type });
      if (placed === 'right') {
        if (sideView && sideView !== widget && !sideView.isDisposed) sideView.dispose();
        sideView = widget;
        if (widget.content instanceof RunView) widget.content.setNarrow(true);
      } else if (placed === null) {
        Notification.warning(`This application has no place to show "${widget.title.label}".`);
        widget.dispose();
      }
      if (placed && placed !== 'main') widget.addClass('mltrain-outside-main');
    };

    const openRun = (id: string, activate = true): MainAreaWidget<RunView> => {
      // One tab per run: a run already open is shown again.
      const existing = runs.find(w => w.content.runId === id && !w.isDisposed);
      if (existing) {
        if (activate) shell.activateById(existing.id);
        return existing;
      }
      const content = new RunView({ api, id, model, commands });
      const widget = new MainAreaWidget({ content });
      widget.id = `mltrain-run-${id}`;
      const known = model.get(id);
      widget.title.label = known ? runTitle(known) : id;
      widget.title.caption = `Run ${id}`;
      widget.title.icon = trainIcon;
      widget.title.closable = true;
      widget.addClass('mltrain-run-tab');
      content.title.changed.connect(() => (widget.title.label = content.title.label));
      void runs.add(widget);
      place(widget, 'Training Run', activate);
      return widget;
    };

    const openCompare = (ids: string[]): MainAreaWidget<CompareView> => {
      const content = new CompareView(api, model, ids, id => openRun(id));
      const widget = new MainAreaWidget({ content });
      widget.id = `mltrain-compare-${Date.now().toString(36)}`;
      widget.title.label = content.title.label;
      widget.title.icon = trainIcon;
      widget.title.closable = true;
      void compares.add(widget);
      place(widget, 'Training Compare');
      return widget;
    };

    /** Start a run from a reply: track it, say so, open it. */
    const started = (run: IRunRecord, warnings: string[], verb: string): void => {
      model.upsert(run);
      model.watch(run.id);
      Notification.success(
        `${verb} "${run.name}" (${shortId(run.id)}) on ${run.target} (${run.ranks} rank${run.ranks === 1 ? '' : 's'}).`,
        {
          autoClose: 5000,
          actions: [{ label: 'Open', callback: () => openRun(run.id) }]
        }
      );
      if (warnings.length) {
        Notification.warning(
          `${warnings.length} warning${warnings.length === 1 ? '' : 's'} for "${run.name}": ${warnings.join(' · ')}`,
          { autoClose: 10000 }
        );
      }
      openRun(run.id);
    };

    // The form remembers what was submitted per notebook, across page loads (the workspace).
    const memory = new FormMemory(state);

    const trainNotebook = async (path: string | null): Promise<IRunRecord | null> => {
      let nb: NotebookPanel | null = null;
      if (path) nb = notebooks?.find(w => w.context.path === path) ?? null;
      else {
        nb = notebooks?.currentWidget ?? null;
        path = nb?.context.path ?? null;
      }
      if (!path) {
        Notification.warning('Open a notebook to train it, or pick one in the file browser.');
        return null;
      }
      // Contents paths may carry a drive ("RTC:nb.ipynb"): the server wants it relative to its root.
      const relPath = path.replace(/^[A-Za-z0-9_-]+:/, '');
      const content = nb ? nb.context.model.toJSON() : undefined;
      const dirty = nb ? nb.context.model.dirty : false;
      const experiments = [...new Set(model.runs.map(r => r.experiment))].sort();
      await memory.ready;
      // Until a submit fails, the form fills in from the notebook's %%train line or its memory.
      let initial: ITrainFormValues | undefined;
      let error: { message: string; field: string | null } | null = null;
      for (;;) {
        const form: TrainForm = new TrainForm({
          api,
          path: relPath,
          content,
          dirty,
          initial,
          last: memory.last,
          remembered: memory.forNotebook(relPath),
          experiments,
          error
        });
        const result: Dialog.IResult<ITrainFormResult> = await showDialog<ITrainFormResult>({
          title: 'Train this notebook',
          body: form,
          buttons: [
            Dialog.cancelButton(),
            Dialog.okButton({ label: 'Start training', ariaLabel: 'Start training' })
          ],
          focusNodeSelector: 'select'
        });
        if (!result.button.accept || !result.value) return null;
        const { values, request } = result.value;
        initial = values;
        if (!request) {
          error = result.value.error;
          continue;
        }
        try {
          const reply = await api.submit(request);
          void memory.remember(relPath, values);
          started(reply.run, reply.warnings ?? [], 'Started');
          return reply.run;
        } catch (err) {
          const e = err as APIError;
          if (e.status === 400) {
            error = { message: e.message, field: e.field };
            continue;
          }
          Notification.error(`Could not start training: ${e.message}`);
          return null;
        }
      }
    };

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show Training Runs',
      caption: 'Open the Training panel',
      execute: () => shell.activateById(panel.id)
    });

    // One tab per sweep: the trials table, best so far, parallel coordinates and curves.
    const sweeps = new Map<string, MainAreaWidget<SweepPanel>>();
    commands.addCommand(CommandIDs.openSweep, {
      label: args => (args.id ? `Open Sweep ${args.id}` : 'Open Sweep'),
      caption: 'Open the sweep in a tab',
      execute: args => {
        const id = typeof args.id === 'string' ? args.id : '';
        const existing = sweeps.get(id);
        if (existing && !existing.isDisposed) return shell.activateById(existing.id);
        if (!id) return;
        const widget = new MainAreaWidget({
          content: new SweepPanel(api, id, run => openRun(run))
        });
        widget.id = `mltrain-sweep-${id}`;
        widget.title.label = `Sweep ${id}`;
        widget.title.icon = trainIcon;
        widget.title.closable = true;
        widget.content.title.changed.connect(
          () => (widget.title.label = widget.content.title.label)
        );
        sweeps.set(id, widget);
        place(widget, 'Training Sweep');
      }
    });

    commands.addCommand(CommandIDs.openRun, {
      label: args => (args.id ? `Open Run ${args.id}` : 'Open Run'),
      caption: 'Open the run in a tab',
      execute: args => {
        const id = runIdOf(app, args);
        if (id) openRun(id, args.activate !== false);
      }
    });

    let modelsTab: MainAreaWidget<ModelsView> | null = null;
    commands.addCommand(CommandIDs.models, {
      label: 'Show Models',
      caption: 'Registered models and model services',
      execute: () => {
        if (modelsTab && !modelsTab.isDisposed) return shell.activateById(modelsTab.id);
        modelsTab = new MainAreaWidget({ content: new ModelsView(api, commands) });
        modelsTab.id = 'mltrain-models-tab';
        modelsTab.title.label = 'Models';
        modelsTab.title.icon = trainIcon;
        modelsTab.title.closable = true;
        place(modelsTab, 'Training Models');
      }
    });

    commands.addCommand(CommandIDs.compare, {
      label: 'Compare Selected Runs',
      caption: 'Overlay a metric of the selected runs and compare their parameters',
      isEnabled: args => Array.isArray(args.ids) || panel.selected.length >= 2,
      execute: args => {
        const ids = Array.isArray(args.ids) ? (args.ids as string[]) : panel.selected;
        if (ids.length) openCompare(ids);
      }
    });

    commands.addCommand(CommandIDs.train, {
      label: 'Train This Notebook…',
      caption: 'Run the notebook on N processes locally or on a cluster',
      icon: trainIcon,
      isEnabled: args => typeof args.path === 'string' || !!notebooks?.currentWidget,
      execute: args => trainNotebook(typeof args.path === 'string' ? args.path : null)
    });

    commands.addCommand(CommandIDs.insertAttach, {
      label: 'Insert %train_attach Cell',
      caption: 'Insert a cell that shows this run live in the active notebook',
      execute: args => {
        const id = runIdOf(app, args);
        const nb = notebooks?.currentWidget;
        if (!id) return;
        if (!nb) {
          Notification.warning(
            'Open a notebook first: the cell is inserted into the active notebook.'
          );
          return;
        }
        shell.activateById(nb.id);
        NotebookActions.insertBelow(nb.content);
        const cell = nb.content.activeCell;
        if (cell) {
          if (cell.model.type !== 'code') NotebookActions.changeCellType(nb.content, 'code');
          nb.content.activeCell?.model.sharedModel.setSource(`%train_attach ${id}`);
        }
      }
    });

    commands.addCommand(CommandIDs.rerun, {
      label: 'Rerun',
      caption: 'Start the run again with the same snapshot and options',
      execute: async args => {
        const id = runIdOf(app, args);
        if (!id) return;
        try {
          const reply = await api.rerun(id);
          started(reply.run, reply.warnings ?? [], 'Rerun');
        } catch (err) {
          Notification.error(`Rerun of ${id} failed: ${(err as Error).message}`);
        }
      }
    });

    commands.addCommand(CommandIDs.cancel, {
      label: 'Cancel Run…',
      caption: 'Stop every rank of the run',
      execute: async args => {
        const id = runIdOf(app, args);
        if (!id) return;
        const run = model.get(id) ?? (await api.getRun(id)).run;
        const after = await confirmAndCancel(api, run);
        if (after) model.upsert(after);
      }
    });

    // Context menus: run rows, notebooks, and notebooks in the file browser.
    app.contextMenu.addItem({ command: CommandIDs.openRun, selector: '.mltrain-row', rank: 1 });
    app.contextMenu.addItem({ command: CommandIDs.cancel, selector: '.mltrain-row', rank: 2 });
    app.contextMenu.addItem({ command: CommandIDs.rerun, selector: '.mltrain-row', rank: 3 });
    app.contextMenu.addItem({
      command: CommandIDs.insertAttach,
      selector: '.mltrain-row',
      rank: 4
    });
    app.contextMenu.addItem({ command: CommandIDs.train, selector: '.jp-Notebook', rank: 100 });
    if (fileBrowser) {
      const fileCommand = 'mltrain:train-notebook-file';
      commands.addCommand(fileCommand, {
        label: 'Train Notebook…',
        icon: trainIcon,
        execute: () => {
          const item = fileBrowser.selectedItems().next();
          if (!item.done && item.value.type === 'notebook') {
            return commands.execute(CommandIDs.train, { path: item.value.path });
          }
          return undefined;
        }
      });
      app.contextMenu.addItem({
        command: fileCommand,
        selector: '.jp-DirListing-item[data-file-type="notebook"]',
        rank: 100
      });
    }

    // Notebook toolbar button.
    class TrainButtonExtension implements DocumentRegistry.IWidgetExtension<
      NotebookPanel,
      INotebookModel
    > {
      createNew(nbPanel: NotebookPanel): IDisposable {
        const button = new ToolbarButton({
          icon: trainIcon,
          label: 'Train',
          className: 'mltrain-toolbar-train',
          tooltip: 'Train this notebook on N processes',
          onClick: () => {
            shell.activateById(nbPanel.id);
            void trainNotebook(nbPanel.context.path);
          }
        });
        if (!nbPanel.toolbar.insertAfter('cellType', 'mltrain-train', button)) {
          nbPanel.toolbar.addItem('mltrain-train', button);
        }
        return new DisposableDelegate(() => button.dispose());
      }
    }
    app.docRegistry.addWidgetExtension('Notebook', new TrainButtonExtension());

    if (palette) {
      const category = 'Training';
      const paletteCommands = [CommandIDs.openPanel, CommandIDs.train, CommandIDs.compare];
      for (const command of [...paletteCommands, CommandIDs.models]) {
        palette.addItem({ command, category });
      }
    }

    if (restorer) {
      restorer.add(panel, 'mltrain-panel');
      void restorer.restore(runs, {
        command: CommandIDs.openRun,
        args: w => ({ id: w.content.runId, activate: false }),
        name: w => w.content.runId
      });
      void restorer.restore(compares, {
        command: CommandIDs.compare,
        args: w => ({ ids: w.content.ids }),
        name: w => w.content.ids.join(',')
      });
    }

    // A notification when a run seen live ends: one per run, a few failures at most.
    const notifier: INotifier = {
      emit: (message, type, options) => Notification.emit(message, type, options),
      update: (id, message, type, options) =>
        Notification.update({ id, message, type, ...options }),
      dismiss: id => Notification.dismiss(id)
    };
    const notices = new RunNotices(notifier);
    // a sweep's trials end by the hundred: its driver's end is the one told
    model.runEnded.connect((_, run) => {
      if (!run.parent) notices.ended(run, () => openRun(run.id));
    });

    void app.restored.then(() => model.start());
  }
};

export default plugin;
