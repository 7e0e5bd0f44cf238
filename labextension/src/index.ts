// The notebook-executor JupyterLab extension: the Execute command (notebook toolbar,
// file browser, palette), the submit dialog, and the Notebook Executor side panel.

import { ILayoutRestorer, IRouter, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ApiError, CHANGE_SCHEMA_ID, ExecutorClient, IChangeEvent, IExecution, ISchedule } from './api';
import { openSubmitDialog, SubmitResult } from './dialog';
import { ExecutorModel } from './model';
import { ExecutorPanel, IPanelActions } from './panel';
import { parseParameterText } from './params';
import { openLogsDialog } from './logs';
import { openShareDialog } from './share';
import { submissionWarnings } from './states';
import { Widget } from '@lumino/widgets';
import { executeIcon, executorIcon } from './icons';
import { ImportBody } from './importDialog';
import { IMPORT_LINK_PARAMETER, importLinkExecution, withoutImportLink } from './importing';
import { changesAffectRun } from './unsaved';

export namespace CommandIDs {
  export const execute = 'notebook-executor:execute';
  export const executeFile = 'notebook-executor:execute-file';
  export const openPanel = 'notebook-executor:open-panel';
  /** The result page's "Import it into JupyterLab" link (a URL route). */
  export const importFromLink = 'notebook-executor:import-from-link';
}

const PLUGIN_ID = 'notebook-executor:plugin';

function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Run notebooks in the background, once or on a schedule.',
  autoStart: true,
  requires: [INotebookTracker, IFileBrowserFactory],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator, IRouter],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    browsers: IFileBrowserFactory,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    router: IRouter | null
  ) => {
    const trans = (translator ?? nullTranslator).load('notebook_executor');
    const client = new ExecutorClient(app.serviceManager.serverSettings);
    const model = new ExecutorModel(client);

    const fail = (title: string) => (e: unknown) => {
      void showErrorMessage(title, message(e));
    };

    const confirmDelete = async (title: string, body: string): Promise<boolean> => {
      const answer = await showDialog({ title, body, buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Delete') })] });
      return answer.button.accept;
    };

    const afterSubmit = (result: SubmitResult | null) => {
      if (!result) {
        return;
      }
      if ('execution' in result) {
        model.upsertExecution(result.execution);
        const actions = [{ label: trans.__('View in panel'), callback: () => reveal(result.execution.id) }];
        const warnings = submissionWarnings(result.execution);
        if (warnings) {
          Notification.warning(trans.__('Submitted "%1" with a warning: %2', result.execution.display_name, warnings), { autoClose: false, actions });
        } else {
          Notification.success(trans.__('Submitted "%1"', result.execution.display_name), { autoClose: 5000, actions });
        }
      } else {
        model.upsertSchedule(result.schedule);
        Notification.success(trans.__('Schedule "%1" saved', result.schedule.display_name), {
          autoClose: 5000,
          actions: [
            {
              label: trans.__('View in panel'),
              callback: () => {
                app.shell.activateById(panel.id);
                panel.showTab('schedules');
              }
            }
          ]
        });
      }
    };

    /**
     * Import, as the original: asks which kernel to open the copy with, copies the executed
     * notebook into imported_notebook_jobs/, shows it in the file browser, opens it.
     */
    const importExecution = async (e: IExecution) => {
      try {
        const { kernels } = await client.environments();
        const answer = await showDialog({
          title: trans.__('Import executed notebook'),
          body: new ImportBody(e, kernels, trans),
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Import') })]
        });
        if (!answer.button.accept) {
          return;
        }
        const kernel = answer.value as string | null;
        const path = await client.importResult(e.id);
        // The browsers poll the server every few seconds: show the new folder and file now.
        await Promise.all(Array.from(browsers.tracker.filter(() => true), b => b.model.refresh()));
        await app.commands.execute('docmanager:open', kernel ? { path, kernel: { name: kernel } } : { path });
      } catch (err) {
        fail(trans.__('Import failed'))(err);
      }
    };

    const submitPath = async (path: string, save?: () => Promise<void>) => {
      try {
        afterSubmit(await openSubmitDialog({ client, trans, path, save }));
      } catch (e) {
        fail(trans.__('Cannot open the executor dialog'))(e);
      }
    };

    const actions: IPanelActions = {
      viewResult: id => {
        window.open(client.resultUrl(id), '_blank', 'noopener');
      },
      importResult: (e: IExecution) => importExecution(e),
      share: (e: IExecution) => openShareDialog(client, e, trans),
      viewLogs: (e: IExecution) => openLogsDialog(client, e, trans),
      cancel: async (e: IExecution) => {
        try {
          model.upsertExecution(await client.cancel(e.id));
        } catch (err) {
          fail(trans.__('Cancel failed'))(err);
        }
      },
      deleteExecution: async (e: IExecution) => {
        if (!(await confirmDelete(trans.__('Delete execution'), trans.__('Delete "%1" and its result files?', e.display_name)))) {
          return;
        }
        try {
          await client.deleteExecution(e.id);
          model.removeExecution(e.id);
        } catch (err) {
          fail(trans.__('Delete failed'))(err);
        }
      },
      runAgain: async (e: IExecution) => {
        try {
          afterSubmit(await openSubmitDialog({ client, trans, path: e.input_notebook, initial: e }));
        } catch (err) {
          fail(trans.__('Cannot open the executor dialog'))(err);
        }
      },
      pauseResume: async (s: ISchedule) => {
        try {
          model.upsertSchedule(await client.updateSchedule(s.id, { state: s.state === 'ENABLED' ? 'PAUSED' : 'ENABLED' }));
        } catch (err) {
          fail(trans.__('Cannot change the schedule'))(err);
        }
      },
      runNow: async (s: ISchedule) => {
        const answer = await showDialog({
          title: trans.__('Run "%1" now', s.display_name),
          body: new ParametersBody(trans.__('Parameters for this run (optional), e.g. optimizer="SGD",learning_rate=0.01')),
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Run') })]
        });
        if (!answer.button.accept) {
          return;
        }
        try {
          const text = (answer.value as string | null) ?? '';
          const parameters = text.trim() ? parseParameterText(text) : undefined;
          const execution = await client.runScheduleNow(s.id, parameters);
          model.upsertExecution(execution);
          reveal(execution.id);
        } catch (err) {
          fail(trans.__('Run now failed'))(err);
        }
      },
      editSchedule: async (s: ISchedule) => {
        try {
          afterSubmit(await openSubmitDialog({ client, trans, path: s.execution_template.input_notebook ?? '', schedule: s }));
        } catch (err) {
          fail(trans.__('Cannot open the executor dialog'))(err);
        }
      },
      deleteSchedule: async (s: ISchedule) => {
        if (!(await confirmDelete(trans.__('Delete schedule'), trans.__('Delete the schedule "%1"? Its executions are kept.', s.display_name)))) {
          return;
        }
        try {
          await client.deleteSchedule(s.id);
          model.removeSchedule(s.id);
        } catch (err) {
          fail(trans.__('Delete failed'))(err);
        }
      }
    };

    const panel = new ExecutorPanel(model, actions, trans);
    panel.id = 'notebook-executor-panel';
    panel.title.icon = executorIcon;
    panel.title.caption = trans.__('Notebook Executor');
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'notebook-executor-panel');

    const reveal = (executionId: string) => {
      app.shell.activateById(panel.id);
      panel.showExecution(executionId);
    };

    // Live updates: the server's change events, streamed by JupyterLab's event manager.
    app.serviceManager.events.stream.connect((_, event) => {
      if (event.schema_id === CHANGE_SCHEMA_ID) {
        model.applyChanges(event as unknown as IChangeEvent);
      }
    });
    void model.loadConfig();
    void model.refreshExecutions();
    void model.refreshSchedules();

    /** Unsaved changes that would make a run differ from the saved file (see unsaved.ts). */
    const unsavedRunChanges = async (context: { path: string; model: { dirty: boolean; toJSON(): unknown } }) => {
      if (!context.model.dirty) {
        return false;
      }
      try {
        const saved = await app.serviceManager.contents.get(context.path, { content: true, type: 'notebook' });
        return changesAffectRun(saved.content, context.model.toJSON());
      } catch {
        return true; // cannot tell: say so rather than run something else silently
      }
    };

    app.commands.addCommand(CommandIDs.execute, {
      label: trans.__('Execute'),
      caption: trans.__('Submit this notebook to the executor (once or on a schedule)'),
      icon: executeIcon,
      isEnabled: () => !!notebooks.currentWidget,
      execute: async () => {
        const current = notebooks.currentWidget;
        if (!current) {
          return;
        }
        const context = current.context;
        const save = (await unsavedRunChanges(context)) ? () => context.save() : undefined;
        await submitPath(context.path, save);
      }
    });

    app.commands.addCommand(CommandIDs.executeFile, {
      label: trans.__('Execute'),
      caption: trans.__('Submit the selected notebook to the executor'),
      icon: executeIcon,
      execute: async () => {
        const item = browsers.tracker.currentWidget?.selectedItems().next();
        const path = item && !item.done ? item.value.path : undefined;
        if (path) {
          await submitPath(path);
        }
      }
    });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Open the Notebook Executor panel'),
      execute: () => app.shell.activateById(panel.id)
    });

    // The result page links here (`lab?notebook-executor-import=ID`): it cannot import
    // itself (a POST, from a sandboxed page), so JupyterLab asks and imports.
    app.commands.addCommand(CommandIDs.importFromLink, {
      label: trans.__('Import an executed notebook from its result page'),
      execute: async args => {
        const id = importLinkExecution(String(args.search ?? ''));
        if (!id) {
          return;
        }
        window.history.replaceState(null, '', withoutImportLink(window.location.href));
        await app.restored;
        try {
          const execution = await client.getExecution(id);
          reveal(execution.id);
          await importExecution(execution);
        } catch (err) {
          fail(trans.__('Import failed'))(err);
        }
      }
    });
    router?.register({ command: CommandIDs.importFromLink, pattern: new RegExp(`[?&]${IMPORT_LINK_PARAMETER}=`) });

    app.contextMenu.addItem({
      command: CommandIDs.executeFile,
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 3
    });
    palette?.addItem({ command: CommandIDs.execute, category: trans.__('Notebook Executor') });
    palette?.addItem({ command: CommandIDs.openPanel, category: trans.__('Notebook Executor') });
  }
};

/** A one-field dialog body: its value is the text. */
class ParametersBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(label: string) {
    super();
    const text = document.createElement('label');
    text.textContent = label;
    this.input = document.createElement('input');
    this.input.className = 'jp-mod-styled nx-RunNowParameters';
    text.appendChild(this.input);
    this.node.appendChild(text);
  }

  getValue(): string {
    return this.input.value;
  }

  private input: HTMLInputElement;
}

export default plugin;
