import { formatParameterText, formatValue, parametersToSend, parseParameterText, parseValue, rowsFromNotebook } from '../params';

describe('parameter values', () => {
  it('types literals as papermill does', () => {
    expect(parseValue('3')).toBe(3);
    expect(parseValue('-0.01')).toBe(-0.01);
    expect(parseValue('1e-3')).toBe(0.001);
    expect(parseValue('True')).toBe(true);
    expect(parseValue('false')).toBe(false);
    expect(parseValue('None')).toBeNull();
    expect(parseValue('"SGD"')).toBe('SGD');
    expect(parseValue("'it\\'s'")).toBe("it's");
    expect(parseValue('"3"')).toBe('3');
    expect(parseValue('[1, 2]')).toEqual([1, 2]);
    expect(parseValue('{"a": 1}')).toEqual({ a: 1 });
    expect(parseValue('adam')).toBe('adam');
    expect(parseValue('[not json')).toBe('[not json');
  });

  it('formats values so that they parse back', () => {
    for (const v of [3, 0.5, true, false, null, 'SGD', 'a "quoted", value', [1, 'x'], { k: [1] }]) {
      expect(parseValue(formatValue(v))).toEqual(v);
    }
  });
});

describe('the text form', () => {
  it('parses the Vertex form with commas and equals signs in quotes', () => {
    expect(parseParameterText('optimizer="SGD",learning_rate=0.01')).toEqual({ optimizer: 'SGD', learning_rate: 0.01 });
    expect(parseParameterText('a="x,y=z", b=[1,2] ,c=True')).toEqual({ a: 'x,y=z', b: [1, 2], c: true });
    expect(parseParameterText('')).toEqual({});
  });

  it('says what is wrong', () => {
    expect(() => parseParameterText('a="open')).toThrow(/unclosed quote/);
    expect(() => parseParameterText('justaname')).toThrow(/NAME=VALUE/);
    expect(() => parseParameterText('1x=2')).toThrow(/not a parameter name/);
  });

  it('formats and parses back', () => {
    const values = { optimizer: 'SGD', lr: 0.01, epochs: 5, tags: ['a', 'b'], debug: false };
    expect(parseParameterText(formatParameterText(values))).toEqual(values);
  });
});

describe('the table', () => {
  const fromNotebook = rowsFromNotebook([
    { name: 'optimizer', default: 'Adam', source: '"Adam"', help: 'the optimizer' },
    { name: 'learning_rate', default: 0.001, source: '0.001' },
    { name: 'epochs', default: 5, source: '5' }
  ]);

  it('is prefilled with the defaults', () => {
    expect(fromNotebook.map(r => [r.name, r.value])).toEqual([
      ['optimizer', '"Adam"'],
      ['learning_rate', '0.001'],
      ['epochs', '5']
    ]);
  });

  it('sends only what changed, added rows, and the text form over the table', () => {
    const rows = fromNotebook.map(r => (r.name === 'learning_rate' ? { ...r, value: '0.5' } : r));
    rows.push({ name: 'extra', value: 'hello' });
    expect(parametersToSend(rows, '')).toEqual({ learning_rate: 0.5, extra: 'hello' });
    expect(parametersToSend(rows, 'learning_rate=0.9,epochs=1')).toEqual({ learning_rate: 0.9, extra: 'hello', epochs: 1 });
    expect(parametersToSend(fromNotebook, '')).toEqual({});
    expect(() => parametersToSend([{ name: 'bad name', value: '1' }], '')).toThrow(/not a parameter name/);
    expect(parametersToSend([{ name: '', value: '' }], '')).toEqual({});
  });
});
