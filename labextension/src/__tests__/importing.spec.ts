import { defaultImportKernel, importLinkExecution, withoutImportLink } from '../importing';

describe('the result page import link', () => {
  it('names an execution', () => {
    expect(importLinkExecution('?notebook-executor-import=abc123')).toBe('abc123');
    expect(importLinkExecution('reset&notebook-executor-import=a_b-C')).toBe('a_b-C');
    expect(importLinkExecution('?clone=default&notebook-executor-import=abc')).toBe('abc');
    expect(importLinkExecution('?other=1')).toBe('');
    expect(importLinkExecution('?notebook-executor-import=<script>')).toBe('');
  });

  it('is dropped from the address once followed', () => {
    expect(withoutImportLink('http://h/base/lab?notebook-executor-import=abc')).toBe('http://h/base/lab');
    expect(withoutImportLink('http://h/lab/workspaces/auto-x?clone=default&notebook-executor-import=abc#x')).toBe(
      'http://h/lab/workspaces/auto-x?clone=default#x'
    );
  });
});

describe('the kernel offered for an import', () => {
  const kernels = [
    { name: 'python3', display_name: 'Python 3', language: 'python' },
    { name: 'ir', display_name: 'R', language: 'R' }
  ];
  it('is the one the run used, when the server has it', () => {
    expect(defaultImportKernel({ kernel_name: 'ir' }, kernels)).toBe('ir');
    expect(defaultImportKernel({ kernel_name: 'gone' }, kernels)).toBe('');
    expect(defaultImportKernel({ kernel_name: '' }, kernels)).toBe('');
  });
});
