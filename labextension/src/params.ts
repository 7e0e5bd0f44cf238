// Input parameters in the submit dialog: the table prefilled from the notebook's
// parameters cell, and the free text form `optimizer="SGD",learning_rate=0.01`.

export interface IParameterRow {
  name: string;
  /** What the user sees and edits: a literal (`0.01`, `"SGD"`, `true`, `[1, 2]`). */
  value: string;
  /** The value the notebook's cell gives, as text (rows from the notebook only). */
  initial?: string;
  help?: string;
}

export interface INotebookParameterLike {
  name: string;
  default: unknown;
  source: string;
  help?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** A value as the table shows it. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  return JSON.stringify(value);
}

/** A literal typed in the table or the text form, as a value (papermill's typing: numbers,
 * booleans and none are typed; quoted text is a string; JSON lists and objects; anything
 * else is the text itself). */
export function parseValue(text: string): unknown {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) {
    return Number(t);
  }
  if (/^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(t)) {
    return Number(t);
  }
  if (/^(true|True)$/.test(t)) {
    return true;
  }
  if (/^(false|False)$/.test(t)) {
    return false;
  }
  if (/^(none|None|null)$/.test(t)) {
    return null;
  }
  if ((t.startsWith('"') && t.endsWith('"') && t.length >= 2) || (t.startsWith("'") && t.endsWith("'") && t.length >= 2)) {
    const inner = t.slice(1, -1);
    if (t[0] === '"') {
      try {
        return JSON.parse(t);
      } catch {
        return inner;
      }
    }
    return inner.replace(/\\'/g, "'");
  }
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch {
      return t;
    }
  }
  return t;
}

export function rowsFromNotebook(parameters: INotebookParameterLike[]): IParameterRow[] {
  return parameters.map(p => {
    const text = p.default === undefined ? p.source : formatValue(p.default);
    return { name: p.name, value: text, initial: text, help: p.help };
  });
}

/** Splits `a="x,y",b=1` at the commas outside quotes and brackets. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      current += c;
      if (c === '\\' && i + 1 < text.length) {
        current += text[++i];
      } else if (c === quote) {
        quote = null;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[' || c === '{' || c === '(') {
      depth++;
    } else if (c === ']' || c === '}' || c === ')') {
      depth--;
    } else if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (quote) {
    throw new Error(`an unclosed quote in ${JSON.stringify(text)}`);
  }
  parts.push(current);
  return parts.filter(p => p.trim() !== '');
}

/** The text form `optimizer="SGD",learning_rate=0.01` as an object; throws with a message. */
export function parseParameterText(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of splitTopLevel(text)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw new Error(`${JSON.stringify(part.trim())} is not NAME=VALUE`);
    }
    const name = part.slice(0, eq).trim();
    if (!isValidName(name)) {
      throw new Error(`${JSON.stringify(name)} is not a parameter name`);
    }
    out[name] = parseValue(part.slice(eq + 1));
  }
  return out;
}

export function formatParameterText(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : formatValue(v)}`)
    .join(',');
}

/** The parameters to send: table rows the user changed or added, then the text form
 * (which wins for a name in both). Throws with a message for a bad name or text. */
export function parametersToSend(rows: IParameterRow[], text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    if (!row.name.trim() && !row.value.trim()) {
      continue;
    }
    if (!isValidName(row.name.trim())) {
      throw new Error(`${JSON.stringify(row.name)} is not a parameter name`);
    }
    if (row.initial === undefined || row.value.trim() !== row.initial.trim()) {
      out[row.name.trim()] = parseValue(row.value);
    }
  }
  return { ...out, ...(text.trim() ? parseParameterText(text) : {}) };
}
