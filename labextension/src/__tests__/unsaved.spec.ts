import { changesAffectRun } from '../unsaved';

const saved = {
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' }, language_info: { name: 'python' } },
  cells: [
    { cell_type: 'markdown', source: ['# Title'], metadata: {} },
    { cell_type: 'code', source: ['x = 1\n', 'y = 2'], metadata: { tags: ['parameters'] }, outputs: [], execution_count: null }
  ]
};

function edited(change: (nb: any) => void): any {
  const nb = JSON.parse(JSON.stringify(saved));
  change(nb);
  return nb;
}

describe('changesAffectRun', () => {
  it('ignores what JupyterLab fills in and what running cells leaves', () => {
    expect(changesAffectRun(saved, saved)).toBe(false);
    const filledIn = edited(nb => {
      nb.metadata.language_info = { name: 'python', version: '3.11.7', mimetype: 'text/x-python', file_extension: '.py' };
      nb.cells[1].outputs = [{ output_type: 'stream', name: 'stdout', text: 'hi' }];
      nb.cells[1].execution_count = 4;
      nb.cells[1].source = 'x = 1\ny = 2'; // one string instead of lines: the same text
      nb.cells[1].metadata.collapsed = true;
    });
    expect(changesAffectRun(saved, filledIn)).toBe(false);
  });

  it('sees edits that change a run', () => {
    expect(changesAffectRun(saved, edited(nb => (nb.cells[1].source = 'x = 3')))).toBe(true);
    expect(changesAffectRun(saved, edited(nb => (nb.cells[1].metadata.tags = [])))).toBe(true);
    expect(changesAffectRun(saved, edited(nb => nb.cells.push({ cell_type: 'code', source: '', metadata: {} })))).toBe(true);
    expect(changesAffectRun(saved, edited(nb => (nb.cells[0].cell_type = 'raw')))).toBe(true);
    expect(changesAffectRun(saved, edited(nb => (nb.metadata.kernelspec.name = 'ir')))).toBe(true);
  });

  it('sees a language change only where the language picks the kernel', () => {
    const noSpec = edited(nb => delete nb.metadata.kernelspec);
    expect(changesAffectRun(noSpec, edited(nb => ((nb.metadata.language_info.name = 'R'), delete nb.metadata.kernelspec)))).toBe(true);
    expect(changesAffectRun(saved, edited(nb => (nb.metadata.language_info.name = 'R')))).toBe(false);
  });
});
