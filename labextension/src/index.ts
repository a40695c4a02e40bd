/**
 * jupyter-metahpo in JupyterLab 4 and Notebook 7: the "Experience" sidebar, a tab per
 * study, comparisons, and the commands on studies. Everything it knows comes from the
 * server extension's REST routes (api.ts).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, Dialog, ICommandPalette, MainAreaWidget, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { APIError, api } from './api';
import { ExperiencePanel } from './panel';
import { CompareView, StudyView } from './study';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M3 20h18v2H3zM4 17l5-6 4 3 6-9 1.6 1.2-7.1 10.6-4-3L5.6 18.3z"/></svg>';
export const experienceIcon = new LabIcon({ name: 'jupyter-metahpo:experience', svgstr: ICON_SVG });

export namespace CommandIDs {
  export const openPanel = 'metahpo:open-panel';
  export const refresh = 'metahpo:refresh';
  export const openStudy = 'metahpo:open-study';
  export const compare = 'metahpo:compare';
  export const insertResumeCell = 'metahpo:insert-resume-cell';
  export const copyBest = 'metahpo:copy-best-config';
  export const exportStudy = 'metahpo:export';
  export const importFile = 'metahpo:import';
  export const forget = 'metahpo:forget';
}

const ROW_SELECTOR = '.jp-MetaHPO-row';

/** A %%metatune cell of the notebook that ran this study (`--name NAME`), if one is open. */
export function findStudyCell(sources: string[], name: string): string | null {
  for (const source of sources) {
    const first = source.split('\n', 1)[0];
    if (!first.startsWith('%%metatune')) {
      continue;
    }
    const match = /--name[= ]+(?:'([^']*)'|"([^"]*)"|(\S+))/.exec(first);
    const found = match ? match[1] ?? match[2] ?? match[3] : null;
    if (found === name) {
      return / --resume\b/.test(first) ? source : source.replace(first, first.replace('%%metatune', '%%metatune --resume'));
    }
  }
  return null;
}

function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function problemsBody(message: string, problems: string[]): Widget {
  const body = document.createElement('div');
  body.className = 'jp-MetaHPO-problems';
  const p = document.createElement('p');
  p.textContent = message;
  body.appendChild(p);
  const list = document.createElement('ul');
  for (const problem of problems.slice(0, 30)) {
    const li = document.createElement('li');
    li.textContent = problem;
    list.appendChild(li);
  }
  if (problems.length > 30) {
    const li = document.createElement('li');
    li.textContent = `… and ${problems.length - 30} more`;
    list.appendChild(li);
  }
  body.appendChild(list);
  return new Widget({ node: body });
}

async function reportError(title: string, error: unknown): Promise<void> {
  if (error instanceof APIError && error.problems.length) {
    await showDialog({ title, body: problemsBody(error.message, error.problems), buttons: [Dialog.okButton()] });
  } else {
    await showErrorMessage(title, error instanceof Error ? error.message : String(error));
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-metahpo:plugin',
  description: 'The experience store of jupyter-metahpo in the sidebar.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null
  ) => {
    const { commands, shell } = app;
    const tabs = new Map<string, MainAreaWidget<Widget>>();
    let pollSeconds = 1;

    const panel = new ExperiencePanel({
      open: id => void commands.execute(CommandIDs.openStudy, { id }),
      compare: ids => void commands.execute(CommandIDs.compare, { ids }),
      importFile: () => void commands.execute(CommandIDs.importFile)
    });
    panel.title.icon = experienceIcon;
    shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'jupyter-metahpo-experience');
    api
      .settings()
      .then(settings => {
        pollSeconds = settings.poll_interval;
        panel.pollInterval = settings.poll_interval;
        panel.title.caption = `Experience: the studies of the store in ${settings.store}`;
      })
      .catch(() => undefined); // the panel's own first request shows what is wrong

    /** The study a command acts on: its argument, else the row under the context menu, else the
     * current study tab, else the sidebar's current row. */
    const studyId = (args: Record<string, unknown>): string | null => {
      if (typeof args.id === 'string') {
        return args.id;
      }
      const row = app.contextMenuHitTest(node => node.matches?.(ROW_SELECTOR) ?? false);
      if (row?.dataset.studyId) {
        return row.dataset.studyId;
      }
      const current = shell.currentWidget;
      if (current instanceof MainAreaWidget && current.content instanceof StudyView) {
        return current.content.studyId;
      }
      return panel.currentId;
    };
    const studyDetail = async (id: string) => {
      for (const tab of tabs.values()) {
        if (tab.content instanceof StudyView && tab.content.studyId === id && tab.content.detail) {
          return tab.content.detail;
        }
      }
      return api.study(id);
    };
    const openTab = (key: string, make: () => Widget) => {
      const existing = tabs.get(key);
      if (existing && !existing.isDisposed) {
        shell.activateById(existing.id);
        return existing;
      }
      const content = make();
      const tab = new MainAreaWidget({ content });
      tab.id = content.id;
      tab.title.icon = experienceIcon;
      tab.title.closable = true;
      tabs.set(key, tab);
      tab.disposed.connect(() => tabs.delete(key));
      // Notebook 7 shows one document in its main area: its study and comparison views go to
      // the right side panel instead.
      shell.add(tab, app.name === 'Jupyter Notebook' ? 'right' : 'main', { rank: 1000 });
      shell.activateById(tab.id);
      return tab;
    };

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show the Experience Sidebar',
      caption: 'The studies of your experience store',
      execute: () => shell.activateById(panel.id)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the Experience Sidebar',
      execute: () => panel.reload()
    });
    commands.addCommand(CommandIDs.openStudy, {
      label: 'Open Study',
      caption: 'Open the study in a tab: curves, trials, origins, parallel coordinates',
      isEnabled: () => true,
      execute: args => {
        const id = studyId(args);
        if (id) {
          openTab(`study:${id}`, () => new StudyView(id, pollSeconds));
        }
      }
    });
    commands.addCommand(CommandIDs.compare, {
      label: args => (Array.isArray(args.ids) ? `Compare ${args.ids.length} Studies` : 'Compare Selected Studies'),
      execute: async args => {
        const ids = Array.isArray(args.ids) ? (args.ids as string[]) : [...panel.selected];
        if (ids.length < 2) {
          await showErrorMessage('Compare studies', 'Tick two or more studies in the Experience sidebar to compare them.');
          return;
        }
        openTab(`compare:${[...ids].sort().join(',')}`, () => new CompareView(ids));
      }
    });
    commands.addCommand(CommandIDs.insertResumeCell, {
      label: 'Insert a %%metatune Cell That Resumes This Study',
      execute: async args => {
        const id = studyId(args);
        if (!id) {
          return;
        }
        const notebook = notebooks?.currentWidget;
        if (!notebook) {
          await showErrorMessage('Resume a study', 'Open a notebook first: the cell is inserted below its active cell.');
          return;
        }
        try {
          const detail = await studyDetail(id);
          if (!detail.study.name || !detail.resume_cell) {
            await showErrorMessage('Resume a study', 'This study has no name, and only a named study can be resumed (%%metatune --name NAME).');
            return;
          }
          const sources = notebook.content.widgets.map(cell => cell.model.sharedModel.getSource());
          const text = findStudyCell(sources, detail.study.name) ?? detail.resume_cell;
          NotebookActions.insertBelow(notebook.content);
          notebook.content.activeCell?.model.sharedModel.setSource(text.replace(/\n$/, ''));
          shell.activateById(notebook.id);
        } catch (error) {
          await reportError('Resume a study', error);
        }
      }
    });
    commands.addCommand(CommandIDs.copyBest, {
      label: 'Copy Best Configuration',
      execute: async args => {
        const id = studyId(args);
        if (!id) {
          return;
        }
        try {
          const detail = await studyDetail(id);
          if (!detail.best) {
            await showErrorMessage('Copy best configuration', 'This study has no complete trial yet.');
            return;
          }
          Clipboard.copyToSystem(JSON.stringify(detail.best.config, null, 2));
        } catch (error) {
          await reportError('Copy best configuration', error);
        }
      }
    });
    commands.addCommand(CommandIDs.exportStudy, {
      label: 'Export Study…',
      execute: async args => {
        const id = studyId(args);
        if (!id) {
          return;
        }
        try {
          const { filename, blob } = await api.export(id);
          download(blob, filename);
        } catch (error) {
          await reportError('Export a study', error);
        }
      }
    });
    commands.addCommand(CommandIDs.importFile, {
      label: 'Import Studies…',
      caption: 'Import an export file (metahpo export) into the experience store',
      execute: () => {
        const input = document.createElement('input');
        input.type = 'file';
        input.accept = '.json,application/json';
        input.className = 'jp-MetaHPO-file-input';
        input.style.display = 'none';
        input.onchange = async () => {
          const file = input.files?.[0];
          input.remove();
          if (!file) {
            return;
          }
          try {
            const report = await api.importFile(await file.arrayBuffer(), file.name);
            panel.reload();
            await showDialog({
              title: 'Studies imported',
              body: report.message,
              buttons: [Dialog.okButton()]
            });
          } catch (error) {
            await reportError(`Import of ${file.name} refused`, error);
          }
        };
        document.body.appendChild(input);
        input.click();
      }
    });
    commands.addCommand(CommandIDs.forget, {
      label: 'Forget Study…',
      caption: 'Delete the study and its trials from the experience store',
      execute: async args => {
        const id = studyId(args);
        if (!id) {
          return;
        }
        const row = panel.rowById(id);
        const what = row ? `${row.name ?? '(unnamed)'} (${row.n_trials} trials)` : id;
        const answer = await showDialog({
          title: 'Forget this study?',
          body: `The study ${what} and its trials are deleted from the experience store; warm starts no longer learn from it. Export it first to keep a copy.`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Forget' })]
        });
        if (!answer.button.accept) {
          return;
        }
        try {
          await api.forget(id);
          panel.selected.delete(id);
          tabs.get(`study:${id}`)?.dispose();
          panel.reload();
        } catch (error) {
          await reportError('Forget a study', error);
        }
      }
    });

    for (const [command, rank] of [
      [CommandIDs.openStudy, 1],
      [CommandIDs.insertResumeCell, 2],
      [CommandIDs.copyBest, 3],
      [CommandIDs.exportStudy, 4],
      [CommandIDs.forget, 5]
    ] as [string, number][]) {
      app.contextMenu.addItem({ command, selector: ROW_SELECTOR, rank });
    }
    if (palette) {
      const category = 'Experience (metahpo)';
      for (const command of [CommandIDs.openPanel, CommandIDs.refresh, CommandIDs.compare, CommandIDs.importFile, CommandIDs.insertResumeCell, CommandIDs.copyBest, CommandIDs.exportStudy, CommandIDs.forget]) {
        palette.addItem({ command, category });
      }
    }
  }
};

export default plugin;
