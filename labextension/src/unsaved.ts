// Whether a notebook's unsaved changes matter to a run. The executor runs the saved file;
// JupyterLab also marks a notebook changed when it fills in metadata the kernel reports
// (`language_info`) or when cells ran in it (outputs, counts): none of that changes what a
// run does, and warning about it only alarms.

/** The parts of a notebook (nbformat JSON) a run depends on. */
export function runInputs(notebook: any): unknown {
  const cells: any[] = Array.isArray(notebook?.cells) ? notebook.cells : [];
  const text = (source: unknown) => (Array.isArray(source) ? source.join('') : String(source ?? ''));
  return {
    kernel: notebook?.metadata?.kernelspec?.name ?? null,
    // Without a kernelspec the run picks a kernel by language.
    language: notebook?.metadata?.kernelspec ? null : notebook?.metadata?.language_info?.name ?? null,
    cells: cells.map(c => ({
      type: c.cell_type,
      source: text(c.source),
      // `parameters`, `raises-exception` and the like change what a run does.
      tags: Array.isArray(c.metadata?.tags) ? [...c.metadata.tags].sort() : []
    }))
  };
}

/** True when `current` (the editor's) would run otherwise than `saved` (the file's). */
export function changesAffectRun(saved: unknown, current: unknown): boolean {
  return JSON.stringify(runInputs(saved)) !== JSON.stringify(runInputs(current));
}
